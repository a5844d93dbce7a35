import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { Hono } from 'hono';
import { ATTR_IGNORE } from '../core/attributes.js';
import type { RequestRecord } from '../core/record.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { MemoryStore } from '../stores/memory-store.js';
import { createViewer } from '../viewer/index.js';
import { TeeExporter } from './helpers/tee-exporter.js';
import { testProvider } from './helpers/tracing.js';

/**
 * The viewer's own requests are never recorded, wherever it is mounted: it marks the active
 * (request) span with appstats.ignore, and the processor drops such requests. The path-based
 * default (`/_ah/stats`) is switched off here so only the mark can be what works.
 */
after(() => {
  trace.disable();
  context.disable();
});

test('requests to the viewer are marked and not recorded; the app beside it still is', async () => {
  const records: RequestRecord[] = [];
  const processor = new AppstatsSpanProcessor({
    ignorePaths: [],
    exporter: new TeeExporter(undefined, records),
  });
  const provider = testProvider([processor]);
  provider.register();
  const tracer = provider.getTracer('test');
  const app = new Hono();
  app.get('/hello', (c) => c.text('hi'));
  app.route('/admin/stats', createViewer({ store: new MemoryStore(), remoteAddress: () => '127.0.0.1' }));

  async function serve(path: string) {
    const root = tracer.startSpan('GET', {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'GET', 'url.path': path },
    });
    const res = await context.with(trace.setSpan(context.active(), root), () => app.request(path));
    root.setAttribute('http.response.status_code', res.status);
    root.end();
    return { res, root: root as unknown as { attributes: Record<string, unknown> } };
  }

  const stats = await serve('/admin/stats');
  assert.equal(stats.res.status, 200);
  assert.equal(stats.root.attributes[ATTR_IGNORE], true);
  const details = await serve('/admin/stats/details?time=1');
  assert.equal(details.root.attributes[ATTR_IGNORE], true, 'even a 400 of the viewer is marked');
  const refused = createViewer({ store: new MemoryStore() });
  const denied = tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'url.path': '/x' } });
  await context.with(trace.setSpan(context.active(), denied), () => refused.request('/'));
  assert.equal(
    (denied as unknown as { attributes: Record<string, unknown> }).attributes[ATTR_IGNORE],
    true,
    'refused requests too',
  );
  denied.end();
  const hello = await serve('/hello');
  assert.equal(hello.root.attributes[ATTR_IGNORE], undefined);
  await processor.forceFlush();
  assert.deepEqual(
    records.map((r) => r.http_path),
    ['/hello'],
  );
  assert.equal(processor.stats().skipped, 3);
  await provider.shutdown();
});
