/**
 * Secrets never reach a record: headers, query parameters and attributes that carry credentials are
 * replaced before the record is built, so neither memcache nor the viewer ever holds them (the
 * original stored cookies in its environment dump; users complained).
 */
export const REDACTED = '[redacted]';

export interface RedactionOptions {
  /** Header names (any case) whose values are replaced. Default: see `DEFAULT_REDACT_HEADERS`. */
  redactHeaders?: readonly string[];
  /** Query parameter names (any case) whose values are replaced. Default: see `DEFAULT_REDACT_QUERY_PARAMS`. */
  redactQueryParams?: readonly string[];
}

export const DEFAULT_REDACT_HEADERS: readonly string[] = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-csrf-token',
  'x-xsrf-token',
];

export const DEFAULT_REDACT_QUERY_PARAMS: readonly string[] = [
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'api_key',
  'apikey',
  'key',
  'password',
  'passwd',
  'secret',
  'client_secret',
  'code',
  'sig',
  'signature',
  'auth',
  'session',
];

/** Attribute keys that look like they hold a credential, whatever instrumentation set them. */
const SECRET_ATTRIBUTE = /authorization|cookie|password|passwd|secret|token|api[-_.]?key|credential/i;

export interface Redactor {
  header(name: string, value: string): string;
  query(query: string): string;
  attribute(key: string, value: string): string;
}

/** Built once per processor: the lists become lowercase sets. */
export function createRedactor(options: RedactionOptions = {}): Redactor {
  const headers = new Set((options.redactHeaders ?? DEFAULT_REDACT_HEADERS).map((h) => h.toLowerCase()));
  const params = new Set(
    (options.redactQueryParams ?? DEFAULT_REDACT_QUERY_PARAMS).map((p) => p.toLowerCase()),
  );
  return {
    header: (name, value) => (headers.has(name.toLowerCase().replaceAll('_', '-')) ? REDACTED : value),
    query: (query) => redactQuery(query, params),
    attribute: (key, value) => (SECRET_ATTRIBUTE.test(key) ? REDACTED : value),
  };
}

/**
 * Replaces the values of secret parameters in a query string (without its `?`), leaving every other
 * byte as the client sent it: the record shows the query the app saw.
 */
export function redactQuery(query: string, secretParams: ReadonlySet<string>): string {
  if (query === '' || secretParams.size === 0) return query;
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const rawName = eq === -1 ? pair : pair.slice(0, eq);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replaceAll('+', ' '));
      } catch {
        name = rawName;
      }
      return eq !== -1 && secretParams.has(name.toLowerCase()) ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
}
