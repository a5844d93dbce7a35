import { type Context, createContextKey } from '@opentelemetry/api';
import type { CapturedCallSites } from './call-site.js';

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
