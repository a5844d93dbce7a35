/**
 * Links from a record to the same trace in a tracing UI (Jaeger, Tempo, Cloud Trace...): the record
 * carries the OpenTelemetry trace and span ids. Only http(s) URLs are used, so a template cannot
 * turn record data into a `javascript:` link.
 */
export type TraceLink = (ids: { traceId: string; spanId: string }) => string;

/** The link for these ids, or undefined when none is configured or it is not http(s). */
export function traceHref(
  traceLink: TraceLink | undefined,
  traceId: string,
  spanId: string,
): string | undefined {
  if (!traceLink || !traceId) return undefined;
  let href: string;
  try {
    href = traceLink({ traceId, spanId });
  } catch {
    return undefined;
  }
  return typeof href === 'string' && /^https?:\/\//i.test(href) ? href : undefined;
}
