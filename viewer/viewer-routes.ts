import { diag } from '@opentelemetry/api';
import type { Context, Hono } from 'hono';
import { recordKey } from '../core/record-key.js';
import { aggregateDashboard } from './aggregate.js';
import { describeQuery, parseDashboardQuery } from './dashboard-query.js';
import { detailsJson, detailsView } from './details-view.js';
import { readSourceLines } from './file-view.js';
import { createLinks, type Links, normalizeBasePath } from './links.js';
import { mountPath, REST_PARAM, REST_ROUTE } from './mount-path.js';
import { PartCache, readFull, readParts } from './read-records.js';
import { redactRecordForDisplay, redactSummaryForDisplay } from './redact-display.js';
import { renderDashboard, renderDetails, renderFile, renderMessage } from './render.js';
import { locateFrameFile } from './stack.js';
import type { ViewerSettings } from './viewer-settings.js';

/** `?time=` as the exact number the link carried; undefined for anything else. */
export function parseStartTime(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,16}(\.\d{1,6})?$/.test(value)) return undefined;
  const start = Number(value);
  return Number.isFinite(start) ? start : undefined;
}

/**
 * A large page as bytes: handed a string, the Response walks it twice (its length, then its
 * encoding), and a page built from many pieces is flattened on the first walk; 1 MB of details page
 * spent a tenth of its time there. `Buffer.from` flattens and encodes in one pass. Small pages (a
 * message, a source file) go through `c.html`.
 */
function htmlBody(c: Context, html: string): Response {
  return c.body(Buffer.from(html, 'utf8'), 200, { 'content-type': 'text/html; charset=UTF-8' });
}

/** The pages: dashboard (`/`), one request (`/details?time=`), a source file (`/file?f=&n=`), JSON of the first two. */
export function addViewerRoutes(app: Hono, settings: ViewerSettings): void {
  const partCache = settings.cacheDecodedParts ? new PartCache() : undefined;

  function linksOf(c: Context, localPath: string): Links {
    return createLinks(settings.basePath ?? normalizeBasePath(mountPath(c, localPath)));
  }

  async function dashboard(c: Context): Promise<Response> {
    const links = linksOf(c, '/');
    const query = parseDashboardQuery((name) => c.req.query(name));
    const read = await readParts(settings.store, settings.partKeys, partCache);
    // Shown (HTML and JSON alike) through the one redactor: a part from another writer may hold ?token=.
    const board = aggregateDashboard(read.summaries.map(redactSummaryForDisplay), query);
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
          slotMs: keyDistance,
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
        // The same redacted record for the page and its JSON: neither shows what the other hides.
        const record = redactRecordForDisplay(read.record);
        // The JSON says what the page says: calls only, the findings whole, the totals.
        if (json) return c.json(detailsJson(detailsView(record)));
        let page: string;
        try {
          page = renderDetails({
            title: settings.title,
            links,
            record,
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
            ? 'Only files under the configured source root can be shown, and of those only source files ' +
              '(.js .mjs .cjs .jsx .ts .mts .cts .tsx), none hidden or in a hidden folder, none with other hard links.'
            : 'The file view is off: the viewer was started without a source root (sourceRoot / --source-root).',
        }),
        404,
      );
    if (!settings.sourceRoot) return notFound();
    const source = await readSourceLines(settings.sourceRoot, c.req.query('f') ?? '');
    if (!source) return notFound();
    const line = Number(c.req.query('n'));
    return c.html(
      renderFile({
        title: settings.title,
        links,
        name: locateFrameFile(source.path, settings.sourceRoot).display,
        lines: source.lines,
        line: Number.isSafeInteger(line) && line > 0 ? line : 0,
        linesCut: source.linesCut,
      }),
    );
  });

  // Last, after the named pages: `/_ah/stats/` as well as `/_ah/stats`: Hono's routing is strict about the trailing slash.
  app.get(REST_ROUTE, function dashboardWithSlash(c) {
    return c.req.param(REST_PARAM) === '' ? dashboard(c) : c.notFound();
  });
}
