import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { RemoteAddressResolver } from './loopback-only.js';

/** Default of `ViewerOptions.wrongCredentialsPerMinute`. */
export const DEFAULT_WRONG_CREDENTIALS_PER_MINUTE = 20;

const WINDOW_MS = 60_000;
/** Addresses remembered at once; past it the oldest is forgotten, so a spray of addresses holds bounded memory. */
const MAX_ADDRESSES = 10_000;

interface Failures {
  count: number;
  windowEnds: number;
}

/**
 * Throttles guessing of the basic-auth password or bearer token: a client address that sent more
 * than `perMinute` wrong credentials in a minute is answered 429 (with Retry-After) until that
 * minute is over, without its credentials being checked. Without it, a viewer on an open port
 * answers about a thousand guesses a second. The price: clients behind one address (a proxy, a
 * NAT) share the allowance, so one guesser there locks them out for the rest of the minute.
 * A request without an Authorization header is not a guess (a browser's first request has none).
 */
export function limitWrongCredentials(
  check: MiddlewareHandler,
  remoteAddress: RemoteAddressResolver,
  perMinute: number,
  now: () => number = Date.now,
): MiddlewareHandler {
  if (perMinute === Number.POSITIVE_INFINITY) return check;
  const failures = new Map<string, Failures>();
  return async function wrongCredentialLimit(c, next) {
    const address = remoteAddress(c) ?? 'unknown address';
    const time = now();
    const seen = failures.get(address);
    if (seen && time >= seen.windowEnds) failures.delete(address);
    else if (seen && seen.count >= perMinute) {
      c.header('Retry-After', String(Math.ceil((seen.windowEnds - time) / 1000)));
      c.header('Cache-Control', 'no-store');
      return c.text(
        `Too many requests: more than ${perMinute} wrong credentials from this address in a minute; ` +
          'try again when Retry-After says.\n',
        429,
      );
    }
    const countIfWrong = (status: number) => {
      if (status !== 401 || c.req.header('Authorization') === undefined) return;
      const current = failures.get(address);
      if (current) current.count++;
      else {
        if (failures.size >= MAX_ADDRESSES) failures.delete(failures.keys().next().value as string);
        failures.set(address, { count: 1, windowEnds: time + WINDOW_MS });
      }
    };
    try {
      const response = await check(c, next);
      countIfWrong(response instanceof Response ? response.status : c.res.status);
      return response;
    } catch (error) {
      // hono's auth middleware refuse by throwing; the refusal is still a guess.
      if (error instanceof HTTPException) countIfWrong(error.status);
      throw error;
    }
  };
}
