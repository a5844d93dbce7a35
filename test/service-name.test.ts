import assert from 'node:assert/strict';
import { test } from 'node:test';
import { context, type DiagLogger, DiagLogLevel, diag, SpanKind, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { decodeRecord, isFullRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { MemoryStore } from '../stores/memory-store.js';

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
  const store = new MemoryStore();
  const processor = new AppstatsSpanProcessor({ exporter: new AppstatsExporter({ store }) });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [processor] });
  const tracer = provider.getTracer('test');
  try {
    const start = Date.now();
    const root = tracer.startSpan('GET /cart', {
      kind: SpanKind.SERVER,
      startTime: start,
      attributes: { 'url.path': '/cart' },
    });
    const call = tracer.startSpan('GET', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), root));
    call.end();
    root.end();
    await processor.forceFlush();
    const stored = await store.getFull(recordKey(start, 'full'));
    assert.ok(stored, 'the record was written');
    const record = decodeRecord(stored);
    assert.ok(isFullRecord(record));
    assert.equal(record.service_name, 'shop');
    assert.deepEqual(errors, []);
  } finally {
    settle('host-1');
    await provider.shutdown();
    diag.disable();
  }
});
