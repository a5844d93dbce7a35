import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, type DiagLogger, DiagLogLevel, diag, SpanKind, trace } from '@opentelemetry/api';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { summarize } from '../core/build-record.js';
import { decodeRecord, isFullRecord } from '../core/codec.js';
import type { RequestRecord, RequestSummary } from '../core/record.js';
import { recordKey } from '../core/record-key.js';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor, type AppstatsSpanProcessorOptions } from '../exporter/span-processor.js';
import { MemoryStore } from '../stores/memory-store.js';

/**
 * Record fields the pipeline fills from its surroundings (the resource, its own clock), through a
 * real tracer provider, processor and exporter over a MemoryStore: one SERVER request with one call.
 */
async function recordOneRequest(
  options: { resource?: Resource; processor?: Omit<AppstatsSpanProcessorOptions, 'exporter'> } = {},
): Promise<{ full: RequestRecord; part: RequestSummary }> {
  const store = new MemoryStore();
  const processor = new AppstatsSpanProcessor({
    ...options.processor,
    exporter: new AppstatsExporter({ store }),
  });
  const provider = new BasicTracerProvider({ resource: options.resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('test');
  try {
    const start = Date.now();
    const root = tracer.startSpan('GET /cart', {
      kind: SpanKind.SERVER,
      startTime: start,
      attributes: { 'url.path': '/cart' },
    });
    tracer.startSpan('GET', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), root)).end();
    root.end();
    await processor.forceFlush();
    const full = decodeRecord((await store.getFull(recordKey(start, 'full'))) ?? new Uint8Array());
    assert.ok(isFullRecord(full), 'the full record was written');
    const { values } = await store.getParts([recordKey(start, 'part')]);
    const part = decodeRecord([...values.values()][0]);
    return { full, part };
  } finally {
    await provider.shutdown();
  }
}

test('a resource whose async detectors are pending: the record has its service name, and the SDK logs no error', async () => {
  const errors: string[] = [];
  const logger: DiagLogger = {
    error: (message) => errors.push(message),
    warn: () => {},
    info: () => {},
    debug: () => {},
    verbose: () => {},
  };
  diag.setLogger(logger, DiagLogLevel.ERROR);
  // A host detector's id, say, that settles later; the service name itself is known at once.
  let settle: (value: string) => void = () => {};
  const hostId = new Promise<string>((resolve) => {
    settle = resolve;
  });
  // As NodeSDK builds it: the default resource, merged with detected attributes and the app's own
  // name (incoming attributes win, and come first in the merged list).
  const resource = resourceFromAttributes({ 'service.name': 'unknown_service:node' }).merge(
    resourceFromAttributes({ 'service.name': 'shop', 'host.id': hostId }),
  );
  assert.equal(resource.asyncAttributesPending, true, 'the case under test: attributes still pending');
  try {
    const { full } = await recordOneRequest({ resource });
    assert.equal(full.service_name, 'shop');
    assert.deepEqual(errors, []);
  } finally {
    settle('host-1');
    diag.disable();
  }
});

test('a service name an async detector supplies is used once it settles, with appstats the only processor', async () => {
  const resource = resourceFromAttributes({ 'service.name': 'unknown_service:node' }).merge(
    resourceFromAttributes({ 'service.name': Promise.resolve('shop') }),
  );
  // The first record is built while the name is pending: the SDK itself would read the default then.
  assert.equal((await recordOneRequest({ resource })).full.service_name, 'unknown_service:node');
  // Building it asked the resource to settle (nothing else would: BatchSpanProcessor is absent).
  assert.equal(resource.asyncAttributesPending, false);
  assert.equal((await recordOneRequest({ resource })).full.service_name, 'shop');
});

test('the overhead is the time spent in the request; building the record, after it, is stored apart', async () => {
  const buildStallMs = 200;
  const { full, part } = await recordOneRequest({
    processor: {
      // Called while the record is built (after the request ended): a stand-in for a slow build.
      normalizePath: (path) => {
        const until = performance.now() + buildStallMs;
        while (performance.now() < until) {}
        return path;
      },
    },
  });
  assert.ok((full.record_build_milliseconds ?? 0) >= buildStallMs, `build ${full.record_build_milliseconds}`);
  assert.ok(
    full.overhead_walltime_milliseconds < buildStallMs,
    `overhead ${full.overhead_walltime_milliseconds}`,
  );
  assert.equal('record_build_milliseconds' in summarize(full), false, 'a part stays as small as before');
  assert.equal(part.overhead_walltime_milliseconds, full.overhead_walltime_milliseconds);
});
