import { diag } from '@opentelemetry/api';
import type { Context, MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { bearerAuth } from 'hono/bearer-auth';
import { HTTPException } from 'hono/http-exception';
import { loopbackOnly, type RemoteAddressResolver, socketRemoteAddress } from './loopback-only.js';
import { DEFAULT_WRONG_CREDENTIALS_PER_MINUTE, limitWrongCredentials } from './wrong-credentials.js';

export {
  isLoopbackAddress,
  isLoopbackHost,
  type RemoteAddressResolver,
  socketRemoteAddress,
} from './loopback-only.js';

/**
 * Who may read the viewer. Records show paths, queries, headers and stacks of the app: not for
 * everyone. One of:
 * - a function of the request (`(c) => boolean | Promise<boolean>`), e.g. your session check;
 * - `{ username, password }`: HTTP basic auth (what a browser prompts for);
 * - `{ token }`: `Authorization: Bearer <token>` (for scripts reading the JSON).
 * With none, the viewer answers loopback clients only, addressed by a loopback name, not through a
 * proxy, and tells others why (./loopback-only.ts).
 */
export type ViewerAuth =
  | ((c: Context) => boolean | Promise<boolean>)
  | { username: string; password: string }
  | { token: string };

/** RFC 6750's b64token: what hono's bearerAuth accepts after `Bearer `. */
const TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;

/** Checks the option's shape once, at set-up: a bad auth option must fail loudly, not open the viewer. */
export function validateAuth(auth: unknown): ViewerAuth | undefined {
  if (auth === undefined || auth === null) return undefined;
  if (typeof auth === 'function') return auth as ViewerAuth;
  if (typeof auth === 'object') {
    const a = auth as Record<string, unknown>;
    if ('token' in a) {
      if (typeof a.token !== 'string' || !TOKEN.test(a.token))
        throw new TypeError(
          'appstats viewer: auth.token must be a non-empty string of letters, digits and . _ ~ + / - ' +
            '(optionally ending in =), the characters a bearer token may hold',
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

/**
 * Runs one of hono's auth middleware and answers its refusal (an HTTPException) here, so the app the
 * viewer is mounted in never sees it: its own onError could turn a 401 into a 500, and in a CommonJS
 * app its Hono is another build, whose error handler does not know this build's HTTPException.
 */
function answeringRefusals(middleware: MiddlewareHandler): MiddlewareHandler {
  return async function answerRefusal(c, next) {
    try {
      return await middleware(c, next);
    } catch (error) {
      if (error instanceof HTTPException) return error.getResponse();
      throw error;
    }
  };
}

const REALM = 'appstats';

/** The middleware for one auth setting, chosen once; wrong passwords and tokens are throttled per client address. */
export function createAuthMiddleware(
  auth: ViewerAuth | undefined,
  remoteAddress: RemoteAddressResolver = socketRemoteAddress,
  wrongCredentialsPerMinute = DEFAULT_WRONG_CREDENTIALS_PER_MINUTE,
): MiddlewareHandler {
  if (auth === undefined) return loopbackOnly(remoteAddress);
  if (typeof auth === 'function') {
    // Not hono's: its middleware take credentials, this is the app's own decision about the request.
    return async function authFunction(c, next) {
      let allowed = false;
      try {
        allowed = (await auth(c)) === true;
      } catch (error) {
        diag.warn(`appstats viewer: the auth function threw: ${(error as Error)?.message}`);
      }
      if (allowed) return next();
      c.header('Cache-Control', 'no-store');
      return c.text("Forbidden: the viewer's auth function refused this request.\n", 403);
    };
  }
  const limited = (check: MiddlewareHandler) =>
    limitWrongCredentials(answeringRefusals(check), remoteAddress, wrongCredentialsPerMinute);
  if ('token' in auth) {
    return limited(
      bearerAuth({
        token: auth.token,
        realm: REALM,
        noAuthenticationHeader: { message: 'Unauthorized: send Authorization: Bearer <token>.\n' },
        invalidAuthenticationHeader: {
          message: 'Bad request: the Authorization header is not "Bearer <token>".\n',
        },
        invalidToken: {
          message: 'Unauthorized: wrong token.\n',
          wwwAuthenticateHeader: `Bearer realm="${REALM}", error="invalid_token"`,
        },
      }),
    );
  }
  return limited(
    basicAuth({
      username: auth.username,
      password: auth.password,
      realm: REALM,
      invalidUserMessage: 'Unauthorized.\n',
    }),
  );
}
