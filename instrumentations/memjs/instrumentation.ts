import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  diag,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
  safeExecuteInTheMiddle,
} from '@opentelemetry/instrumentation';
import type memjs from 'memjs';
import { ATTR_CALL_NAME, ATTR_REQUEST_SUMMARY, ATTR_RESPONSE_SUMMARY } from '../../core/attributes.js';
import { DEFAULT_MAX_REPR, errorSummary } from '../summary.js';
import { PACKAGE_VERSION } from '../version.js';
import type { MemjsInstrumentationConfig } from './types.js';
import {
  COMMANDS,
  type CommandOutcome,
  type CommandSpec,
  callbackIndexOf,
  outcomeFromCallback,
  outcomeFromPromise,
  requestOf,
  requestSummary,
  responseSummary,
} from './utils.js';

/** Set while a command runs: memjs's promise form and `stats` call other commands, which must not make spans. */
const IN_COMMAND = createContextKey('otel-appstats memjs command');

export const ATTR_MEMCACHED_HIT = 'db.memcached.hit';
export const ATTR_MEMCACHED_VALUE_BYTES = 'db.memcached.value_bytes';
export const ATTR_MEMCACHED_EXPIRES = 'db.memcached.expires';

/** The parts of a memjs Client the wrapper reads; all optional, since users can swap them. */
interface ClientLike {
  servers?: { host?: string; port?: number }[];
  options?: { expires?: number };
  server?: (key: unknown) => { host?: string; port?: number } | null;
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

function noop(): void {}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/** One command in flight: its span, and how to end it once, whatever the form. */
class CommandCall {
  private _ended = false;
  private _answers = 0;
  private readonly _outcome: CommandOutcome = {};

  constructor(
    readonly span: Span,
    private readonly _spec: CommandSpec,
    private readonly _maxRepr: number,
    /** Answers to wait for: one per server for `stats`, else one. */
    private readonly _expectedAnswers: number,
    private readonly _hook?: (span: Span, error?: Error) => void,
  ) {}

  /** The caller's callback is about to be called with these arguments. */
  onCallback(error: unknown, results: unknown[]): void {
    if (this._ended) return;
    if (this._spec.everyServer === 'once-each') {
      // stats: (err, server, stats) once per server; end when every server has answered.
      this._answers++;
      this._outcome.servers = (this._outcome.servers ?? 0) + (error ? 0 : 1);
      const stats = results[1];
      if (stats && typeof stats === 'object')
        this._outcome.stats = (this._outcome.stats ?? 0) + Object.keys(stats).length;
      if (error) this._fail(error);
      if (this._answers >= this._expectedAnswers) this.end(undefined, this._outcome);
      return;
    }
    this.end(error, error ? undefined : outcomeFromCallback(this._spec, results));
  }

  onResolved(value: unknown): void {
    this.end(undefined, outcomeFromPromise(this._spec, value));
  }

  end(error: unknown, outcome?: CommandOutcome): void {
    if (this._ended) return;
    this._ended = true;
    try {
      if (error) {
        this._fail(error);
        this.span.setAttribute(ATTR_RESPONSE_SUMMARY, errorSummary(error, this._maxRepr));
      } else if (outcome) {
        const attributes: Attributes = {
          [ATTR_RESPONSE_SUMMARY]: responseSummary(this._spec, outcome, this._maxRepr),
        };
        if (outcome.hit !== undefined) attributes[ATTR_MEMCACHED_HIT] = outcome.hit;
        if (outcome.valueBytes !== undefined) attributes[ATTR_MEMCACHED_VALUE_BYTES] = outcome.valueBytes;
        this.span.setAttributes(attributes);
      }
      if (this._hook) {
        const hook = this._hook;
        safeExecuteInTheMiddle(
          () => hook(this.span, error instanceof Error ? error : undefined),
          (hookError) => {
            if (hookError) diag.warn('memjs responseHook threw', hookError);
          },
          true,
        );
      }
    } finally {
      this.span.end();
    }
  }

  private _fail(error: unknown): void {
    const exception = error instanceof Error ? error : new Error(String(error));
    this.span.recordException(exception);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: exception.message });
  }
}

/**
 * Makes every memjs `Client` command one CLIENT span, named and summarised for appstats
 * (`memcache.Get`, `key="user:42"` -> `hit 812 bytes`), with the database semantic conventions.
 *
 * memjs 1.x answers through a callback, or returns a promise by calling itself again with one;
 * a context flag set while a command runs makes that inner call (and `stats` -> `statsWithKey`)
 * pass through, so either form is exactly one span, started where the app called. The caller's
 * callback runs in the caller's context. Nothing is recorded while tracing is suppressed (the
 * exporter's own writes).
 */
export class MemjsInstrumentation extends InstrumentationBase<MemjsInstrumentationConfig> {
  constructor(config: MemjsInstrumentationConfig = {}) {
    super('otel-appstats/instrumentation-memjs', PACKAGE_VERSION, config);
  }

  protected init(): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      'memjs',
      ['>=1.0.0 <2'],
      (moduleExports) => {
        const prototype = clientPrototypeOf(moduleExports);
        if (prototype) this._patchClient(prototype);
        else this._diag.warn('memjs: no Client.prototype found, not instrumented');
        return moduleExports;
      },
      (moduleExports) => {
        const prototype = clientPrototypeOf(moduleExports);
        if (prototype) this._unpatchClient(prototype);
      },
    );
  }

  private _patchClient(prototype: Record<string, unknown>): void {
    for (const spec of COMMANDS) {
      if (typeof prototype[spec.method] !== 'function') continue;
      if (isWrapped(prototype[spec.method])) this._unwrap(prototype, spec.method);
      this._wrap(prototype, spec.method, (original) => this._commandWrapper(spec, original as AnyFunction));
    }
  }

  private _unpatchClient(prototype: Record<string, unknown>): void {
    for (const spec of COMMANDS) if (isWrapped(prototype[spec.method])) this._unwrap(prototype, spec.method);
  }

  private _commandWrapper(spec: CommandSpec, original: AnyFunction): AnyFunction {
    const instrumentation = this;
    return function patchedMemjsCommand(this: unknown, ...args: unknown[]): unknown {
      const parent = context.active();
      if (isTracingSuppressed(parent) || parent.getValue(IN_COMMAND) === true)
        return original.apply(this, args);
      const config = instrumentation.getConfig();
      if (config.requireParentSpan && !trace.getSpan(parent)) return original.apply(this, args);

      let call: CommandCall | undefined;
      let callbackIndex: number;
      try {
        call = instrumentation._startCommand(spec, this as ClientLike, args, parent);
        callbackIndex = instrumentation._hookCallback(spec, args, call, parent);
      } catch (error) {
        // Never break the app for our sake: on any surprise, run the command untraced (the
        // arguments are only changed by the last step, which does not throw).
        instrumentation._diag.debug(`memjs ${spec.method}: not traced`, error);
        call?.span.end();
        return original.apply(this, args);
      }
      const started = call;
      let result: unknown;
      try {
        result = context.with(trace.setSpan(parent, started.span).setValue(IN_COMMAND, true), () =>
          original.apply(this, args),
        );
      } catch (error) {
        started.end(error);
        throw error;
      }
      if (callbackIndex === -1) {
        if (isThenable(result))
          result.then(
            (value) => started.onResolved(value),
            (error: unknown) => started.end(error ?? new Error('rejected')),
          );
        // A form that neither calls back nor returns a promise: nothing will tell us when it ends.
        else started.end(undefined);
      }
      return result;
    };
  }

  private _startCommand(
    spec: CommandSpec,
    client: ClientLike,
    args: unknown[],
    parent: Context,
  ): CommandCall {
    const maxRepr = this.getConfig().maxRepr ?? DEFAULT_MAX_REPR;
    const request = requestOf(spec, args, client.options?.expires ?? 0);
    const attributes: Attributes = {
      'db.system.name': 'memcached',
      'db.operation.name': spec.method,
      [ATTR_CALL_NAME]: spec.callName,
      [ATTR_REQUEST_SUMMARY]: requestSummary(spec, request, maxRepr),
    };
    const server = serverOf(spec, client, request.key);
    if (server?.host) attributes['server.address'] = server.host;
    if (typeof server?.port === 'number') attributes['server.port'] = server.port;
    if (request.valueBytes !== undefined) attributes[ATTR_MEMCACHED_VALUE_BYTES] = request.valueBytes;
    if (request.expires) attributes[ATTR_MEMCACHED_EXPIRES] = request.expires;
    const span = this.tracer.startSpan(spec.method, { kind: SpanKind.CLIENT, attributes }, parent);
    const hook = this.getConfig().responseHook;
    return new CommandCall(
      span,
      spec,
      maxRepr,
      spec.everyServer === 'once-each' ? Math.max(1, client.servers?.length ?? 1) : 1,
      hook ? (s, error) => hook(s, { command: spec.method, ...(error ? { error } : {}) }) : undefined,
    );
  }

  /**
   * Puts our callback in the caller's place (bound to the caller's context); returns its index, or
   * -1 for the promise form.
   */
  private _hookCallback(spec: CommandSpec, args: unknown[], call: CommandCall, parent: Context): number {
    let index = callbackIndexOf(args);
    if (index === -1) {
      const explicitNull = args.length > spec.callbackIndex && args[spec.callbackIndex] === null;
      // Without a callback memjs either returns a promise, or (`stats`, or an explicit null)
      // fires and forgets: then our own callback is the only way to see the answer.
      if (spec.promise && !explicitNull) return -1;
      index = spec.callbackIndex;
      while (args.length < index) args.push(undefined);
      args[index] = noop;
    }
    const callerCallback = context.bind(parent, args[index] as AnyFunction);
    args[index] = function memjsCallback(this: unknown, error: unknown, ...results: unknown[]) {
      try {
        call.onCallback(error, results);
      } catch {
        // The span is ours to lose, the answer is not.
      }
      return callerCallback.call(this, error, ...results);
    };
    return index;
  }
}

function clientPrototypeOf(moduleExports: unknown): Record<string, unknown> | undefined {
  // Required: module.exports; imported from ESM through the hook: a namespace with `default`.
  const exports = moduleExports as {
    Client?: typeof memjs.Client;
    default?: { Client?: typeof memjs.Client };
  };
  const Client = exports?.Client ?? exports?.default?.Client;
  return typeof Client === 'function' ? (Client.prototype as unknown as Record<string, unknown>) : undefined;
}

/** The server memjs will send this command to: `client.server(key)` for a key, the only one otherwise. */
function serverOf(
  spec: CommandSpec,
  client: ClientLike,
  key: unknown,
): { host?: string; port?: number } | undefined {
  try {
    if (spec.keyed && typeof client.server === 'function') return client.server(key) ?? undefined;
    if (client.servers?.length === 1) return client.servers[0];
  } catch {
    // A custom getServer that throws will throw for memjs too; not ours to report.
  }
  return undefined;
}
