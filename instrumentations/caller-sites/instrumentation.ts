import { context } from '@opentelemetry/api';
import {
  InstrumentationBase,
  type InstrumentationConfig,
  InstrumentationNodeModuleDefinition,
} from '@opentelemetry/instrumentation';
import { captureCallSites } from '../../core/call-site.js';
import { callerCaptureWanted, setCallerCallSites } from '../../core/caller-call-sites.js';
import { PACKAGE_VERSION } from '../version.js';

export interface CallerSitesInstrumentationConfig extends InstrumentationConfig {
  /** Note the app's line of `fetch()` calls (undici starts its span from its dispatcher). Default true. */
  fetch?: boolean;
  /** Note the app's line of `pool.query()` / `pool.connect()` (pg-pool runs the query from its queue). Default true. */
  pgPool?: boolean;
}

type AnyFunction = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Makes no spans. Some clients start their span after the app's call has returned: pg-pool runs
 * `pool.query` from its checkout callback, undici's `fetch` from its dispatcher. No frame of the app
 * is on the stack then, and the call would show only library frames. This notes the app's call
 * sites in the context at the app's call (as the Datastore instrumentation does for its RPCs), so
 * the span that starts later shows the app's line (core/call-site.ts reads it). Only for requests a
 * processor records with stacks (`callerCaptureWanted`): otherwise it costs one map lookup.
 */
export class CallerSitesInstrumentation extends InstrumentationBase<CallerSitesInstrumentationConfig> {
  constructor(config: CallerSitesInstrumentationConfig = {}) {
    super('otel-appstats-caller-sites', PACKAGE_VERSION, config);
  }

  protected init() {
    if (this.getConfig().pgPool === false) return [];
    return [
      new InstrumentationNodeModuleDefinition(
        'pg-pool',
        ['>=2.0.0 <4'],
        (Pool: { prototype: Record<string, unknown> }) => {
          for (const method of ['query', 'connect']) wrapOnTop(Pool.prototype, method);
          return Pool;
        },
        (Pool: { prototype: Record<string, unknown> } | undefined) => {
          if (!Pool) return;
          for (const method of ['query', 'connect']) unwrapOurs(Pool.prototype, method);
        },
      ),
    ];
  }

  // fetch is a global, not a module: wrapped in enable(), put back by disable().
  override enable(): void {
    super.enable();
    if (this.getConfig().fetch !== false)
      wrapOnTop(globalThis as unknown as Record<string, unknown>, 'fetch');
  }

  override disable(): void {
    super.disable();
    unwrapOurs(globalThis as unknown as Record<string, unknown>, 'fetch');
  }
}

/** Our wrappers -> what each wraps. */
const originals = new WeakMap<AnyFunction, AnyFunction>();

/**
 * Wraps `target[name]` on top of whatever is there. Not InstrumentationBase's `_wrap`: it unwraps
 * any shimmer wrapper first, and the pg instrumentation's `connect` (a pool checkout's span) would
 * be lost. Ours carries no shimmer mark, so theirs, applied later, wraps ours in turn.
 */
function wrapOnTop(target: Record<string, unknown>, name: string): void {
  const current = target[name];
  if (typeof current !== 'function' || originals.has(current as AnyFunction)) return;
  const wrapper = noteCaller(current as AnyFunction);
  originals.set(wrapper, current as AnyFunction);
  target[name] = wrapper;
}

/** Puts back what ours wrapped, when ours is still the outermost. */
function unwrapOurs(target: Record<string, unknown>, name: string): void {
  const original = originals.get(target[name] as AnyFunction);
  if (original) target[name] = original;
}

/** The wrapper: runs the call in a context that carries the app's call sites, when anyone reads them. */
function noteCaller(original: AnyFunction): AnyFunction {
  return function callerNoted(this: unknown, ...args: unknown[]) {
    // pool.query calls this.connect synchronously: the outer call noted the app's line already.
    if (noting) return original.apply(this, args);
    const active = context.active();
    if (!callerCaptureWanted(active)) return original.apply(this, args);
    const noted = setCallerCallSites(active, captureCallSites());
    noting = true;
    try {
      return context.with(noted, () => original.apply(this, args));
    } finally {
      noting = false;
    }
  };
}

/** True while a wrapped call runs synchronously (a wrapped method calling another). */
let noting = false;
