import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { decodeRecord, isFullRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { MemoryStore } from '../stores/memory-store.js';

test('the overhead is the time spent in the request; building the record, after it, is stored apart', async () => {
  const store = new MemoryStore();
  const buildStallMs = 200;
  const processor = new AppstatsSpanProcessor({
    exporter: new AppstatsExporter({ store }),
    // Called while the record is built (after the request ended): a stand-in for a slow build.
    normalizePath: (path) => {
      const until = performance.now() + buildStallMs;
      while (performance.now() < until) {}
      return path;
    },
  });
  const provider = new BasicTracerProvider({ spanProcessors: [processor] });
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
    assert.ok(isFullRecord(full));
    assert.ok(
      (full.record_build_milliseconds ?? 0) >= buildStallMs,
      `build ${full.record_build_milliseconds}`,
    );
    assert.ok(
      full.overhead_walltime_milliseconds < buildStallMs,
      `overhead ${full.overhead_walltime_milliseconds}`,
    );
    const { values } = await store.getParts([recordKey(start, 'part')]);
    const part = decodeRecord([...values.values()][0]);
    assert.equal('record_build_milliseconds' in part, false, 'a part stays as small as before');
    assert.equal(part.overhead_walltime_milliseconds, full.overhead_walltime_milliseconds);
  } finally {
    await provider.shutdown();
  }
});
