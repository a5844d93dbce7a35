import type { Context } from 'hono';

/**
 * Where the viewer is mounted, from the request path and the viewer's own route, read through
 * `c.req.path` only: the public API of whichever Hono build routed the request.
 *
 * Not `basePath(c)` from `hono/route`: it reads the match through a `Symbol()` private to one build
 * of Hono, and a CommonJS app's `require('hono')` loads the CJS build while the viewer imports the
 * ESM one; mounted there with `app.route()`, every page failed (`TypeError ... matchedRoutes`).
 *
 * `localPath` is the viewer's route that matched (`/`, `/details`, `/file`), a static path, so the
 * request path ends with it; `/` is the mount itself (`/_ah/stats`, or `/_ah/stats/` when the app's
 * router is not strict about the trailing slash).
 */
export function mountPath(c: Context, localPath: string): string {
  const path = c.req.path;
  if (localPath === '/') return path.endsWith('/') ? path.slice(0, -1) : path;
  return path.endsWith(localPath) ? path.slice(0, -localPath.length) : path;
}

/** The catch-all route's parameter: the path after the mount (`''` for `/_ah/stats/`). */
export const REST_PARAM = 'appstatsRestOfPath';
/** The catch-all route, a named parameter so `c.req.param()` (public API) says what it matched. */
export const REST_ROUTE = `/:${REST_PARAM}{.*}`;
