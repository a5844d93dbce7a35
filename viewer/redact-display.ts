import { createRedactor } from '../core/redact.js';

/**
 * The recorder redacts secrets before a record is written; the viewer does it again as it shows
 * them, because records may come from an older or differently configured recorder, or another
 * program writing under our keys.
 */
const redactor = createRedactor();

/** A `cgi_env` entry as shown: credentials in headers, cookies and query strings replaced. */
export function displayEnvValue(key: string, value: string): string {
  const upper = key.toUpperCase();
  if (upper === 'QUERY_STRING') return redactor.query(value);
  const header = upper.startsWith('HTTP_')
    ? upper.slice(5)
    : upper.startsWith('RESPONSE_')
      ? upper.slice(9)
      : upper;
  const redacted = redactor.header(header, value);
  return redacted === value ? redactor.attribute(key, value) : redacted;
}

/** A call attribute as shown. */
export function displayAttribute(key: string, value: string | number | boolean): string {
  const text = String(value);
  return redactor.attribute(key, text);
}

/** A request's query as shown. */
export function displayQuery(query: string): string {
  return redactor.query(query);
}
