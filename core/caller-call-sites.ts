import { type Context, createContextKey } from '@opentelemetry/api';

/**
 * Call sites are captured when a CLIENT span starts and formatted only when the record is built.
 * Capture is `Error.captureStackTrace` on a plain object: V8 records the raw frames and builds
 * nothing else until `.stack` is first read, so the span's start pays a stack walk only (no
 * CallSite objects, no strings).
 */
export type CapturedCallSites = { readonly stack?: unknown };

const CALLER_CALL_SITES = createContextKey('otel-appstats caller call sites');

/**
 * A context in which CLIENT spans that start later, from a library's own callbacks, are credited to
 * these call sites: the app's call of the library method. @google-cloud/datastore sends its RPCs
 * from a stream's first read or from a callback, where no frame of the app is left on the stack; its
 * instrumentation captures the app's call here, and the record shows that line.
 */
export function setCallerCallSites(ctx: Context, sites: CapturedCallSites): Context {
  return ctx.setValue(CALLER_CALL_SITES, sites);
}

export function getCallerCallSites(ctx: Context): CapturedCallSites | undefined {
  return ctx.getValue(CALLER_CALL_SITES) as CapturedCallSites | undefined;
}

/**
 * Whether anyone will read a caller capture made in this context. Only `AppstatsSpanProcessor`
 * reads them, and only for requests that get stacks (`captureStacks`, the stack budget): each
 * processor registers a gate that answers for the requests it tracks. A capture costs the app's
 * main thread 10 to 30 µs; without a gate saying yes (no processor, a request it does not record,
 * or one past the budget) none is made, so the budget bounds these captures too.
 */
export type CallerCaptureGate = (ctx: Context) => boolean;
const gates = new Set<CallerCaptureGate>();

/** Registers a gate; returns its removal (a processor's shutdown). */
export function addCallerCaptureGate(gate: CallerCaptureGate): () => void {
  gates.add(gate);
  return () => gates.delete(gate);
}

export function callerCaptureWanted(ctx: Context): boolean {
  for (const gate of gates) if (gate(ctx)) return true;
  return false;
}
