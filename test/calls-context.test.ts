import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { buildRecord, summarize } from '../core/build-record.js';
import { callName, isCallSpan } from '../core/call-names.js';
import { idSegmentsToParams, pathNormalizer } from '../core/normalize-path.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { eventually, newRegisteredProvider, TeeExporter } from './helpers/pipeline.js';
import { CollectingProcessor, testProvider } from './helpers/tracing.js';

type Tracer = ReturnType<ReturnType<typeof testProvider>['getTracer']>;

function spansOf(run: (tracer: Tracer) => void) {
  const collector = new CollectingProcessor();
  run(testProvider([collector]).getTracer('t'));
  return collector;
}

const fake = (kind: SpanKind, attributes: Record<string, string>, name = 'x') => ({ name, kind, attributes });

describe('call names from semantic conventions, old and new', () => {
  it('names pg by its statement (the pg instrumentation sets only db.statement), redis by its command', () => {
    const pg = fake(SpanKind.CLIENT, {
      'db.system': 'postgresql',
      'db.statement': 'SELECT id FROM products WHERE id = $1',
    });
    assert.equal(callName(pg), 'postgresql.SELECT');
    assert.equal(
      callName(
        fake(SpanKind.CLIENT, {
          'db.system': 'postgresql',
          'db.statement': '  /* x */ insert into t values (1)',
        }),
      ),
      'postgresql.INSERT',
    );
    assert.equal(
      callName(fake(SpanKind.CLIENT, { 'db.system.name': 'redis', 'db.operation.name': 'hgetall' })),
      'redis.HGETALL',
    );
    assert.equal(
      callName(fake(SpanKind.CLIENT, { 'db.system': 'mongodb', 'db.operation': 'find' })),
      'mongodb.find',
    );
    assert.equal(
      callName(fake(SpanKind.CLIENT, { 'db.system': 'postgresql' }, 'pg-pool.connect')),
      'pg-pool.connect',
      'connection set-up keeps its span name',
    );
    assert.equal(
      callName(fake(SpanKind.CLIENT, { 'db.system.name': 'in-process-cache', 'db.operation.name': 'get' })),
      'in-process-cache.get',
      'other systems keep their spelling',
    );
  });
  it('names outgoing HTTP (fetch and http alike), messaging and rpc', () => {
    assert.equal(callName(fake(SpanKind.CLIENT, { 'http.request.method': 'get' }, 'GET')), 'http.GET');
    assert.equal(
      callName(fake(SpanKind.PRODUCER, { 'messaging.system': 'kafka', 'messaging.operation.name': 'send' })),
      'kafka.send',
    );
    assert.equal(
      callName(fake(SpanKind.CLIENT, { 'rpc.service': 'Greeter', 'rpc.method': 'Hi' })),
      'Greeter.Hi',
    );
  });
  it('tells calls (CLIENT, PRODUCER, ours) from context (INTERNAL, SERVER)', () => {
    assert.equal(isCallSpan(fake(SpanKind.CLIENT, {})), true);
    assert.equal(isCallSpan(fake(SpanKind.PRODUCER, {})), true);
    assert.equal(isCallSpan(fake(SpanKind.INTERNAL, { 'appstats.call': 'memcache.Get' })), true);
    assert.equal(isCallSpan(fake(SpanKind.INTERNAL, {}, 'middleware - query')), false);
    assert.equal(isCallSpan(fake(SpanKind.SERVER, {})), false);
  });
});

describe('calls, context and honest totals', () => {
  it('keeps handlers as context, nests a call in a call, and counts each outermost call once', () => {
    const spans = spansOf((tracer) => {
      const root = tracer.startSpan('GET', {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': 'GET', 'url.path': '/product/3' },
      });
      const inRoot = trace.setSpan(context.active(), root);
      const middleware = tracer.startSpan('middleware - query', {}, inRoot);
      middleware.end();
      const handler = tracer.startSpan('request handler - /product/:id', {}, inRoot);
      const inHandler = trace.setSpan(inRoot, handler);
      const fetch = tracer.startSpan(
        'GET',
        { kind: SpanKind.CLIENT, attributes: { 'http.request.method': 'GET' } },
        inHandler,
      );
      tracer.startSpan('tcp.connect', { kind: SpanKind.CLIENT }, trace.setSpan(inHandler, fetch)).end();
      fetch.end();
      handler.end();
      root.end();
    });
    const [middleware, connect, fetch, handler, root] = spans.ended;
    const offsets = new Map([
      [middleware, 0.1],
      [handler, 0.2],
      [fetch, 1],
      [connect, 1.5],
    ]);
    const record = buildRecord({
      root,
      descendants: [middleware, handler, fetch, connect],
      startOffsetOf: (s) => offsets.get(s) ?? 0,
    });
    assert.deepEqual(
      record.individual_stats.map((c) => [c.service_call_name, c.parent_span_id]),
      [
        ['http.GET', handler.spanContext().spanId],
        ['tcp.connect', fetch.spanContext().spanId],
      ],
    );
    assert.deepEqual(
      record.context_spans?.map((s) => s.name),
      ['middleware - query', 'request handler - /product/:id'],
    );
    assert.deepEqual(
      record.rpc_stats.map((s) => [s.service_call_name, s.total_amount_of_calls]),
      [['http.GET', 1]],
      'the nested tcp.connect is not counted again',
    );
    const fetchMs = record.individual_stats[0].duration_milliseconds;
    assert.equal(record.rpc_total_milliseconds, fetchMs);
    assert.equal(record.rpc_in_flight_milliseconds, fetchMs);
    assert.ok((record.rpc_total_milliseconds ?? 0) <= record.duration_milliseconds);
    const part = summarize(record);
    assert.equal(part.rpc_total_milliseconds, fetchMs, 'the part carries the totals');
    assert.equal('context_spans' in part, false);
  });

  it('sums sequential calls and takes the union of overlapping ones', () => {
    const spans = spansOf((tracer) => {
      const root = tracer.startSpan('job', { kind: SpanKind.CONSUMER });
      const ctx = trace.setSpan(context.active(), root);
      for (let i = 0; i < 3; i++) tracer.startSpan(`c${i}`, { kind: SpanKind.CLIENT }, ctx).end();
      root.end();
    });
    const [a, b, c, root] = spans.ended;
    const durations = new Map([
      [a, [0, 10]],
      [b, [5, 15]],
      [c, [30, 35]],
    ]);
    const record = buildRecord({
      root,
      descendants: [a, b, c],
      startOffsetOf: (s) => durations.get(s)?.[0] ?? 0,
    });
    const spanMs = record.individual_stats.map((call) => call.duration_milliseconds);
    const total = Math.round(spanMs.reduce((x, y) => x + y, 0) * 1000) / 1000;
    assert.equal(record.rpc_total_milliseconds, total);
    assert.ok((record.rpc_in_flight_milliseconds ?? 0) <= total);
  });

  it('bounds context spans and counts the rest; a call under a dropped one names its nearest kept ancestor', () => {
    const spans = spansOf((tracer) => {
      const root = tracer.startSpan('GET', { kind: SpanKind.SERVER });
      let ctx = trace.setSpan(context.active(), root);
      for (let i = 0; i < 5; i++) {
        const layer = tracer.startSpan(`layer-${i}`, {}, ctx);
        ctx = trace.setSpan(ctx, layer);
      }
      tracer.startSpan('q', { kind: SpanKind.CLIENT }, ctx).end();
    });
    const root = spans.started[0];
    const record = buildRecord({ root, descendants: spans.started.slice(1) }, { maxContextSpans: 2 });
    assert.equal(record.context_spans?.length, 2);
    assert.equal(record.incomplete?.dropped_context, 3);
    assert.equal(record.individual_stats[0].parent_span_id, spans.started[2].spanContext().spanId);
  });
});

describe('paths grouped without http.route', () => {
  it('turns numeric, UUID and long hex segments into :id, and matches route templates', () => {
    assert.equal(
      idSegmentsToParams('/user/12/orders/3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b'),
      '/user/:id/orders/:id',
    );
    assert.equal(idSegmentsToParams('/blob/0123456789abcdef0123'), '/blob/:id');
    assert.equal(idSegmentsToParams('/about/team'), '/about/team');
    assert.equal(idSegmentsToParams('dns.lookup'), 'dns.lookup', 'a job name is not a path');
    const { normalize, invalid } = pathNormalizer(['/score/:name/:points', 'nope']);
    assert.equal(normalize('/score/ann/10'), '/score/:name/:points');
    assert.equal(normalize('/score/bob/7'), '/score/:name/:points');
    assert.equal(normalize('/score/ann'), '/score/ann');
    assert.deepEqual(invalid, ['nope']);
  });
});

describe('which roots make a record', () => {
  it('records requests always, jobs only when they call; counts the rest', async () => {
    const tee = new TeeExporter();
    const processor = new AppstatsSpanProcessor({ exporter: tee });
    const provider = newRegisteredProvider([processor]);
    const tracer = provider.getTracer('t');
    tracer.startSpan('dns.lookup', { kind: SpanKind.CLIENT }).end(); // app.listen('127.0.0.1')
    tracer.startActiveSpan('pg-pool.connect', { kind: SpanKind.CLIENT }, (warmUp) => {
      tracer.startSpan('pg.connect', { kind: SpanKind.CLIENT }).end(); // nested: part of the lone call
      warmUp.end();
    });
    for (let i = 0; i < 3; i++) tracer.startSpan('fs.readFile').end(); // start-up fs spans
    tracer
      .startSpan('GET', {
        kind: SpanKind.SERVER,
        attributes: { 'url.path': '/health', 'http.request.method': 'GET' },
      })
      .end();
    tracer.startActiveSpan('nightly-job', (job) => {
      tracer.startSpan('SELECT', { kind: SpanKind.CLIENT }).end();
      job.end();
    });
    tracer
      .startSpan('GET', {
        kind: SpanKind.SERVER,
        attributes: { 'url.path': '/user/12', 'http.request.method': 'GET' },
      })
      .end();
    await eventually(() => tee.records.length === 3, 'three records');
    assert.deepEqual(
      tee.records.map((r) => [r.http_path, r.http_route]),
      [
        ['/health', undefined],
        ['nightly-job', undefined],
        ['/user/12', '/user/:id'],
      ],
    );
    assert.equal(processor.stats().rootsWithoutCalls, 5);
    await provider.shutdown();
  });
});
