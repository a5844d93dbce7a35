import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { context, type Span, SpanKind, trace } from '@opentelemetry/api';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { eventually, listen, newRegisteredProvider, TeeExporter } from './helpers/pipeline.js';

/**
 * Memory under spans that never end, requests the client aborts, and bursts of 100,000 root spans:
 * the processor's caps hold (`openRequests` <= maxOpenRequests, `bufferedSpans` <= maxBufferedSpans,
 * sampled throughout) and nothing is held once the load is over. Heap figures come from a child
 * process run with --expose-gc (test/helpers/heap-burst.ts) and are printed as test diagnostics.
 */
const execFileAsync = promisify(execFile);
const tracer = () => trace.getTracer('app');
let memcached: MemcachedServer;

before(async () => {
  memcached = await startMemcached();
});
after(async () => {
  await memcached?.stop();
});

describe('memory stays within the caps', () => {
  it('100,000 root spans as fast as a loop goes, then 100,000 that never end: caps hold, the heap comes back', async (t) => {
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        fileURLToPath(new URL('./helpers/heap-burst.ts', import.meta.url)),
        memcached.address,
        '100000',
      ],
      { timeout: 120_000 },
    );
    const result = JSON.parse(stdout) as {
      rootsPerSecond: number;
      bareRootsPerSecond: number;
      max: { openRequests: number; bufferedSpans: number };
      afterA: { openRequests: number; bufferedSpans: number; recorded: number };
      atCaps: { droppedRequests: number };
      afterSweep: { openRequests: number; bufferedSpans: number; incompleteRecords: number };
      heapMb: {
        baseline: number;
        afterBurst: number;
        capsFull: number;
        afterSweep: number;
        afterShutdown: number;
      };
      diag: string[];
    };
    t.diagnostic(
      `burst: ${result.rootsPerSecond} roots/s with appstats, ${result.bareRootsPerSecond} without`,
    );
    t.diagnostic(`heap MB: ${JSON.stringify(result.heapMb)}`);
    assert.ok(result.max.openRequests <= 1000, `open requests peaked at ${result.max.openRequests}`);
    assert.ok(result.max.bufferedSpans <= 100_000, `buffered spans peaked at ${result.max.bufferedSpans}`);
    assert.equal(
      result.afterA.recorded,
      100_000,
      'every root that ended was recorded (then written or dropped)',
    );
    assert.deepEqual([result.afterA.openRequests, result.afterA.bufferedSpans], [0, 0]);
    assert.ok(result.atCaps.droppedRequests > 90_000, 'past the caps, requests are not tracked (counted)');
    assert.deepEqual([result.afterSweep.openRequests, result.afterSweep.bufferedSpans], [0, 0]);
    assert.ok(result.afterSweep.incompleteRecords > 0, 'the never-ending ones were written as incomplete');
    // 200,000 drops of three kinds, reported in one diag line each (the next would come a minute later).
    t.diagnostic(`diag: ${JSON.stringify(result.diag)}`);
    assert.ok(result.diag.length <= 4, `${result.diag.length} diag lines`);
    assert.ok(result.diag.some((line) => /records dropped, memcache writes are backed up/.test(line)));
    assert.ok(
      result.diag.some((line) => /not recorded, caps reached: .*\(maxBufferedSpans=100000\)/.test(line)),
    );
    // Held at the caps: tens of MB (about 1 KB a span). After: back within a few MB of the start.
    assert.ok(result.heapMb.capsFull > result.heapMb.baseline);
    assert.ok(
      result.heapMb.afterSweep < result.heapMb.baseline + 20,
      `heap after the sweep ${result.heapMb.afterSweep} MB, baseline ${result.heapMb.baseline} MB`,
    );
  });

  it('calls that never end and roots that never end, under HTTP load: written as pending, nothing held after', async () => {
    const tee = new TeeExporter(new AppstatsExporter({ memcache: memcached.address, keyPrefix: 'never' }));
    const processor = new AppstatsSpanProcessor({ exporter: tee, maxPendingMs: 100, maxRequestAgeMs: 500 });
    const provider = newRegisteredProvider([processor]);
    const leaked: Span[] = [];
    const server = await listen((req, res) => {
      if (req.url?.startsWith('/leak'))
        leaked.push(tracer().startSpan('never.ends', { kind: SpanKind.CLIENT }));
      tracer().startSpan('fine', { kind: SpanKind.CLIENT }).end();
      res.end('ok');
    });
    const statuses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        fetch(`${server.url}/${i % 10 === 0 ? 'leak' : 'ok'}/${i}`).then((r) => r.status),
      ),
    );
    assert.ok(statuses.every((s) => s === 200));
    // Jobs whose root never ends, each with a call.
    const jobs = Array.from({ length: 50 }, (_, i) => {
      const root = tracer().startSpan(`stuck-job-${i}`);
      tracer().startSpan('step', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), root)).end();
      return root;
    });
    let maxOpen = 0;
    await eventually(() => {
      maxOpen = Math.max(maxOpen, processor.stats().openRequests);
      return processor.stats().openRequests === 0;
    }, 'every request written (pending calls after 100 ms, stuck roots after the age sweep)');
    assert.ok(maxOpen <= 250);
    assert.equal(tee.records.length, 250);
    const leakedRecords = tee.records.filter((r) => r.http_path.startsWith('/leak'));
    assert.equal(leakedRecords.length, 20);
    assert.ok(leakedRecords.every((r) => r.incomplete?.pending_calls === 1));
    const stuck = tee.records.filter((r) => r.http_path.startsWith('stuck-job-'));
    assert.equal(stuck.length, 50);
    assert.ok(stuck.every((r) => r.incomplete?.root_pending === true && r.individual_stats.length === 1));
    assert.equal(processor.stats().bufferedSpans, 0);
    // Ending them now is counted as late, not tracked again.
    for (const span of [...leaked, ...jobs]) span.end();
    assert.equal(processor.stats().lateSpans, 70);
    assert.deepEqual([processor.stats().openRequests, processor.stats().bufferedSpans], [0, 0]);
    await server.close();
    await provider.shutdown();
  });

  it('requests the client aborts mid-response: the server keeps serving, each becomes a record, nothing held', async () => {
    const tee = new TeeExporter(new AppstatsExporter({ memcache: memcached.address, keyPrefix: 'aborted' }));
    const processor = new AppstatsSpanProcessor({ exporter: tee, maxPendingMs: 200 });
    const provider = newRegisteredProvider([processor]);
    let closed = 0;
    const server = await listen((req, res) => {
      if (req.url === '/fine') {
        res.end('fine');
        return;
      }
      // A streaming response, with a call that lasts as long as the stream, and one the app forgets.
      const stream = tracer().startSpan('stream.write', { kind: SpanKind.CLIENT });
      tracer().startSpan('forgotten', { kind: SpanKind.CLIENT });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first chunk\n');
      const timer = setInterval(() => res.write('more\n'), 5);
      res.on('close', () => {
        clearInterval(timer);
        stream.end();
        closed++;
      });
    });
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          const controller = new AbortController();
          const res = await fetch(`${server.url}/stream`, { signal: controller.signal });
          const reader = res.body?.getReader();
          await reader?.read(); // the first chunk, then the client goes away
          controller.abort();
          await reader?.cancel().catch(() => {});
        }),
      );
      assert.equal(await (await fetch(`${server.url}/fine`)).text(), 'fine', 'the app still serves');
    }
    await eventually(() => closed === 100, 'the server to see every abort');
    await eventually(() => tee.records.length === 105, 'a record per request');
    await eventually(() => processor.stats().openRequests === 0, 'nothing open');
    const aborted = tee.records.filter((r) => r.http_path === '/stream');
    assert.equal(aborted.length, 100);
    for (const record of aborted) {
      const stream = record.individual_stats.find((c) => c.service_call_name === 'stream.write');
      assert.ok(stream && !stream.pending, 'the stream call ended with the connection');
      assert.equal(record.incomplete?.pending_calls, 1, 'the forgotten call is written as pending');
    }
    assert.equal(processor.stats().bufferedSpans, 0);
    await server.close();
    await provider.shutdown();
  });
});
