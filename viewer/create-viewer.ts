import { trace } from '@opentelemetry/api';
import { Hono } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import { ATTR_IGNORE } from '../core/attributes.js';
import { CONTENT_SECURITY_POLICY } from './assets.js';
import { createAuthMiddleware } from './auth.js';
import { addViewerRoutes } from './viewer-routes.js';
import { resolveViewerSettings, type ViewerOptions } from './viewer-settings.js';

export type { ViewerOptions } from './viewer-settings.js';

/**
 * The appstats viewer as a Hono app: mount it (`app.route('/_ah/stats', createViewer())`) or serve
 * it alone (`appstats-viewer`). Pages: the dashboard (`/`), one request (`/details?time=`), a source
 * file (`/file?f=&n=`, with `sourceRoot` only), and JSON of the first two (`?type=json`).
 * Options are checked here, once: a mistake throws now, never on a request.
 *
 * @example
 * import { createViewer } from 'otel-appstats/viewer';
 * app.route('/_ah/stats', createViewer({ memcache: 'localhost:11211', auth: { token: process.env.STATS_TOKEN! } }));
 */
export function createViewer(options: ViewerOptions = {}): Hono {
  const settings = resolveViewerSettings(options);
  const app = new Hono();

  app.use('*', async function appstatsViewerRequest(c, next) {
    // The viewer's own requests never become records, wherever it is mounted.
    trace.getActiveSpan()?.setAttribute(ATTR_IGNORE, true);
    await next();
    // Built in assets.ts from the hashes of the inlined style and script; no nonce to add per request.
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    c.header('Cache-Control', 'no-store');
  });
  app.use(
    '*',
    secureHeaders({
      xFrameOptions: 'DENY',
      // Mounted at a path of the app, HSTS would bind the app's whole host, subdomains included:
      // that is the app's decision to make, not its profiler's.
      strictTransportSecurity: false,
    }),
  );
  app.use(
    '*',
    createAuthMiddleware(settings.auth, settings.remoteAddress, settings.wrongCredentialsPerMinute),
  );
  addViewerRoutes(app, settings);
  return app;
}
