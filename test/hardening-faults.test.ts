import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { after, afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, DiagLogLevel, diag, SpanKind, trace } from '@opentelemetry/api';
import type { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { RequestRecord } from '../core/record.js';
import { allPartKeys, type KeyOptions, recordKey } from '../core/record-key.js';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { serverKeyOf } from '../stores/memcache-routing.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { createViewer } from '../viewer/index.js';
import { textOf } from './helpers/html-text.js';
import { freePort, type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { eventually, listen, newRegisteredProvider, TeeExporter } from './helpers/pipeline.js';

/**
 * Faults of memcache under a real instrumented HTTP app: memcached absent at start, killed under
 * load and restarted, paused (SIGSTOP) and resumed, a server that accepts connections and never
 * answers, one that hangs up without answering, and two servers of which one is dead. In every case
 * each app request gets its own status; the exporter's writes in flight never exceed
 * `maxInFlightWrites` (nothing queues without bound); every record is accounted for (exported,
 * failed, dropped or still in flight); losses are reported through diag, rate-limited; and records
 * resume when memcache is back.
 *
 * (Stopping memcached with SIGTERM between bursts, and 200 concurrent requests without a lost or
 * crossed call, are in test/span-processor.test.ts.)
 */

/** diag output, captured: losses must be reported, and rate-limited (one line, then a count a minute). */
const diagLines: string[] = [];
diag.setLogger(
  {
    error: (message) => diagLines.push(`error ${message}`),
    warn: (message) => diagLines.push(`warn ${message}`),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  DiagLogLevel.WARN,
);
const linesSince = (mark: number, pattern: RegExp) => diagLines.slice(mark).filter((l) => pattern.test(l));

const STATUSES = [200, 201, 404, 503];

/** The app: each request makes one client call (its span ends a tick later), answers the status in its path. */
async function startApp(): Promise<{ url: string; close(): Promise<void> }> {
  return listen((req, res) => {
    const span = trace.getTracer('app').startSpan('cache.get', { kind: SpanKind.CLIENT });
    context.with(trace.setSpan(context.active(), span), () =>
      setImmediate(() => {
        span.end();
        res.statusCode = Number(/^\/s\/(\d+)/.exec(req.url ?? '')?.[1] ?? 200);
        res.end('ok');
      }),
    );
  });
}

interface Rig {
  exporter: AppstatsExporter;
  processor: AppstatsSpanProcessor;
  tee: TeeExporter;
  provider: NodeTracerProvider;
  app: { url: string; close(): Promise<void> };
  /** Highest `exporter.stats().inFlight` seen after any response. */
  maxInFlight: number;
  /** Requests whose status was not the one asked for. */
  wrongStatuses: string[];
  requests: number;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function rig(exporter: AppstatsExporter): Promise<Rig> {
  const tee = new TeeExporter(exporter);
  const processor = new AppstatsSpanProcessor({ exporter: tee });
  const provider = newRegisteredProvider([processor]);
  const app = await startApp();
  const r: Rig = { exporter, processor, tee, provider, app, maxInFlight: 0, wrongStatuses: [], requests: 0 };
  cleanups.push(async () => {
    await app.close();
    await provider.shutdown();
  });
  return r;
}

/** `n` requests, `concurrency` at a time, statuses cycling through STATUSES; checks each answer. */
async function load(r: Rig, n: number, concurrency = 10): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const status = STATUSES[next++ % STATUSES.length];
      const res = await fetch(`${r.app.url}/s/${status}`);
      await res.text();
      r.requests++;
      if (res.status !== status) r.wrongStatuses.push(`${status} -> ${res.status}`);
      r.maxInFlight = Math.max(r.maxInFlight, r.exporter.stats().inFlight);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Every record the processor handed over is exported, failed, dropped, too large, or still in flight. */
function assertAccounted(r: Rig): void {
  const s = r.exporter.stats();
  assert.equal(s.exported + s.failed + s.dropped + s.tooLarge + s.inFlight, r.tee.records.length);
}

/**
 * `forceFlush`, bounded: it waits for every write, so a write that never settles would hang the
 * test instead of failing it.
 */
async function flush(r: Rig): Promise<void> {
  await Promise.race([r.processor.forceFlush(), sleep(5000)]);
}

/** Every write settled (bounded). */
async function flushed(r: Rig): Promise<void> {
  await flush(r);
  await eventually(() => r.exporter.stats().inFlight === 0, 'every write to settle', 15_000);
}

/** Part keys of this prefix present in a memcached. */
async function partsIn(address: string, keyOptions: KeyOptions): Promise<number> {
  const store = new MemcacheStore(address);
  try {
    return (await store.getParts(allPartKeys(keyOptions))).values.size;
  } finally {
    await store.close();
  }
}

function killHard(server: MemcachedServer): void {
  if (server.process.exitCode === null && server.process.signalCode === null) server.process.kill('SIGKILL');
}

// These tests count every request's write (written, failed, in flight): each record is written,
// not only the latest of its slot (oneRecordPerSlot: false).
describe('memcache faults under a real instrumented HTTP app', () => {
  after(() => diag.disable());

  it('memcached absent at start: requests served, writes fail fast and are counted, one diag line; records flow once it starts', async () => {
    const port = await freePort();
    const exporter = new AppstatsExporter({
      oneRecordPerSlot: false,
      memcache: `127.0.0.1:${port}`,
      keyPrefix: 'absent',
      maxInFlightWrites: 20,
    });
    const r = await rig(exporter);
    const mark = diagLines.length;
    await load(r, 200);
    assert.deepEqual(r.wrongStatuses, []);
    await eventually(() => r.tee.records.length === 200, '200 records built');
    await flushed(r);
    const s = exporter.stats();
    assert.equal(s.exported, 0);
    assert.equal(s.failed + s.dropped, 200);
    assert.ok(s.failed > 0);
    assert.ok(r.maxInFlight <= 20, `in flight ${r.maxInFlight}`);
    assert.equal(linesSince(mark, /record writes failed/).length, 1, 'one line for 200 failures');
    assert.match(linesSince(mark, /record writes failed/)[0], /ECONNREFUSED/);

    const memcached = await startMemcached({ port });
    cleanups.push(() => killHard(memcached));
    await eventually(async () => {
      await load(r, 4, 4);
      await flush(r);
      return exporter.stats().exported > 0;
    }, 'records to flow once memcached is up');
    assert.ok((await partsIn(memcached.address, { keyPrefix: 'absent' })) > 0);
    assert.deepEqual(r.wrongStatuses, []);
    assertAccounted(r);
  });

  it('memcached killed (SIGKILL) under load, then restarted: no request fails, nothing stays in flight, records resume', async () => {
    const memcached = await startMemcached();
    cleanups.push(() => killHard(memcached));
    const exporter = new AppstatsExporter({
      oneRecordPerSlot: false,
      memcache: memcached.address,
      keyPrefix: 'killed',
      maxInFlightWrites: 50,
    });
    const r = await rig(exporter);
    const mark = diagLines.length;
    let running = true;
    const background = (async () => {
      while (running) await load(r, 40, 8);
    })();
    await eventually(() => exporter.stats().exported >= 40, 'records written before the kill');
    memcached.process.kill('SIGKILL');
    await once(memcached.process, 'exit');
    await eventually(
      () => exporter.stats().failed + exporter.stats().dropped >= 40,
      'writes failing after the kill',
    );
    const restarted = await startMemcached({ port: memcached.port });
    cleanups.push(() => killHard(restarted));
    const before = exporter.stats().exported;
    await eventually(() => exporter.stats().exported > before + 20, 'records resumed after the restart');
    running = false;
    await background;
    assert.deepEqual(r.wrongStatuses, []);
    assert.ok(r.requests >= 120, `${r.requests} requests`);
    assert.ok(r.maxInFlight <= 50);
    await eventually(() => r.tee.records.length === r.requests, 'a record per request');
    await flushed(r);
    assertAccounted(r);
    assert.ok(exporter.stats().failed > 0);
    assert.ok(linesSince(mark, /record writes failed/).length <= 1);
    assert.ok((await partsIn(restarted.address, { keyPrefix: 'killed' })) > 0);
  });

  it('memcached paused (SIGSTOP): requests keep completing while it is stopped, in-flight writes stay bounded; SIGCONT: records resume', async () => {
    const memcached = await startMemcached();
    cleanups.push(() => {
      memcached.process.kill('SIGCONT');
      killHard(memcached);
    });
    const exporter = new AppstatsExporter({
      oneRecordPerSlot: false,
      memcache: memcached.address,
      keyPrefix: 'paused',
      maxInFlightWrites: 10,
    });
    const r = await rig(exporter);
    const mark = diagLines.length;
    await load(r, 20, 2); // two at a time: well under the 10 writes allowed in flight
    await eventually(async () => {
      await flush(r);
      return exporter.stats().exported === 20;
    }, '20 records written');
    memcached.process.kill('SIGSTOP');
    // Every one of these is answered while memcached is still stopped: nothing waits on it.
    await load(r, 300, 20);
    assert.deepEqual(r.wrongStatuses, []);
    assert.ok(r.maxInFlight <= 10, `in flight ${r.maxInFlight}`);
    assert.ok(exporter.stats().dropped > 0, 'past the bound, records are dropped, not queued');
    assert.equal(linesSince(mark, /records dropped, memcache writes are backed up/).length, 1);
    memcached.process.kill('SIGCONT');
    const before = exporter.stats().exported;
    await eventually(async () => {
      await load(r, 4, 4);
      await flush(r);
      return exporter.stats().exported > before;
    }, 'records resumed after SIGCONT');
    await flushed(r);
    assertAccounted(r);
    assert.ok((await partsIn(memcached.address, { keyPrefix: 'paused' })) > 0);
  });

  it('a server that accepts connections and never answers: every request answered while all writes hang; slots freed when it resets', async () => {
    const sockets = new Set<Socket>();
    const hole: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', () => {}); // reads everything, answers nothing
      socket.on('error', () => {});
    });
    hole.listen(0, '127.0.0.1');
    await once(hole, 'listening');
    const { port } = hole.address() as { port: number };
    cleanups.push(() => new Promise<void>((resolve) => hole.close(() => resolve())));
    // A 5 s memjs timeout: a request that waited on its write would take seconds, not milliseconds.
    const store = new MemcacheStore(`127.0.0.1:${port}`, { timeoutSeconds: 5 });
    cleanups.push(() => store.close());
    const exporter = new AppstatsExporter({
      oneRecordPerSlot: false,
      store,
      keyPrefix: 'hole',
      maxInFlightWrites: 10,
    });
    const r = await rig(exporter);
    const mark = diagLines.length;
    const walls: number[] = [];
    for (let i = 0; i < 100; i++) {
      const t0 = performance.now();
      await load(r, 1, 1);
      walls.push(performance.now() - t0);
    }
    assert.deepEqual(r.wrongStatuses, []);
    await eventually(() => r.tee.records.length === 100, '100 records built');
    const s = exporter.stats();
    // Answered while every write was still pending: none had failed (timed out) yet.
    assert.deepEqual([s.inFlight, s.dropped, s.failed, s.exported], [10, 90, 0, 0]);
    assert.ok(r.maxInFlight <= 10);
    // Normal is a few ms; waiting on one write would be 5 s.
    assert.ok(Math.max(...walls) < 2000, `slowest request ${Math.max(...walls).toFixed(1)} ms`);
    assert.equal(linesSince(mark, /records dropped/).length, 1);
    // The server resets its connections: the hanging write fails at once and frees its slot. The 9
    // records that waited behind it then go in one write, on a new connection that hangs too, until
    // the server resets that one as well.
    await eventually(() => {
      for (const socket of sockets) socket.resetAndDestroy();
      return exporter.stats().inFlight === 0;
    }, 'slots freed');
    assert.equal(exporter.stats().failed, 10);
    assertAccounted(r);
  });

  it('a server that hangs up without answering (as memcached restarting does): writes fail within the deadline, slots are not leaked', async () => {
    const hangUp: Server = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end());
    });
    hangUp.listen(0, '127.0.0.1');
    await once(hangUp, 'listening');
    const { port } = hangUp.address() as { port: number };
    cleanups.push(() => new Promise<void>((resolve) => hangUp.close(() => resolve())));
    const exporter = new AppstatsExporter({
      oneRecordPerSlot: false,
      memcache: `127.0.0.1:${port}`,
      keyPrefix: 'hangup',
      maxInFlightWrites: 10,
    });
    const r = await rig(exporter);
    await load(r, 40);
    assert.deepEqual(r.wrongStatuses, []);
    await eventually(() => r.tee.records.length === 40, '40 records built');
    // memjs alone leaves such writes pending forever (each would hold a slot for good).
    await eventually(() => exporter.stats().inFlight === 0, 'every write settled', 15_000);
    const s = exporter.stats();
    assert.equal(s.exported, 0);
    assert.equal(s.failed + s.dropped, 40);
    assertAccounted(r);
  });

  it('two memcached servers, one dead: records reach the live one (its keys), the viewer shows them and names the dead server', async () => {
    const live = await startMemcached();
    const dead = await startMemcached();
    cleanups.push(() => killHard(live));
    killHard(dead);
    await once(dead.process, 'exit');
    // 1 ms slots: each request of this test keeps its own slot.
    const keyOptions = { keyPrefix: 'two', keyDistance: 1 };
    const servers = `${live.address},${dead.address}`;
    const exporter = new AppstatsExporter({ memcache: servers, ...keyOptions });
    const r = await rig(exporter);
    for (let i = 0; i < 60; i++) await load(r, 1, 1);
    assert.deepEqual(r.wrongStatuses, []);
    await eventually(() => r.tee.records.length === 60, '60 records');
    await flushed(r);
    assertAccounted(r);
    const reader = new MemcacheStore(servers);
    cleanups.push(() => reader.close());
    // Servers are chosen by slot (both values of a record on one server): stores/memcache-routing.ts.
    const onLive = (key: string) =>
      (reader.client as unknown as { server(k: string): { port: number } }).server(serverKeyOf(key)).port ===
      live.port;
    const part = (rec: RequestRecord) => recordKey(rec.start_timestamp_milliseconds, 'part', keyOptions);
    const full = (rec: RequestRecord) => recordKey(rec.start_timestamp_milliseconds, 'full', keyOptions);
    // The last record written at each slot is the one a slot holds (two requests could share one).
    const lastAtSlot = [...new Map(r.tee.records.map((rec: RequestRecord) => [part(rec), rec])).values()];
    const expectedParts = lastAtSlot.filter((rec) => onLive(part(rec)));
    const bothLive = lastAtSlot.filter((rec) => onLive(part(rec)) && onLive(full(rec)));
    assert.ok(
      expectedParts.length > 5 && bothLive.length > 0,
      `${expectedParts.length} parts on the live server`,
    );
    assert.equal(
      exporter.stats().exported,
      r.tee.records.filter((rec) => onLive(part(rec)) && onLive(full(rec))).length,
      'a record is exported when both its values were written',
    );
    assert.equal(
      await partsIn(live.address, keyOptions),
      expectedParts.length,
      'every part of the live server is there',
    );

    const viewer = createViewer({ store: reader, ...keyOptions, remoteAddress: () => '127.0.0.1' });
    const res = await viewer.request('/');
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.ok(html.includes('id="store-errors"'), 'the page says a server failed');
    assert.ok(textOf(html).includes(dead.address), 'and which one');
    const json = (await (await viewer.request('/?type=json')).json()) as {
      records_read: number;
      store_errors: number;
    };
    assert.equal(json.records_read, expectedParts.length);
    assert.equal(json.store_errors, 1);
    const readable = await viewer.request(`/details?time=${bothLive[0].start_timestamp_milliseconds}`);
    assert.equal(readable.status, 200);
    await readable.text();
    const lostFull = lastAtSlot.find((rec) => !onLive(full(rec)));
    assert.ok(lostFull !== undefined);
    const unreadable = await viewer.request(`/details?time=${lostFull.start_timestamp_milliseconds}`);
    assert.equal(unreadable.status, 502, 'a full record on the dead server: the store did not answer');
    assert.match(textOf(await unreadable.text()), /did not answer/);
  });
});
