import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { ATTR_IGNORE, ATTR_REQUEST_SUMMARY } from '../core/attributes.js';
import { decodeRecord, isFullRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { MemoryStore } from '../stores/memory-store.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { eventually, listen, newRegisteredProvider, patchedHttp, TeeExporter } from './helpers/pipeline.js';

const tracer = () => trace.getTracer('app');

/** A CLIENT call inside the active request, ending after `ms` of async work. */
async function call(summary: string, ms: number): Promise<void> {
  const span = tracer().startSpan('call', {
    kind: SpanKind.CLIENT,
    attributes: { [ATTR_REQUEST_SUMMARY]: summary },
  });
  await context.with(trace.setSpan(context.active(), span), () => sleep(ms));
  span.end();
}

describe('AppstatsSpanProcessor behind a real NodeTracerProvider, instrumentation-http and HTTP server', () => {
  let memcached: MemcachedServer;
  before(async () => {
    memcached = await startMemcached();
  });
  after(async () => {
    await memcached?.stop();
  });

  it('records 200 concurrent requests with interleaved async calls, each holding exactly its own calls', async () => {
    const tee = new TeeExporter(
      new AppstatsExporter({ memcache: memcached.address, keyPrefix: 'concurrent' }),
    );
    // Every stack (a burst of 200 would spend the default 2% share): this test is about grouping.
    const processor = new AppstatsSpanProcessor({ exporter: tee, maxStackTimeShare: 1 });
    const provider = newRegisteredProvider([processor]);
    const server = await listen(async (req, res) => {
      const n = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('n'));
      // n % 4 + 1 calls, some sequential, some parallel, with random delays so requests interleave.
      await call(`req=${n} call=0`, Math.random() * 5);
      await Promise.all(
        Array.from({ length: n % 4 }, (_, i) => call(`req=${n} call=${i + 1}`, Math.random() * 5)),
      );
      res.end(`ok ${n}`);
    });
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, n) => fetch(`${server.url}/work?n=${n}`).then((r) => r.text())),
    );
    assert.deepEqual(
      responses,
      Array.from({ length: 200 }, (_, n) => `ok ${n}`),
    );
    await eventually(() => tee.records.length === 200, '200 records');
    await processor.forceFlush();

    const byRequest = new Map(
      tee.records.map((r) => [Number(new URLSearchParams(r.http_query).get('n')), r]),
    );
    assert.equal(byRequest.size, 200, 'one record per request');
    for (const [n, record] of byRequest) {
      assert.equal(record.http_method, 'GET');
      assert.equal(record.http_path, '/work');
      assert.equal(record.http_status, 200);
      const summaries = record.individual_stats.map((c) => c.request_data_summary).sort();
      const expected = Array.from({ length: (n % 4) + 1 }, (_, i) => `req=${n} call=${i}`).sort();
      assert.deepEqual(summaries, expected, `request ${n} holds exactly its own calls`);
      assert.equal(record.incomplete, undefined);
      assert.ok(
        record.individual_stats.every((c) => c.duration_milliseconds > 0 && c.start_offset_milliseconds >= 0),
      );
    }
    // What memcache holds per slot is the last record written to that slot, decodable and complete.
    const store = new MemcacheStore(memcached.address);
    const lastPerSlot = new Map(
      tee.records.map((r) => [
        recordKey(r.start_timestamp_milliseconds, 'full', { keyPrefix: 'concurrent' }),
        r,
      ]),
    );
    for (const [key, record] of lastPerSlot) {
      const bytes = await store.getFull(key);
      assert.ok(bytes, `memcache holds ${key}`);
      const stored = decodeRecord(bytes);
      assert.ok(isFullRecord(stored));
      assert.equal(stored.span_id, record.span_id);
      assert.deepEqual(
        stored.individual_stats.map((c) => c.request_data_summary),
        record.individual_stats.map((c) => c.request_data_summary),
      );
    }
    await store.close();
    assert.equal(processor.stats().openRequests, 0);
    assert.equal(processor.stats().bufferedSpans, 0);
    await server.close();
    await provider.shutdown();
  });

  it('waits for calls that end after the response, up to maxPendingMs', async () => {
    const tee = new TeeExporter();
    const processor = new AppstatsSpanProcessor({ exporter: tee, maxPendingMs: 5_000 });
    const provider = newRegisteredProvider([processor]);
    let callEnded!: () => void;
    const ended = new Promise<void>((resolve) => {
      callEnded = resolve;
    });
    const server = await listen((_req, res) => {
      const span = tracer().startSpan('audit', {
        kind: SpanKind.CLIENT,
        attributes: { [ATTR_REQUEST_SUMMARY]: 'late write' },
      });
      res.end('ok');
      setTimeout(() => {
        span.end();
        callEnded();
      }, 50);
    });
    assert.equal(await (await fetch(`${server.url}/late`)).text(), 'ok');
    await ended;
    await eventually(() => tee.records.length === 1, 'the record');
    const [record] = tee.records;
    assert.equal(record.individual_stats.length, 1);
    assert.equal(record.individual_stats[0].pending, undefined);
    assert.ok(record.individual_stats[0].duration_milliseconds >= 40, 'the call kept its full length');
    assert.ok(record.individual_stats[0].duration_milliseconds > record.duration_milliseconds);
    assert.equal(record.incomplete, undefined);
    await server.close();
    await provider.shutdown();
  });

  it('writes a call that never ends as pending after maxPendingMs, and counts it when it ends late', async () => {
    const tee = new TeeExporter();
    const processor = new AppstatsSpanProcessor({ exporter: tee, maxPendingMs: 50 });
    const provider = newRegisteredProvider([processor]);
    const stuck: ReturnType<ReturnType<typeof tracer>['startSpan']>[] = [];
    const server = await listen((_req, res) => {
      stuck.push(tracer().startSpan('hung', { kind: SpanKind.CLIENT }));
      tracer().startSpan('fine', { kind: SpanKind.CLIENT }).end();
      res.end('ok');
    });
    assert.equal((await fetch(`${server.url}/hang`)).status, 200);
    await eventually(() => tee.records.length === 1, 'the record written without the hung call');
    const [record] = tee.records;
    assert.deepEqual(record.incomplete, { pending_calls: 1 });
    const hung = record.individual_stats.find((c) => c.service_call_name === 'hung');
    assert.equal(hung?.pending, true);
    assert.equal(hung?.duration_milliseconds, 0);
    assert.equal(processor.stats().incompleteRecords, 1);
    assert.equal(processor.stats().bufferedSpans, 0, 'nothing held after writing');
    stuck[0].end();
    assert.equal(processor.stats().lateSpans, 1, 'the late end is counted, not lost silently');
    await server.close();
    await provider.shutdown();
  });

  it('writes a root that never ends once it is older than maxRequestAgeMs', async () => {
    const tee = new TeeExporter();
    const processor = new AppstatsSpanProcessor({ exporter: tee, maxRequestAgeMs: 20 });
    const provider = newRegisteredProvider([processor]);
    const root = tracer().startSpan('never-ending-job');
    context.with(trace.setSpan(context.active(), root), () =>
      tracer().startSpan('step', { kind: SpanKind.CLIENT }).end(),
    );
    await eventually(() => tee.records.length === 1, 'the age sweep', 5_000);
    assert.equal(tee.records[0].http_path, 'never-ending-job');
    assert.equal(tee.records[0].incomplete?.root_pending, true);
    assert.equal(tee.records[0].individual_stats.length, 1);
    assert.equal(processor.stats().openRequests, 0);
    await provider.shutdown();
  });

  it('records a job (a root that is not HTTP) under its span name', async () => {
    const tee = new TeeExporter();
    const provider = newRegisteredProvider([new AppstatsSpanProcessor({ exporter: tee })]);
    await tracer().startActiveSpan('send-digest-emails', async (root) => {
      await call('recipients', 1);
      root.end();
    });
    await eventually(() => tee.records.length === 1, 'the job record');
    assert.equal(tee.records[0].http_path, 'send-digest-emails');
    assert.equal(tee.records[0].http_method, '');
    assert.equal(tee.records[0].service_name, 'test-app');
    assert.equal(tee.records[0].individual_stats[0].request_data_summary, 'recipients');
    await provider.shutdown();
  });

  it('keeps sub-millisecond offsets, and the start time a span was given explicitly', async () => {
    const tee = new TeeExporter();
    const provider = newRegisteredProvider([new AppstatsSpanProcessor({ exporter: tee })]);
    const t0 = Date.now();
    const root = tracer().startSpan('job', { startTime: t0 });
    const ctx = trace.setSpan(context.active(), root);
    tracer()
      .startSpan('given', { kind: SpanKind.CLIENT, startTime: t0 + 1 }, ctx)
      .end(t0 + 3);
    const started = performance.now();
    while (performance.now() - started < 0.3); // a little real time between the two stamped starts
    const stamped = tracer().startSpan('stamped', { kind: SpanKind.CLIENT }, ctx);
    stamped.end();
    root.end();
    await eventually(() => tee.records.length === 1, 'the record');
    const calls = Object.fromEntries(tee.records[0].individual_stats.map((c) => [c.service_call_name, c]));
    assert.equal(calls.given.start_offset_milliseconds, 1, 'an explicit start time is kept exactly');
    assert.equal(calls.given.duration_milliseconds, 2);
    // The SDK stamped this one from its high-resolution clock: its offset from the root, to the microsecond.
    const [seconds, nanos] = (stamped as unknown as { startTime: [number, number] }).startTime;
    const offset = seconds * 1000 + nanos / 1e6 - t0;
    assert.ok(
      Math.abs(calls.stamped.start_offset_milliseconds - offset) <= 0.0011,
      `stamped at ${offset} ms, recorded at ${calls.stamped.start_offset_milliseconds} ms`,
    );
    await provider.shutdown();
  });

  it('gives an app that calls itself one record per request, the outer one showing the call', async () => {
    const tee = new TeeExporter();
    const provider = newRegisteredProvider([new AppstatsSpanProcessor({ exporter: tee })]);
    const http = patchedHttp();
    const server = await listen((req, res) => {
      if (req.url === '/inner') {
        tracer().startSpan('inner-work', { kind: SpanKind.CLIENT }).end();
        res.end('inner');
        return;
      }
      http.get(`${server.url}/inner`, (inner) => {
        inner.resume();
        inner.on('end', () => res.end('outer'));
      });
    });
    assert.equal(await (await fetch(`${server.url}/outer`)).text(), 'outer');
    await eventually(() => tee.records.length === 2, 'two records');
    const outer = tee.records.find((r) => r.http_path === '/outer');
    const inner = tee.records.find((r) => r.http_path === '/inner');
    assert.ok(outer && inner);
    assert.deepEqual(
      outer.individual_stats.map((c) => c.service_call_name),
      ['http.GET'],
    );
    assert.deepEqual(
      inner.individual_stats.map((c) => c.service_call_name),
      ['inner-work'],
    );
    assert.equal(outer.trace_id, inner.trace_id, 'one trace, two records');
    await server.close();
    await provider.shutdown();
  });

  it('skips the viewer paths, marked roots, sampled-out and refused requests', async () => {
    const tee = new TeeExporter();
    const processor = new AppstatsSpanProcessor({
      exporter: tee,
      shouldRecord: (root) => root.attributes['url.path'] !== '/private',
    });
    const provider = newRegisteredProvider([processor]);
    const server = await listen((req, res) => {
      if (req.url === '/marked') trace.getActiveSpan()?.setAttribute(ATTR_IGNORE, true);
      res.end('ok');
    });
    for (const path of ['/_ah/stats', '/_ah/stats/details?time=1', '/marked', '/private', '/kept']) {
      assert.equal((await fetch(`${server.url}${path}`)).status, 200);
    }
    await eventually(
      () => processor.stats().skipped === 4 && tee.records.length === 1,
      'four skipped, one recorded',
    );
    assert.equal(tee.records[0].http_path, '/kept');
    await server.close();
    await provider.shutdown();

    const none = new TeeExporter();
    const sampledOut = new AppstatsSpanProcessor({ exporter: none, recordFraction: 0 });
    const provider2 = newRegisteredProvider([sampledOut]);
    tracer().startSpan('job').end();
    assert.equal(none.records.length, 0);
    assert.equal(sampledOut.stats().skipped, 1);
    await provider2.shutdown();
  });

  it('keeps memory bounded by its caps and counts what it did not record', async () => {
    const tee = new TeeExporter();
    const processor = new AppstatsSpanProcessor({ exporter: tee, maxOpenRequests: 2, maxCallsPerRequest: 3 });
    const provider = newRegisteredProvider([processor]);
    const roots = Array.from({ length: 5 }, (_, i) =>
      tracer().startSpan(`job-${i}`, { kind: SpanKind.SERVER }),
    );
    assert.equal(processor.stats().openRequests, 2);
    assert.equal(processor.stats().droppedRequests, 3);
    const ctx = trace.setSpan(context.active(), roots[0]);
    for (let i = 0; i < 5; i++) tracer().startSpan(`c${i}`, { kind: SpanKind.CLIENT }, ctx).end();
    for (const root of roots) root.end();
    await eventually(() => tee.records.length === 2, 'two records');
    const first = tee.records.find((r) => r.http_path === 'job-0');
    assert.equal(first?.individual_stats.length, 3);
    assert.deepEqual(first?.incomplete, { dropped_calls: 2 });
    assert.equal(processor.stats().droppedCalls, 2);
    assert.equal(processor.stats().bufferedSpans, 0);
    await provider.shutdown();
  });

  it('at the cap, writes the oldest root that has stayed open too long instead of dropping the new one', async () => {
    const tee = new TeeExporter();
    const processor = new AppstatsSpanProcessor({ exporter: tee, maxOpenRequests: 2, maxPendingMs: 20 });
    const provider = newRegisteredProvider([processor]);
    const server = { kind: SpanKind.SERVER };
    tracer().startSpan('leaked-1', server); // never ended: an app bug
    tracer().startSpan('leaked-2', server);
    tracer().startSpan('too-soon', server).end(); // the oldest is young yet: this one is not recorded
    assert.equal(processor.stats().droppedRequests, 1);
    await sleep(60); // past 2 x maxPendingMs
    tracer().startSpan('fresh', server).end();
    await eventually(() => tee.records.length === 2, 'two records');
    assert.deepEqual(
      tee.records.map((r) => [r.http_path, r.incomplete?.root_pending ?? false]),
      [
        ['leaked-1', true],
        ['fresh', false],
      ],
    );
    assert.equal(processor.stats().droppedRequests, 1);
    assert.equal(processor.stats().openRequests, 1, 'leaked-2 is still open, within the cap');
    await provider.shutdown();
  });

  it('serves every request while memcached is stopped mid-run, counts the failures, and resumes after restart', async () => {
    const own = await startMemcached();
    const exporter = new AppstatsExporter({
      oneRecordPerSlot: false,
      memcache: own.address,
      keyPrefix: 'outage',
    });
    const processor = new AppstatsSpanProcessor({ exporter });
    const provider = newRegisteredProvider([processor]);
    const server = await listen(async (_req, res) => {
      await call('work', 1);
      res.end('ok');
    });
    const burst = async (n: number) =>
      (
        await Promise.all(Array.from({ length: n }, () => fetch(`${server.url}/x`).then((r) => r.status)))
      ).every((s) => s === 200);
    assert.ok(await burst(20));
    await eventually(async () => {
      await processor.forceFlush();
      return exporter.stats().exported === 20;
    }, '20 records written');
    await own.stop();
    assert.ok(await burst(50), 'every request still succeeds with memcached down');
    await eventually(async () => {
      await processor.forceFlush();
      const s = exporter.stats();
      return s.failed + s.dropped === 50;
    }, 'the 50 lost writes to be counted');
    assert.ok(exporter.stats().failed > 0);
    const again = await startMemcached({ port: own.port });
    const before = exporter.stats().exported;
    // memjs reconnects on the next write; give it a few requests.
    await eventually(async () => {
      await burst(5);
      await processor.forceFlush();
      return exporter.stats().exported > before;
    }, 'records to resume after restart');
    const { values } = await new MemcacheStore(again.address).getParts([
      ...new Set(Array.from({ length: 1000 }, (_, i) => `outage:${String(i * 100).padStart(6, '0')}:part`)),
    ]);
    assert.ok(values.size > 0, 'records are in the restarted memcached');
    await server.close();
    await provider.shutdown();
    await again.stop();
  });

  it('never throws into the app, even when the exporter does', async () => {
    const processor = new AppstatsSpanProcessor({
      exporter: {
        export() {
          throw new Error('boom');
        },
        forceFlush: async () => {},
        shutdown: async () => {},
      },
    });
    const provider = newRegisteredProvider([processor]);
    assert.doesNotThrow(() => tracer().startActiveSpan('job', (span) => span.end()));
    await provider.shutdown();
  });

  it('uses the embedded MemoryStore by default and records there', async () => {
    const saved = { a: process.env.APPSTATS_MEMCACHE, m: process.env.MEMCACHE_SERVERS };
    delete process.env.APPSTATS_MEMCACHE;
    delete process.env.MEMCACHE_SERVERS;
    const exporter = new AppstatsExporter();
    process.env.APPSTATS_MEMCACHE = saved.a;
    if (saved.m !== undefined) process.env.MEMCACHE_SERVERS = saved.m;
    if (saved.a === undefined) delete process.env.APPSTATS_MEMCACHE;
    assert.ok(exporter.store instanceof MemoryStore);
    assert.equal(new AppstatsExporter().store, exporter.store, 'one embedded store per process, shared');
    const provider = newRegisteredProvider([new AppstatsSpanProcessor({ exporter })]);
    let start = 0;
    tracer().startActiveSpan('job', (span) => {
      start = Date.now();
      tracer().startSpan('call', { kind: SpanKind.CLIENT }).end(); // a job is recorded once it calls
      span.end();
    });
    await exporter.forceFlush();
    const { values } = await exporter.store.getParts([
      recordKey(start, 'part'),
      recordKey(start - 1, 'part'),
    ]);
    assert.equal(values.size, 1);
    await provider.shutdown();
  });
});
