import type { RequestRecord, RequestSummary, RpcCall } from '../core/record.js';
import { createRedactor } from '../core/redact.js';

/**
 * The recorder redacts secrets before a record is written; the viewer does it again, with the same
 * redactor (core/redact.ts), as it shows a record, in HTML and JSON alike: records may come from an
 * older or differently configured recorder, or another program writing under our keys.
 */
const redactor = createRedactor();

/** A `cgi_env` entry as shown: `HTTP_<header>` and `RESPONSE_<header>` as that header, the query as a query. */
export function displayEnvValue(key: string, value: string): string {
  const upper = key.toUpperCase();
  if (upper === 'QUERY_STRING') return redactor.query(value);
  const header = upper.startsWith('HTTP_')
    ? upper.slice(5)
    : upper.startsWith('RESPONSE_')
      ? upper.slice(9)
      : upper;
  return redactor.header(header, value);
}

/** A call attribute as shown; numbers and booleans as they are. */
export function displayAttribute(key: string, value: string | number | boolean): string {
  return typeof value === 'string' ? redactor.attribute(key, value) : String(value);
}

/** A request's query as shown. */
export function displayQuery(query: string): string {
  return redactor.query(query);
}

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

function redactCall(call: RpcCall): RpcCall {
  if (call === null || typeof call !== 'object') return call;
  let changed = false;
  let attributes = call.attributes;
  if (attributes !== null && typeof attributes === 'object') {
    const shown: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(attributes)) {
      const redacted = typeof value === 'string' ? redactor.attribute(key, value) : value;
      if (redacted !== value) changed = true;
      shown[key] = redacted;
    }
    if (changed) attributes = shown;
  }
  const summary = call.request_data_summary;
  // A summary that is a URL (an outgoing HTTP call) may carry credentials in its query.
  const shownSummary =
    typeof summary === 'string' && ABSOLUTE_URL.test(summary) ? redactor.url(summary) : summary;
  if (!changed && shownSummary === summary) return call;
  return { ...call, attributes, request_data_summary: shownSummary };
}

/**
 * A full record as the viewer shows it (details page and its JSON): the query, the environment, each
 * call's attributes and URL summaries redacted. A copy where anything changed; the record is not touched.
 * Tolerates fields of the wrong type (a foreign writer): they are left as they are.
 */
export function redactRecordForDisplay(record: RequestRecord): RequestRecord {
  const shown: RequestRecord = { ...record };
  if (typeof record.http_query === 'string') shown.http_query = redactor.query(record.http_query);
  if (Array.isArray(record.cgi_env)) {
    shown.cgi_env = record.cgi_env.map((entry) =>
      entry !== null && typeof entry?.key === 'string' && typeof entry.value === 'string'
        ? { key: entry.key, value: displayEnvValue(entry.key, entry.value) }
        : entry,
    );
  }
  if (Array.isArray(record.individual_stats))
    shown.individual_stats = record.individual_stats.map(redactCall);
  return shown;
}

/** Redacted summaries by the decoded part: the part cache keeps a part's object between views, so each is redacted once. */
const shownSummaries = new WeakMap<RequestSummary, RequestSummary>();

/** A part as the dashboard (HTML and JSON) shows it: its query redacted. */
export function redactSummaryForDisplay(summary: RequestSummary): RequestSummary {
  const known = shownSummaries.get(summary);
  if (known) return known;
  const query =
    typeof summary.http_query === 'string' ? redactor.query(summary.http_query) : summary.http_query;
  const shown = query === summary.http_query ? summary : { ...summary, http_query: query };
  shownSummaries.set(summary, shown);
  return shown;
}
