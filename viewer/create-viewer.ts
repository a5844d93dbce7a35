import { diag, trace } from '@opentelemetry/api';
import { type Context, Hono } from 'hono';
import { ATTR_IGNORE } from '../core/attributes.js';
import { allPartKeys, type KeyOptions, recordKey, resolveKeyOptions } from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import type { MemjsClient } from '../stores/memjs-client.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { RecordStore } from '../stores/record-store.js';
import { storeFromOptions } from '../stores/resolve-store.js';
import { aggregateDashboard } from './aggregate.js';
import { CONTENT_SECURITY_POLICY } from './assets.js';
import {
  createAuthMiddleware,
  type RemoteAddressResolver,
  socketRemoteAddress,
  type ViewerAuth,
  validateAuth,
} from './auth.js';
import { parseDashboardQuery } from './dashboard-query.js';
import { readSourceLines, resolveSourceRoot } from './file-view.js';
import { createLinks, type Links, normalizeBasePath } from './links.js';
import { mountPath, REST_PARAM, REST_ROUTE } from './mount-path.js';
import { describeQuery } from './pages/dashboard.js';
import { PartCache, readFull, readParts } from './read-records.js';
import { renderDashboard, renderDetails, renderFile, renderMessage } from './render.js';
import { locateFrameFile } from './stack.js';
import type { TraceLink } from './trace-link.js';

export interface ViewerOptions extends KeyOptions {
  /** Where records are read; wins over `memcache`. */
  store?: RecordStore;
  /**
   * memcached servers `host:port[,host:port]` or a memjs client. Default: `APPSTATS_MEMCACHE` or
   * `MEMCACHE_SERVERS` from the environment, else an in-process memory store (the embedded default:
   * only records of this process show).
   */
  memcache?: string | MemjsClient;
  /**
   * The path the viewer is reached at, for its absolute links. Default: where it is mounted
   * (`app.route('/_ah/stats', viewer)` -> `/_ah/stats`); set it when a proxy strips a prefix.
   */
  basePath?: string;
  /** Who may read it: a function, `{ username, password }` (basic) or `{ token }` (bearer). Default: loopback clients only. */
  auth?: ViewerAuth;
  /**
   * The client's address for the loopback-only default. Default: the TCP peer from
   * @hono/node-server (never a forwarded header). Other runtimes, or tests, can supply their own.
   */
  remoteAddress?: RemoteAddressResolver;
  /** The file view shows source files under this directory only (real paths). Default: off. */
  sourceRoot?: string;
  /** The app's name in the page header. Default `Appstats`. */
  title?: string;
  /**
   * A link to the request's trace in your tracing UI, e.g.
   * `({ traceId }) => \`https://jaeger.example/trace/${traceId}\``; http(s) only. Default: none.
   */
  traceLink?: TraceLink;
  /**
   * Keep decoded parts between dashboard views and decode only the slots whose bytes changed.
   * Default true; memory is bounded by the slots (`keyModulus` parts).
   */
  cacheDecodedParts?: boolean;
}

interface Settings {
  store: RecordStore;
  keyOptions: ReturnType<typeof resolveKeyOptions>;
  partKeys: string[];
  basePath: string | undefined;
  sourceRoot: string | undefined;
  title: string;
  storeLabel: string;
  traceLink: TraceLink | undefined;
}

function describeStore(options: ViewerOptions, store: RecordStore): string {
  if (options.store) return store instanceof MemoryStore ? 'an in-process memory store' : 'the given store';
  const servers =
    typeof options.memcache === 'string'
      ? options.memcache
      : options.memcache
        ? 'the given memjs client'
        : process.env.APPSTATS_MEMCACHE || process.env.MEMCACHE_SERVERS;
  if (store instanceof MemcacheStore && servers) return `memcache ${servers}`;
  return "this process's memory (no memcache configured)";
}

/** Options checked once, at set-up: a mistake throws here, never on a request. */
function resolveSettings(options: ViewerOptions): Settings {
  const keyOptions = resolveKeyOptions(options);
  const store = storeFromOptions(options);
  return {
    store,
    keyOptions,
    partKeys: allPartKeys(keyOptions),
    basePath: options.basePath === undefined ? undefined : normalizeBasePath(options.basePath),
    sourceRoot: options.sourceRoot === undefined ? undefined : resolveSourceRoot(options.sourceRoot),
    title: options.title ?? 'Appstats',
    storeLabel: describeStore(options, store),
    traceLink: typeof options.traceLink === 'function' ? options.traceLink : undefined,
  };
}

/** `?time=` as the exact number the link carried; undefined for anything else. */
export function parseStartTime(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}(\.\d{1,6})?$/.test(value)) return undefined;
  const start = Number(value);
  return Number.isFinite(start) ? start : undefined;
}

/**
 * The appstats viewer as a Hono app: mount it (`app.route('/_ah/stats', createViewer())`) or serve
 * it alone (`appstats-viewer`). Pages: the dashboard (`/`), one request (`/details?time=`), a source
 * file (`/file?f=&n=`, with `sourceRoot` only), and JSON of the first two (`?type=json`).
 *
 * @example
 * import { createViewer } from 'otel-appstats/viewer';
 * app.route('/_ah/stats', createViewer({ memcache: 'localhost:11211', auth: { token: process.env.STATS_TOKEN! } }));
 */
/**
 * A large page as bytes: handed a string, the Response walks it twice (its length, then its
 * encoding), and a page built from many pieces is flattened on the first walk; 1 MB of details page
 * spent a tenth of its time there. `Buffer.from` flattens and encodes in one pass.
 */
function htmlBody(c: Context, html: string): Response {
  return c.body(Buffer.from(html, 'utf8'), 200, { 'content-type': 'text/html; charset=UTF-8' });
}

export function createViewer(options: ViewerOptions = {}): Hono {
  const auth = validateAuth(options.auth);
  const settings = resolveSettings(options);
  const app = new Hono();
  const partCache = options.cacheDecodedParts === false ? undefined : new PartCache();

  function linksOf(c: Context, localPath: string): Links {
    return createLinks(settings.basePath ?? normalizeBasePath(mountPath(c, localPath)));
  }

  app.use('*', async function appstatsViewerHeaders(c, next) {
    // The viewer's own requests never become records, wherever it is mounted.
    trace.getActiveSpan()?.setAttribute(ATTR_IGNORE, true);
    await next();
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('X-Frame-Options', 'DENY');
    c.header('Referrer-Policy', 'no-referrer');
    c.header('Cache-Control', 'no-store');
  });
  app.use('*', createAuthMiddleware(auth, options.remoteAddress ?? socketRemoteAddress));

  async function dashboard(c: Context): Promise<Response> {
    const links = linksOf(c, '/');
    const query = parseDashboardQuery((name) => c.req.query(name));
    const read = await readParts(settings.store, settings.partKeys, partCache);
    const board = aggregateDashboard(read.summaries, query);
    if (c.req.query('type') === 'json') {
      return c.json({
        records_read: read.summaries.length,
        records_skipped: read.skipped,
        skipped_reasons: read.skippedReasons,
        store_errors: read.storeErrors,
        store_error_messages: read.storeErrorMessages,
        query: describeQuery(query),
        requests: board.requests,
        calls: board.calls,
        cost_microdollars: board.cost,
        rpc_stats: board.rpcs,
        path_stats: board.paths,
        summaries: board.history.map((row) => row.summary),
      });
    }
    const { keyDistance, keyModulus, keyPrefix } = settings.keyOptions;
    return htmlBody(
      c,
      renderDashboard({
        title: settings.title,
        links,
        query,
        dashboard: board,
        read,
        source: {
          store: settings.storeLabel,
          keyPrefix,
          slots: keyModulus,
          windowSeconds: (keyDistance * keyModulus) / 1000,
        },
      }),
    );
  }

  app.get('/', dashboard);
  app.get('/details', async function details(c) {
    const links = linksOf(c, '/details');
    const json = c.req.query('type') === 'json';
    const start = parseStartTime(c.req.query('time'));
    function fail(status: 400 | 404 | 502, heading: string, text: string) {
      if (json) return c.json({ error: heading, detail: text }, status);
      return c.html(renderMessage({ title: settings.title, links, heading, text }), status);
    }
    if (start === undefined)
      return fail(400, 'Bad request', 'The details page needs ?time=<start ms> of a recorded request.');
    const read = await readFull(settings.store, recordKey(start, 'full', settings.keyOptions), start);
    switch (read.kind) {
      case 'ok': {
        if (json) return c.json(read.record);
        let page: string;
        try {
          page = renderDetails({
            title: settings.title,
            links,
            record: read.record,
            sourceRoot: settings.sourceRoot,
            traceLink: settings.traceLink,
          });
        } catch (error) {
          // A record that decodes but holds calls of another shape (another writer, another
          // version): said so, like any unreadable value, and never a 500.
          diag.warn(`appstats viewer: record ${start} could not be rendered: ${(error as Error)?.message}`);
          return fail(
            404,
            'Unreadable record',
            `The record at this time is not in a shape this viewer reads (${(error as Error)?.message}); its JSON is at &type=json.`,
          );
        }
        return htmlBody(c, page);
      }
      case 'stale':
        return fail(
          404,
          'Invalid or stale record key!',
          'The slot of this request now holds a later request (slots are reused every ' +
            `${(settings.keyOptions.keyDistance * settings.keyOptions.keyModulus) / 1000} seconds), or the link is wrong.`,
        );
      case 'missing':
        return fail(
          404,
          'Invalid or stale record key!',
          'No record at this time: it expired, was evicted, or never existed.',
        );
      case 'unreadable':
        return fail(
          404,
          'Unreadable record',
          `The value at this request's key is not a record this viewer reads: ${read.reason}.`,
        );
      case 'store-error':
        return fail(502, 'The store did not answer', read.message);
    }
  });

  app.get('/file', async function file(c) {
    const links = linksOf(c, '/file');
    const notFound = () =>
      c.html(
        renderMessage({
          title: settings.title,
          links,
          heading: 'File not found',
          text: settings.sourceRoot
            ? 'Only files under the configured source root can be shown.'
            : 'The file view is off: the viewer was started without a source root (sourceRoot / --source-root).',
        }),
        404,
      );
    if (!settings.sourceRoot) return notFound();
    const requested = c.req.query('f') ?? '';
    const source = await readSourceLines(settings.sourceRoot, requested);
    if (!source) return notFound();
    const line = Number(c.req.query('n'));
    return c.html(
      renderFile({
        title: settings.title,
        links,
        name: locateFrameFile(source.path, settings.sourceRoot).display,
        lines: source.lines,
        line: Number.isSafeInteger(line) && line > 0 ? line : 0,
      }),
    );
  });

  // Last, after the named pages: `/_ah/stats/` as well as `/_ah/stats`: Hono's routing is strict about the trailing slash.
  app.get(REST_ROUTE, function dashboardWithSlash(c) {
    return c.req.param(REST_PARAM) === '' ? dashboard(c) : c.notFound();
  });

  return app;
}
