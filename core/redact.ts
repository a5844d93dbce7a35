/**
 * Secrets never reach a record, nor a page: headers, query parameters and attributes that carry
 * credentials are replaced before the record is built, and again as the viewer shows a record
 * (it may come from an older or foreign writer). One redactor does both, so the two never disagree.
 *
 * Names are matched normalised, against patterns rather than an exact list: `X-Api-Key`, `api_key`,
 * `apiKey`, `user[api-key]` and `token[]` are all spelled differently by some client, framework
 * (Express parses `user[password]=x` into objects) or header convention.
 */
export const REDACTED = '[redacted]';

export interface RedactionOptions {
  /**
   * More header names whose values are replaced, beyond the built-in patterns (`DEFAULT_SECRET_NAMES`).
   * Matched like them: any case, `-` and `_` alike.
   */
  redactHeaders?: readonly string[];
  /** More query parameter names whose values are replaced, beyond the built-in patterns; matched like them. */
  redactQueryParams?: readonly string[];
}

/**
 * A name is secret when its letters and digits, run together (`X-Api-Key` -> `xapikey`), contain one
 * of these. Long enough not to match by accident; `api-key` and `apiKey` alike.
 */
const SECRET_FRAGMENTS = [
  'password',
  'passwd',
  'passphrase',
  'pwd',
  'secret',
  'token',
  'credential',
  'cookie',
  'authorization',
  'signature',
  'session',
  'sessid',
  'jwt',
  'apikey',
  'privatekey',
  'accesskey',
  'assertion',
  'csrf',
  'xsrf',
  'bearer',
];

/**
 * Short names that mean a secret only on their own (`?code=` of OAuth, Google's `?key=`, Azure's
 * `?sig=`), or as one `[segment]` (`user[pin]`): as a fragment they would match `status_code`, `sort_key`.
 */
const SECRET_WHOLE_NAMES = ['code', 'key', 'sig', 'auth', 'pin', 'otp', 'sid', 'pass'];

/** For the docs and tests: what the built-in patterns are. */
export const DEFAULT_SECRET_NAMES: { fragments: readonly string[]; wholeNames: readonly string[] } = {
  fragments: SECRET_FRAGMENTS,
  wholeNames: SECRET_WHOLE_NAMES,
};

const FRAGMENTS = new RegExp(SECRET_FRAGMENTS.join('|'));
const WHOLE_NAMES = new Set(SECRET_WHOLE_NAMES);

/**
 * `X-Api-Key`, `x_api_key`, `apiKey`, `user[api-key]` -> lowercase words with nothing between them
 * (`xapikey`, `userapikey`), and the bracket segments on their own (`user`, `apikey`).
 */
export function normalizeName(name: string): { compact: string; segments: string[] } {
  const lower = name.toLowerCase();
  const segments = lower
    .split(/[[\]]+/)
    .map((segment) => segment.replace(/[^a-z0-9]+/g, ''))
    .filter((segment) => segment !== '');
  return { compact: segments.join(''), segments };
}

/** True when a header, parameter or attribute of this name holds a secret by the built-in patterns. */
export function isSecretName(name: string, extra?: ReadonlySet<string>): boolean {
  const { compact, segments } = normalizeName(name);
  if (FRAGMENTS.test(compact)) return true;
  for (const segment of segments) if (WHOLE_NAMES.has(segment) || extra?.has(segment)) return true;
  return extra?.has(compact) ?? false;
}

export interface Redactor {
  /** A header's value: `[redacted]` for a secret name; the secret parameters of a URL in it (Referer, Location) otherwise. */
  header(name: string, value: string): string;
  /** A query string (without its `?`): the values of secret parameters replaced, every other byte kept. */
  query(query: string): string;
  /** A URL or request target: secret query and fragment parameters, and a password in it, replaced. */
  url(url: string): string;
  /** A span attribute: by its name, by the header it captured (`http.request.header.*`), or as a URL. */
  attribute(key: string, value: string): string;
}

/** Attributes that hold a URL or a request target, and one that holds a bare query. */
const URL_ATTRIBUTES = new Set(['url.full', 'http.url', 'http.target', 'url.original']);
const QUERY_ATTRIBUTES = new Set(['url.query']);
const HEADER_ATTRIBUTE = /^http\.(?:request|response)\.header\./;
/** An absolute URL, or a path with a query or fragment (a relative `Location`). */
const URL_LIKE = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/)[^\s]*[?#@]/i;
/** `scheme://user:password@`: the password part. */
const URL_PASSWORD = /^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#@]*@/i;

/** Decisions per name, bounded: names repeat across calls and records, and the patterns cost a regex each. */
const MAX_REMEMBERED_NAMES = 2000;

/** Built once per processor (and once in the viewer): the extra names become normalised sets. */
export function createRedactor(options: RedactionOptions = {}): Redactor {
  const normalized = (names: readonly string[] | undefined) =>
    new Set((names ?? []).map((name) => normalizeName(name).compact).filter((name) => name !== ''));
  const extraHeaders = normalized(options.redactHeaders);
  const extraParams = normalized(options.redactQueryParams);
  const remembered = new Map<string, boolean>();
  function secret(kind: 'h' | 'q' | 'a', name: string): boolean {
    const memo = kind + name;
    let known = remembered.get(memo);
    if (known === undefined) {
      known = isSecretName(name, kind === 'h' ? extraHeaders : kind === 'q' ? extraParams : undefined);
      if (remembered.size >= MAX_REMEMBERED_NAMES) remembered.clear();
      remembered.set(memo, known);
    }
    return known;
  }
  const query = (text: string) => redactQuery(text, (name) => secret('q', name));
  function url(text: string): string {
    const out = text.replace(URL_PASSWORD, `$1:${REDACTED}@`);
    const hash = out.indexOf('#');
    const beforeHash = hash === -1 ? out : out.slice(0, hash);
    const q = beforeHash.indexOf('?');
    const base = q === -1 ? beforeHash : `${beforeHash.slice(0, q + 1)}${query(beforeHash.slice(q + 1))}`;
    // OAuth's implicit flow puts `access_token=` in the fragment of a Location.
    return hash === -1 ? base : `${base}#${query(out.slice(hash + 1))}`;
  }
  function header(name: string, value: string): string {
    if (secret('h', name)) return REDACTED;
    return URL_LIKE.test(value) ? url(value) : value;
  }
  return {
    header,
    query,
    url,
    attribute(key, value) {
      if (HEADER_ATTRIBUTE.test(key)) return header(key.replace(HEADER_ATTRIBUTE, ''), value);
      if (secret('a', key)) return REDACTED;
      if (QUERY_ATTRIBUTES.has(key)) return query(value);
      return URL_ATTRIBUTES.has(key) || URL_LIKE.test(value) ? url(value) : value;
    },
  };
}

/**
 * Replaces the values of secret parameters in a query string (without its `?`), leaving every other
 * byte as the client sent it: the record shows the query the app saw. A name is read decoded, so
 * `user%5Bpassword%5D` is `user[password]`.
 */
export function redactQuery(query: string, isSecret: (name: string) => boolean): string {
  if (query === '') return query;
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      const rawName = pair.slice(0, eq);
      let name: string;
      try {
        name = decodeURIComponent(rawName.replaceAll('+', ' '));
      } catch {
        name = rawName;
      }
      return isSecret(name) ? `${rawName}=${REDACTED}` : pair;
    })
    .join('&');
}
