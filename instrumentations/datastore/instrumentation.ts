import {
  type Attributes,
  type Context,
  context,
  createContextKey,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';
import { ATTR_CALL_NAME, ATTR_NAMESPACE, ATTR_REQUEST_SUMMARY } from '../../core/attributes.js';
import { captureCallSites } from '../../core/call-site.js';
import { callerCaptureWanted, setCallerCallSites } from '../../core/caller-call-sites.js';
import { DEFAULT_MAX_REPR } from '../summary.js';
import { PACKAGE_VERSION } from '../version.js';
import { DEFAULT_MAX_DETAIL_KEYS, describeRequest } from './describe-request.js';
import { type DatastorePrices, DEFAULT_DATASTORE_PRICES } from './pricing.js';
import type { RequestConfig } from './protos.js';
import { DatastoreRpcSpan } from './rpc-span.js';
import type { DatastoreInstrumentationConfig } from './types.js';

/** The method of the client the app called; set by the outermost public method, read by request_. */
const CLIENT_METHOD = createContextKey('otel-appstats datastore client method');

export const DB_SYSTEM_DATASTORE = 'gcp.datastore';
/** `Datastore.get`, `Transaction.commit`, `Query.run`: what the app called that made this RPC. */
export const ATTR_DATASTORE_CLIENT_METHOD = 'gcp.datastore.client_method';
export const ATTR_DATASTORE_TRANSACTIONAL = 'gcp.datastore.transactional';

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;
type Prototype = Record<string, unknown>;

/** Public methods whose name becomes the RPC's client method; streams marked, see `_bindReading`. */
const PUBLIC_METHODS = {
  DatastoreRequest: [
    'get',
    'runQuery',
    'runQueryStream',
    'createReadStream',
    'runAggregationQuery',
    'allocateIds',
    'delete',
    'merge',
  ],
  Datastore: ['save', 'insert', 'update', 'upsert'],
  Transaction: ['run', 'commit', 'rollback', 'get', 'runQuery', 'runAggregationQuery'],
  Query: ['run', 'runStream'],
} as const;
const STREAM_METHODS = new Set(['runQueryStream', 'createReadStream', 'runStream']);

/** The parts of a DatastoreRequest (Datastore or Transaction) the wrapper reads. */
interface DatastoreRequestLike {
  id?: unknown;
  datastore?: { options?: { servicePath?: unknown; port?: unknown } };
}

interface ModuleExports {
  DatastoreRequest?: { prototype: Prototype };
  Datastore?: { prototype: Prototype };
  Transaction?: { prototype: Prototype } & (abstract new (...args: never[]) => unknown);
  Query?: { prototype: Prototype };
}

function exportsOf(moduleExports: unknown): ModuleExports {
  // Required: module.exports; imported from ESM through the hook: a namespace with `default`.
  const exports = moduleExports as ModuleExports & { default?: ModuleExports };
  return exports?.DatastoreRequest ? exports : (exports?.default ?? {});
}

/**
 * Makes every RPC of @google-cloud/datastore 10.x one CLIENT span, named as the original Appstats
 * named them (`datastore.Lookup`, `datastore.RunQuery`, `datastore.Commit`, ...), with the request
 * and response summarised, the original's `datastore_details`, and billed ops with an estimated
 * cost.
 *
 * Every unary RPC of the client goes through `DatastoreRequest.prototype.request_` (get, queries and
 * each of their pages, commits, transactions, id allocation); that is the one place wrapped for
 * spans. The public methods are wrapped only to note, in the context, which one the app called, so
 * the RPC's span can say `Transaction.commit` or `Query.run`. Nothing is recorded while tracing is
 * suppressed.
 */
export class DatastoreInstrumentation extends InstrumentationBase<DatastoreInstrumentationConfig> {
  private _prices: DatastorePrices = { ...DEFAULT_DATASTORE_PRICES };

  constructor(config: DatastoreInstrumentationConfig = {}) {
    super('otel-appstats/instrumentation-datastore', PACKAGE_VERSION, config);
    this._prices = { ...DEFAULT_DATASTORE_PRICES, ...config.prices };
  }

  override setConfig(config: DatastoreInstrumentationConfig = {}): void {
    super.setConfig(config);
    this._prices = { ...DEFAULT_DATASTORE_PRICES, ...config.prices };
  }

  protected init(): InstrumentationNodeModuleDefinition {
    return new InstrumentationNodeModuleDefinition(
      '@google-cloud/datastore',
      ['>=10.0.0 <11'],
      (moduleExports) => {
        const exports = exportsOf(moduleExports);
        if (exports.DatastoreRequest?.prototype) this._patch(exports);
        else {
          // The client's own files require its index while it loads (request.js -> '.'): when the
          // index is first loaded by an ESM import, the require hook sees those exports half
          // filled. They are complete once the load finishes: patch then.
          setImmediate(() => {
            const later = exportsOf(moduleExports);
            if (later.DatastoreRequest?.prototype) this._patch(later);
            else this._diag.warn('datastore: no DatastoreRequest found, not instrumented');
          });
        }
        return moduleExports;
      },
      (moduleExports) => this._unpatch(exportsOf(moduleExports)),
    );
  }

  private _patch(exports: ModuleExports): void {
    const requestPrototype = exports.DatastoreRequest!.prototype;
    if (isWrapped(requestPrototype.request_)) this._unwrap(requestPrototype, 'request_');
    this._wrap(requestPrototype, 'request_', (original) => this._requestWrapper(original as AnyFunction));
    const Transaction = exports.Transaction;
    for (const [owner, methods] of Object.entries(PUBLIC_METHODS)) {
      const prototype = exports[owner as keyof ModuleExports]?.prototype;
      if (!prototype) continue;
      for (const method of methods) {
        if (!Object.hasOwn(prototype, method) || typeof prototype[method] !== 'function') continue;
        if (isWrapped(prototype[method])) this._unwrap(prototype, method);
        this._wrap(prototype, method, (original) =>
          this._publicMethodWrapper(owner, method, original as AnyFunction, Transaction),
        );
      }
    }
  }

  private _unpatch(exports: ModuleExports): void {
    const requestPrototype = exports.DatastoreRequest?.prototype;
    if (requestPrototype && isWrapped(requestPrototype.request_)) this._unwrap(requestPrototype, 'request_');
    for (const [owner, methods] of Object.entries(PUBLIC_METHODS)) {
      const prototype = exports[owner as keyof ModuleExports]?.prototype;
      if (!prototype) continue;
      for (const method of methods) if (isWrapped(prototype[method])) this._unwrap(prototype, method);
    }
  }

  /** Notes the app's method in the context (the outermost one wins: `insert` calls `save`). */
  private _publicMethodWrapper(
    owner: string,
    method: string,
    original: AnyFunction,
    Transaction: ModuleExports['Transaction'],
  ): AnyFunction {
    const isStream = STREAM_METHODS.has(method);
    return function patchedDatastoreMethod(this: unknown, ...args: unknown[]): unknown {
      const active = context.active();
      if (active.getValue(CLIENT_METHOD) !== undefined || isTracingSuppressed(active))
        return original.apply(this, args);
      let label = `${owner}.${method}`;
      try {
        // Methods of DatastoreRequest serve both the client and its transactions.
        if (owner === 'DatastoreRequest')
          label = `${Transaction && this instanceof Transaction ? 'Transaction' : 'Datastore'}.${method}`;
      } catch {
        // A label is a nicety.
      }
      // The RPC may start after this call returned (a stream's first read): note the app's call
      // sites now, for its span's stack, if the request gets stacks at all. The caller's own
      // callbacks keep the caller's context.
      const labelled = active.setValue(CLIENT_METHOD, label);
      const marked = callerCaptureWanted(active)
        ? setCallerCallSites(labelled, captureCallSites())
        : labelled;
      for (let i = 0; i < args.length; i++)
        if (typeof args[i] === 'function') args[i] = context.bind(active, args[i] as AnyFunction);
      const result = context.with(marked, () => original.apply(this, args));
      if (isStream) bindReading(result, marked);
      return result;
    };
  }

  private _requestWrapper(original: AnyFunction): AnyFunction {
    const instrumentation = this;
    return function patchedRequest(this: unknown, ...args: unknown[]): unknown {
      const parent = context.active();
      const [config, callback] = args as [RequestConfig | undefined, AnyFunction | undefined];
      if (isTracingSuppressed(parent) || typeof callback !== 'function') return original.apply(this, args);
      if (instrumentation.getConfig().requireParentSpan && !trace.getSpan(parent))
        return original.apply(this, args);
      let rpc: DatastoreRpcSpan;
      try {
        rpc = instrumentation._startRpc(this as DatastoreRequestLike, config ?? {}, parent);
      } catch (error) {
        // Never break the app for our sake: on any surprise, run the RPC untraced.
        instrumentation._diag.debug('datastore: RPC not traced', error);
        return original.apply(this, args);
      }
      const callerCallback = context.bind(parent, callback);
      args[1] = function datastoreCallback(
        this: unknown,
        error: unknown,
        response: unknown,
        ...rest: unknown[]
      ) {
        rpc.end(error, response);
        return callerCallback.call(this, error, response, ...rest);
      };
      try {
        return context.with(trace.setSpan(parent, rpc.span), () => original.apply(this, args));
      } catch (error) {
        rpc.end(error, undefined);
        throw error;
      }
    };
  }

  private _startRpc(request: DatastoreRequestLike, config: RequestConfig, parent: Context): DatastoreRpcSpan {
    const { maxRepr = DEFAULT_MAX_REPR, maxDetailKeys = DEFAULT_MAX_DETAIL_KEYS } = this.getConfig();
    const transactional = Boolean(request.id);
    const described = describeRequest(config, transactional, maxRepr, maxDetailKeys);
    const clientMethod = parent.getValue(CLIENT_METHOD) as string | undefined;
    const attributes: Attributes = {
      'db.system.name': DB_SYSTEM_DATASTORE,
      'db.operation.name': described.rpc,
      [ATTR_CALL_NAME]: described.callName,
      [ATTR_REQUEST_SUMMARY]: described.summary,
      [ATTR_DATASTORE_TRANSACTIONAL]: described.details.transactional === true,
    };
    if (clientMethod) attributes[ATTR_DATASTORE_CLIENT_METHOD] = clientMethod;
    if (described.kind) attributes['db.collection.name'] = described.kind;
    if (described.namespace) attributes[ATTR_NAMESPACE] = described.namespace;
    const options = request.datastore?.options;
    if (typeof options?.servicePath === 'string') attributes['server.address'] = options.servicePath;
    if (typeof options?.port === 'number') attributes['server.port'] = options.port;
    const span = this.tracer.startSpan(described.rpc, { kind: SpanKind.CLIENT, attributes }, parent);
    return new DatastoreRpcSpan(span, config, described, {
      maxRepr,
      maxDetailKeys,
      prices: this._prices,
      hook: this.getConfig().responseHook,
      clientMethod,
    });
  }
}

/**
 * A stream method sends its first RPC when the stream is first read, from the caller's later
 * context; running its 'reading' listeners in the method's context keeps the method name and the
 * parent span (later pages follow from the bound callback). The client emits 'reading' through an
 * `emit` bound at construction, so the listeners are what we can reach.
 */
function bindReading(stream: unknown, marked: Context): void {
  try {
    const emitter = stream as NodeJS.EventEmitter;
    if (typeof emitter?.rawListeners !== 'function') return;
    const listeners = emitter.rawListeners('reading') as ((...args: unknown[]) => unknown)[];
    if (listeners.length === 0) return;
    emitter.removeAllListeners('reading');
    for (const listener of listeners) emitter.once('reading', context.bind(marked, listener));
  } catch {
    // Without it, the RPC is still traced, only in the reader's context.
  }
}
