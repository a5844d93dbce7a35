import { createHash, timingSafeEqual } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { diag } from '@opentelemetry/api';
import type { Context, MiddlewareHandler } from 'hono';

/**
 * Who may read the viewer. Records show paths, queries, headers and stacks of the app: not for
 * everyone. One of:
 * - a function of the request (`(c) => boolean | Promise<boolean>`), e.g. your session check;
 * - `{ username, password }`: HTTP basic auth (what a browser prompts for);
 * - `{ token }`: `Authorization: Bearer <token>` (for scripts reading the JSON).
 * With none, the viewer answers loopback clients only (127.0.0.0/8, ::1) and tells others why.
 */
export type ViewerAuth =
  | ((c: Context) => boolean | Promise<boolean>)
  | { username: string; password: string }
  | { token: string };

/** The client's address as the socket saw it; undefined when there is no socket (`app.request()`). */
export type RemoteAddressResolver = (c: Context) => string | undefined;

/**
 * The TCP peer's address from @hono/node-server's socket. Never X-Forwarded-For: any client can
 * send that header, so trusting it would open the loopback-only default to the world.
 */
export function socketRemoteAddress(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  if (address === '::1') return true;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/** Equal-time comparison of secrets of any length (hashing first evens out the lengths). */
function secretEquals(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** `Authorization: Basic xxx` -> user and password; undefined on anything else. */
export function parseBasicAuth(
  header: string | undefined,
): { username: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `Authorization: Bearer xxx` -> the token; undefined on anything else. */
export function parseBearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(header ?? '');
  return match ? match[1] : undefined;
}

function deny(c: Context, status: 401 | 403, message: string, challenge?: string): Response {
  if (challenge) c.header('WWW-Authenticate', challenge);
  c.header('Cache-Control', 'no-store');
  return c.text(message, status);
}

/** Checks the option's shape once, at set-up: a bad auth option must fail loudly, not open the viewer. */
export function validateAuth(auth: unknown): ViewerAuth | undefined {
  if (auth === undefined || auth === null) return undefined;
  if (typeof auth === 'function') return auth as ViewerAuth;
  if (typeof auth === 'object') {
    const a = auth as Record<string, unknown>;
    if ('token' in a) {
      if (typeof a.token !== 'string' || a.token.length === 0 || !/^[\x21-\x7e]+$/.test(a.token))
        throw new TypeError(
          'appstats viewer: auth.token must be a non-empty string of visible ASCII characters',
        );
      return { token: a.token };
    }
    if ('username' in a || 'password' in a) {
      if (typeof a.username !== 'string' || a.username === '' || a.username.includes(':'))
        throw new TypeError('appstats viewer: auth.username must be a non-empty string without ":"');
      if (typeof a.password !== 'string' || a.password === '')
        throw new TypeError('appstats viewer: auth.password must be a non-empty string');
      return { username: a.username, password: a.password };
    }
  }
  throw new TypeError('appstats viewer: auth must be a function, { username, password } or { token }');
}

/** The middleware for one auth setting, chosen once. */
export function createAuthMiddleware(
  auth: ViewerAuth | undefined,
  remoteAddress: RemoteAddressResolver = socketRemoteAddress,
): MiddlewareHandler {
  if (auth === undefined) {
    return async function loopbackOnly(c, next) {
      const address = remoteAddress(c);
      if (isLoopbackAddress(address)) return next();
      return deny(
        c,
        403,
        'Forbidden: this appstats viewer has no auth configured, so it answers clients on its own machine ' +
          `(loopback) only, and this request came from ${address ?? 'an unknown address'}.\n` +
          'Configure auth: createViewer({ auth: { token } | { username, password } | (c) => boolean }), ' +
          'or appstats-viewer --token / --user and --password.\n',
      );
    };
  }
  if (typeof auth === 'function') {
    return async function authFunction(c, next) {
      let allowed = false;
      try {
        allowed = (await auth(c)) === true;
      } catch (error) {
        diag.warn(`appstats viewer: the auth function threw: ${(error as Error)?.message}`);
      }
      if (allowed) return next();
      return deny(c, 403, "Forbidden: the viewer's auth function refused this request.\n");
    };
  }
  if ('token' in auth) {
    const { token } = auth;
    return async function bearerAuth(c, next) {
      const given = parseBearerToken(c.req.header('Authorization'));
      if (given !== undefined && secretEquals(given, token)) return next();
      return deny(c, 401, 'Unauthorized: send Authorization: Bearer <token>.\n', 'Bearer realm="appstats"');
    };
  }
  const { username, password } = auth;
  return async function basicAuth(c, next) {
    const given = parseBasicAuth(c.req.header('Authorization'));
    // Both compared whatever the first gives, so the time does not tell which one was wrong.
    const userOk = given !== undefined && secretEquals(given.username, username);
    const passwordOk = given !== undefined && secretEquals(given.password, password);
    if (userOk && passwordOk) return next();
    return deny(c, 401, 'Unauthorized.\n', 'Basic realm="appstats", charset="UTF-8"');
  };
}
