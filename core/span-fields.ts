import type { Attributes } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { APPSTATS_ATTRIBUTE_PREFIX, ATTR_REQUEST_SUMMARY, ATTR_RESPONSE_SUMMARY } from './attributes.js';
import type { Redactor } from './redact.js';
import { clip, num, str } from './units.js';

// What a record takes from span attributes, semantic conventions old and new: the request's HTTP
// fields and environment, a call's summaries, and a bounded, redacted copy of the rest.

/** A URL or request target with the values of secret query parameters replaced. */
export function redactUrl(url: string, redactor: Redactor): string {
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q + 1)}${redactor.query(url.slice(q + 1))}`;
}

/**
 * The resource's `service.name`. While async resource detectors are pending, the SDK logs an error
 * on every read of `attributes` (and BatchSpanProcessor waits for them): the raw attributes are
 * read instead, as `attributes` reads them: a merge puts the winning value first, and pending or
 * empty values are passed over.
 */
export function serviceNameOf(resource: ReadableSpan['resource'] | undefined): string {
  if (!resource) return '';
  if (!resource.asyncAttributesPending) return str(resource.attributes['service.name']) ?? '';
  // A resource of another make, pending but without raw attributes: no name rather than an error.
  if (typeof resource.getRawAttributes !== 'function') return '';
  for (const [key, value] of resource.getRawAttributes()) {
    if (key !== 'service.name' || value == null) continue;
    if (typeof (value as PromiseLike<unknown>).then === 'function') continue;
    return str(value) ?? '';
  }
  return '';
}

/** Attributes that hold a URL, a request target or a bare query: their secret parameters are redacted. */
const URL_ATTRIBUTES = new Set(['url.full', 'http.url', 'http.target', 'url.original']);
const QUERY_ATTRIBUTES = new Set(['url.query']);

export function requestSummaryOf(a: Attributes, redactor: Redactor): string {
  const explicit = str(a[ATTR_REQUEST_SUMMARY]) ?? str(a['db.query.text']) ?? str(a['db.statement']);
  if (explicit !== undefined) return explicit;
  // An outgoing URL can carry credentials in its query: redact those like the request's own.
  return redactUrl(str(a['url.full']) ?? str(a['http.url']) ?? '', redactor);
}

export function responseSummaryOf(a: Attributes): string {
  const explicit = str(a[ATTR_RESPONSE_SUMMARY]);
  if (explicit !== undefined) return explicit;
  const status = str(a['http.response.status_code']) ?? str(a['http.status_code']);
  return status ? `status ${status}` : '';
}

export function parseJson<T>(value: unknown, check: (parsed: unknown) => boolean): T | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(value);
    return check(parsed) ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}

export function isBilledOps(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    value.every(
      (op) => typeof op?.op === 'string' && typeof op?.num_ops === 'number' && Number.isFinite(op.num_ops),
    )
  );
}

/** A bounded, redacted copy of a span's attributes; the appstats.* ones became fields already. */
export function boundedAttributes(
  attributes: Attributes,
  redactor: Redactor,
  maxAttributes: number,
  maxChars: number,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  let kept = 0;
  for (const key of Object.keys(attributes)) {
    if (key.startsWith(APPSTATS_ATTRIBUTE_PREFIX)) continue;
    if (kept >= maxAttributes) break;
    const value = attributes[key];
    if (value === undefined || value === null) continue;
    let kept_value: string | number | boolean;
    if (typeof value === 'number' || typeof value === 'boolean') kept_value = value;
    else if (Array.isArray(value)) kept_value = clip(value.map(String).join(', '), maxChars);
    else {
      // Redacted before clipping: a clipped query could hide a secret's name from the redactor.
      let text = String(value);
      if (URL_ATTRIBUTES.has(key)) text = redactUrl(text, redactor);
      else if (QUERY_ATTRIBUTES.has(key)) text = redactor.query(text);
      kept_value = clip(text, maxChars);
    }
    out[key] = typeof kept_value === 'string' ? redactor.attribute(key, kept_value) : kept_value;
    kept++;
  }
  return out;
}

/** The HTTP fields of a root span, from either generation of the semantic conventions. */
export function httpFieldsOf(root: Pick<ReadableSpan, 'name' | 'attributes'>): {
  method: string;
  path: string;
  query: string;
  status: number;
  route?: string;
} {
  const a = root.attributes;
  const method = str(a['http.request.method']) ?? str(a['http.method']) ?? '';
  let path = str(a['url.path']);
  let query = str(a['url.query']);
  const target = str(a['http.target']);
  if (path === undefined && target !== undefined) {
    const q = target.indexOf('?');
    path = q === -1 ? target : target.slice(0, q);
    query ??= q === -1 ? '' : target.slice(q + 1);
  }
  const route = str(a['http.route']);
  // A root that is not HTTP (a job, a queue consumer) is recorded under its span name.
  if (path === undefined) path = method ? (route ?? root.name) : root.name;
  const status = num(a['http.response.status_code']) ?? num(a['http.status_code']) ?? 0;
  return { method, path, query: query ?? '', status, ...(route !== undefined ? { route } : {}) };
}

/** The request's environment as the original's cgi_env: variables, then headers, secrets redacted. */
export function cgiEnvOf(
  root: Pick<ReadableSpan, 'attributes'>,
  redactor: Redactor,
  maxChars: number,
): { key: string; value: string }[] {
  const a = root.attributes;
  const env: { key: string; value: string }[] = [];
  const add = (key: string, value: unknown) => {
    const text = Array.isArray(value) ? value.map(String).join(', ') : str(value);
    if (text !== undefined && text !== '') env.push({ key, value: clip(text, maxChars) });
  };
  add('REQUEST_METHOD', a['http.request.method'] ?? a['http.method']);
  // The old conventions' http.target carries the query too: PATH_INFO is the path only.
  const target = str(a['http.target']);
  add('PATH_INFO', a['url.path'] ?? (target === undefined ? undefined : target.split('?')[0]));
  const query = str(a['url.query']);
  if (query !== undefined) add('QUERY_STRING', redactor.query(query));
  add('URL_SCHEME', a['url.scheme'] ?? a['http.scheme']);
  add('SERVER_NAME', a['server.address'] ?? a['net.host.name'] ?? a['http.host']);
  add('SERVER_PORT', a['server.port'] ?? a['net.host.port']);
  add('SERVER_PROTOCOL', a['network.protocol.version'] ?? a['http.flavor']);
  add('REMOTE_ADDR', a['client.address'] ?? a['network.peer.address'] ?? a['net.peer.ip']);
  add('HTTP_USER_AGENT', a['user_agent.original'] ?? a['http.user_agent']);
  add('HTTP_ROUTE', a['http.route']);
  for (const key of Object.keys(a)) {
    for (const [prefix, envPrefix] of [
      ['http.request.header.', 'HTTP_'],
      ['http.response.header.', 'RESPONSE_'],
    ] as const) {
      if (!key.startsWith(prefix)) continue;
      const header = key.slice(prefix.length);
      const value = a[key];
      const text = Array.isArray(value) ? value.map(String).join(', ') : (str(value) ?? '');
      const envKey = envPrefix + header.toUpperCase().replaceAll('-', '_');
      // HTTP_USER_AGENT may already stand from `user_agent.original`: one entry per variable.
      if (env.some((entry) => entry.key === envKey)) continue;
      env.push({ key: envKey, value: clip(redactor.header(header, text), maxChars) });
    }
  }
  return env;
}
