import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { decodeRecord } from '../core/codec.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { AppstatsExporter, type ExporterStats } from '../exporter/exporter.js';
import { RateLimitedWarning } from '../exporter/rate-limited-log.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { RecordStore, StoredRecord } from '../stores/record-store.js';
import { startMemcached } from './helpers/memcached.js';
import { sampleRecord } from './helpers/records.js';

/** One turn of the event loop: the exporter builds what it was handed at the next one. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

/** A store whose writes never settle: memcache paused, as far as the exporter can tell. */
function stalledStore(): RecordStore & { writes: number } {
  return {
    writes: 0,
    putRecord() {
      this.writes++;
      return new Promise(() => {});
    },
    getFull: async () => undefined,
    getParts: async () => ({ values: new Map(), errors: 0 }),
    close: async () => {},
  };
}

// Tests of building, batching and bounds build and write every record (oneRecordPerSlot: false);
// the one of superseding tests the default.
describe('AppstatsExporter', () => {
  it('builds nothing in export(): records handed over are built at the next turns, off the span end', async () => {
    const store = new MemoryStore();
    const exporter = new AppstatsExporter({ oneRecordPerSlot: false, store });
    let built = 0;
    const builder = () => sampleRecord({ calls: 3, start: 1_800_000_000_000 + built++ * 100 });
    for (let i = 0; i < 10; i++) exporter.export(builder);
    assert.equal(built, 0, 'export only queues');
    assert.equal(exporter.stats().inFlight, 10);
    await nextTurn();
    assert.ok(built > 0, 'built at the next turn');
    await exporter.forceFlush();
    assert.equal(built, 10);
    assert.equal(exporter.stats().exported, 10);
  });

  it('a full queue drops records unbuilt: maxQueueBytes bounds what waits on a stalled store, counted in bytes', async () => {
    const store = stalledStore();
    const maxQueueBytes = 64 * 1024;
    const exporter = new AppstatsExporter({ store, maxQueueBytes });
    let built = 0;
    let highest = 0;
    for (let i = 0; i < 1000; i++) {
      exporter.export(() => sampleRecord({ calls: 10, start: 1_800_000_000_000 + built++ * 100 }));
      if (i % 10 === 9) await nextTurn();
      highest = Math.max(highest, exporter.stats().queuedBytes);
    }
    const s = exporter.stats();
    assert.ok(highest <= maxQueueBytes, `${highest} bytes queued`);
    assert.ok(s.queuedBytes > maxQueueBytes / 2, `the queue is used: ${s.queuedBytes} bytes`);
    assert.equal(s.inFlight + s.dropped, 1000, 'every record waits or was dropped');
    assert.ok(s.dropped > 900, `${s.dropped} dropped`);
    assert.ok(built < 100, `${built} built: a dropped record is not built`);
  });

  it('clamps maxQueueBytes to 64 KiB at least, and maxValueBytes to leave room for a record in the queue, saying so', async () => {
    const lines = captureDiagWarnings();
    try {
      const exporter = new AppstatsExporter({ store: new MemoryStore(), maxQueueBytes: 1000 });
      assert.match(lines[0] ?? '', /maxQueueBytes must be at least 65536, got 1000; using 65536/);
      assert.match(lines[1] ?? '', /maxValueBytes \(1000000\) must leave room .* using 32640/);
      // A record larger than the queue could hold is cut down by the size ladder, not refused.
      exporter.export(sampleRecord({ calls: 2000, stackFrames: 20 }));
      await exporter.forceFlush();
      assert.deepEqual(pick(exporter.stats()), { exported: 1, dropped: 0, failed: 0, inFlight: 0 });
    } finally {
      diag.disable();
    }
  });

  it('maxInFlightWrites, when set, bounds the records waiting by count too', async () => {
    const store = stalledStore();
    const exporter = new AppstatsExporter({ oneRecordPerSlot: false, store, maxInFlightWrites: 2 });
    let built = 0;
    for (let i = 0; i < 10; i++)
      exporter.export(() => sampleRecord({ calls: 3, start: 1_800_000_000_000 + built++ * 100 }));
    await nextTurn();
    assert.equal(built, 2, 'only the two records that could be written were built');
    const { queuedBytes, ...rest } = exporter.stats();
    assert.deepEqual(rest, { exported: 0, dropped: 8, failed: 0, tooLarge: 0, superseded: 0, inFlight: 2 });
    assert.ok(queuedBytes > 0);
  });

  it('counts a builder that throws as a failure, and never throws itself', async () => {
    const exporter = new AppstatsExporter({ store: stalledStore() });
    assert.doesNotThrow(() =>
      exporter.export(() => {
        throw new Error('broken span');
      }),
    );
    await exporter.forceFlush();
    assert.equal(exporter.stats().failed, 1);
    assert.equal(exporter.stats().inFlight, 0);
  });

  it('builds nothing after shutdown', async () => {
    const exporter = new AppstatsExporter({ store: stalledStore(), maxInFlightWrites: 1 });
    await exporter.shutdown();
    let built = 0;
    exporter.export(() => {
      built++;
      return sampleRecord();
    });
    await nextTurn();
    assert.equal(built, 0);
  });

  it('writes a record at once when no write is in flight, else with those that came meanwhile, in one putRecords', async () => {
    const batches: number[] = [];
    const memory = new MemoryStore();
    let hold: Promise<void> | undefined;
    const store: RecordStore = {
      putRecord: () => Promise.reject(new Error('the exporter should batch')),
      async putRecords(records: readonly StoredRecord[], expires: number) {
        batches.push(records.length);
        await hold;
        return memory.putRecords(records, expires);
      },
      getFull: (key) => memory.getFull(key),
      getParts: (keys) => memory.getParts(keys),
      close: async () => {},
    };
    const exporter = new AppstatsExporter({ oneRecordPerSlot: false, store, maxInFlightWrites: 80 });
    let release: () => void = () => {};
    hold = new Promise<void>((resolve) => (release = resolve));
    exporter.export(sampleRecord({ start: 1_800_000_000_000 }));
    await nextTurn();
    assert.deepEqual(batches, [1], 'the first went at once');
    for (let i = 1; i < 5; i++) exporter.export(sampleRecord({ start: 1_800_000_000_000 + i * 100 }));
    await nextTurn();
    assert.deepEqual(batches, [1], 'the others wait for its write');
    assert.equal(exporter.stats().inFlight, 5);
    hold = undefined;
    release();
    await exporter.forceFlush();
    assert.deepEqual(batches, [1, 4], 'the four that waited went together when it settled');
    assert.deepEqual(exporter.stats(), {
      exported: 5,
      dropped: 0,
      failed: 0,
      tooLarge: 0,
      superseded: 0,
      inFlight: 0,
      queuedBytes: 0,
    });
    const { values } = await memory.getParts(['__appstats__:000000:part', '__appstats__:000400:part']);
    assert.equal(values.size, 2, 'the records landed under their own keys');
    // Past maxInFlightWrites, records drop; a batch holds 64 records at most, one write at a time.
    batches.length = 0;
    hold = new Promise<void>((resolve) => (release = resolve));
    for (let i = 0; i < 100; i++) exporter.export(sampleRecord({ start: 1_800_000_000_000 + i * 100 }));
    await nextTurn();
    assert.equal(batches.length, 1, 'one write in flight');
    assert.equal(exporter.stats().dropped, 20, '80 waiting at most');
    hold = undefined;
    release();
    await exporter.forceFlush();
    assert.equal(
      batches.reduce((sum, n) => sum + n, 0),
      80,
    );
    assert.ok(Math.max(...batches) <= 64, `batches ${batches}`);
    assert.equal(exporter.stats().exported, 85);
  });

  it('counts failures per record on a store without putRecords', async () => {
    let calls = 0;
    const store: RecordStore = {
      putRecord: () => (++calls === 2 ? Promise.reject(new Error('memcache said no')) : Promise.resolve()),
      getFull: async () => undefined,
      getParts: async () => ({ values: new Map(), errors: 0 }),
      close: async () => {},
    };
    const exporter = new AppstatsExporter({ store });
    for (let i = 0; i < 3; i++) exporter.export(sampleRecord({ start: 1_800_000_000_000 + i * 100 }));
    await exporter.forceFlush();
    assert.equal(calls, 3);
    assert.deepEqual(pick(exporter.stats()), { exported: 2, dropped: 0, failed: 1, inFlight: 0 });
  });

  it('counts a store that throws at once, or answers nonsense, as failed writes: nothing reaches the app', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const throwing: RecordStore = {
        putRecord() {
          throw new Error('thrown at once');
        },
        getFull: async () => undefined,
        getParts: async () => ({ values: new Map(), errors: 0 }),
        close: async () => {},
      };
      const nonsense = { ...throwing, putRecords: async () => undefined as never };
      for (const store of [throwing, nonsense]) {
        const exporter = new AppstatsExporter({ store });
        for (let i = 0; i < 3; i++) exporter.export(sampleRecord({ start: 1_800_000_000_000 + i * 100 }));
        await exporter.forceFlush();
        assert.deepEqual(pick(exporter.stats()), { exported: 0, dropped: 0, failed: 3, inFlight: 0 });
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('by default builds and writes only the latest record of a slot; the others are superseded, never built', async () => {
    const store = new MemoryStore();
    const exporter = new AppstatsExporter({ store });
    const built: number[] = [];
    const unbuilt = (startMs: number, n: number) => ({
      startMs,
      build: () => {
        built.push(n);
        return { ...sampleRecord({ start: startMs, calls: 1 }), http_path: `/r${n}` };
      },
    });
    const slotA = 1_700_000_000_000;
    for (let n = 0; n < 40; n++) exporter.export(unbuilt(slotA + (n % 100), n)); // 40 in one 100 ms slot
    exporter.export(unbuilt(slotA + 100, 40)); // the next slot
    assert.deepEqual(built, [], 'nothing built in export()');
    await exporter.forceFlush();
    assert.deepEqual(built, [39, 40], 'only the latest of each slot was built');
    const s = exporter.stats();
    assert.deepEqual([s.exported, s.superseded, s.dropped], [2, 39, 0]);
    const { values } = await store.getParts([recordKey(slotA, 'part'), recordKey(slotA + 100, 'part')]);
    assert.deepEqual(
      [...values.values()].map((bytes) => decodeRecord(bytes, 'part').http_path),
      ['/r39', '/r40'],
      'what memcache would have held anyway',
    );
    await exporter.shutdown();
  });

  it('forceFlush also writes the records exported while it waits', async () => {
    let release: () => void = () => {};
    let writes = 0;
    const store: RecordStore = {
      putRecord: async () => {},
      async putRecords(records) {
        writes += records.length;
        // The first write waits until the test lets it go.
        if (writes === 1) await new Promise<void>((resolve) => (release = resolve));
        return { failed: 0 };
      },
      getFull: async () => undefined,
      getParts: async () => ({ values: new Map(), errors: 0 }),
      close: async () => {},
    };
    const exporter = new AppstatsExporter({ store });
    exporter.export(sampleRecord({ start: 1_800_000_000_000 }));
    const flushed = exporter.forceFlush();
    exporter.export(sampleRecord({ start: 1_800_000_000_100 })); // waits: the first write is in flight
    release();
    await flushed;
    assert.equal(writes, 2);
    assert.equal(exporter.stats().exported, 2);
  });
});

describe('AppstatsExporter against a real memcached: bursts right after start', () => {
  const BASE = 1_800_000_000_000;
  /** A 10-call record per slot: `k` in 0..999 covers each of the 1000 slots once. */
  const recordAt = (k: number) => () => sampleRecord({ calls: 10, start: BASE + k * 100 });

  async function partsWritten(address: string, keyPrefix: string): Promise<number> {
    const reader = new MemcacheStore(address);
    try {
      return (await reader.getParts(allPartKeys({ keyPrefix }))).values.size;
    } finally {
      await reader.close();
    }
  }

  it('1000 records in bursts of 100 every 20 ms, from the moment the exporter is made: none lost', async () => {
    const memcached = await startMemcached();
    try {
      const exporter = new AppstatsExporter({ memcache: memcached.address, keyPrefix: 'bursts' });
      for (let burst = 0; burst < 10; burst++) {
        // The gap is the load's shape (an app's bursts), not a wait for something to happen.
        if (burst > 0) await sleep(20);
        for (let i = 0; i < 100; i++) exporter.export(recordAt(burst * 100 + i));
      }
      await exporter.shutdown();
      assert.deepEqual(pick(exporter.stats()), { exported: 1000, dropped: 0, failed: 0, inFlight: 0 });
      assert.equal(await partsWritten(memcached.address, 'bursts'), 1000);
    } finally {
      await memcached.stop();
    }
  });

  it('1000 records at once, before the first connection is made: none lost', async () => {
    const memcached = await startMemcached();
    try {
      const exporter = new AppstatsExporter({ memcache: memcached.address, keyPrefix: 'once' });
      for (let k = 0; k < 1000; k++) exporter.export(recordAt(k));
      await exporter.shutdown();
      assert.deepEqual(pick(exporter.stats()), { exported: 1000, dropped: 0, failed: 0, inFlight: 0 });
      assert.equal(await partsWritten(memcached.address, 'once'), 1000);
    } finally {
      await memcached.stop();
    }
  });

  it('memcached paused (SIGSTOP): the queue stays within maxQueueBytes, drops are counted and reported with their total', async () => {
    const memcached = await startMemcached();
    const lines = captureDiagWarnings();
    try {
      const maxQueueBytes = 256 * 1024;
      const exporter = new AppstatsExporter({
        memcache: memcached.address,
        keyPrefix: 'paused',
        maxQueueBytes,
      });
      let built = 0;
      const counted = (k: number) => () => {
        built++;
        return recordAt(k % 1000)();
      };
      for (let k = 0; k < 20; k++) exporter.export(counted(k));
      await exporter.forceFlush();
      assert.equal(exporter.stats().exported, 20, 'connected and writing before the pause');
      memcached.process.kill('SIGSTOP');
      let highest = 0;
      for (let k = 20; k < 3020; k++) {
        exporter.export(counted(k));
        // An app's turns: records are built, and writes started, between its requests.
        if (k % 50 === 0) await nextTurn();
        highest = Math.max(highest, exporter.stats().queuedBytes);
      }
      const paused = exporter.stats();
      assert.ok(highest <= maxQueueBytes, `${highest} bytes queued`);
      assert.ok(paused.dropped > 0, 'past the bound, records are dropped, not queued');
      assert.ok(built < 3020, `${built} built: dropped records were not`);
      const dropLines = lines.filter((line) => /records dropped, memcache writes are backed up/.test(line));
      assert.equal(dropLines.length, 1, 'one line, then the rate limit');
      assert.match(dropLines[0], /\d+ dropped in total since start/);
      memcached.process.kill('SIGCONT');
      await exporter.shutdown();
      const s = exporter.stats();
      assert.equal(s.exported + s.failed + s.dropped + s.tooLarge, 3020, 'every record accounted for');
      assert.equal(s.inFlight, 0);
      const last = lines.at(-1) ?? '';
      assert.match(last, /exporter shut down/, 'a final line at shutdown');
      assert.ok(last.includes(`${s.dropped} dropped`), `the total dropped in: ${last}`);
    } finally {
      diag.disable();
      memcached.process.kill('SIGCONT');
      await memcached.stop();
    }
  });
});

describe('RateLimitedWarning', () => {
  it('logs the first at once, then one summary with the latest running total when the interval ends, without waiting for another', async () => {
    const lines = captureDiagWarnings();
    try {
      let total = 0;
      const warning = new RateLimitedWarning('records dropped', 20);
      for (let i = 0; i < 5; i++) {
        total++;
        warning.warn(() => `${total} dropped in total`);
      }
      assert.deepEqual(lines, ['appstats: records dropped: 1 dropped in total']);
      await poll(() => lines.length === 2, 'the summary');
      assert.equal(lines[1], 'appstats: records dropped: 5 dropped in total (4 more since the last report)');
    } finally {
      diag.disable();
    }
  });
});

/** diag warnings from now on (until `diag.disable()`). */
function captureDiagWarnings(): string[] {
  const lines: string[] = [];
  const ignore = () => {};
  diag.setLogger(
    { warn: (message) => lines.push(message), error: ignore, info: ignore, debug: ignore, verbose: ignore },
    DiagLogLevel.WARN,
  );
  return lines;
}

/** Polls until `check` holds; bounded, never a timing assertion. */
async function poll(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

function pick(s: ExporterStats) {
  return { exported: s.exported, dropped: s.dropped, failed: s.failed, inFlight: s.inFlight };
}
