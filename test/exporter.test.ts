import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppstatsExporter } from '../exporter/exporter.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { RecordStore, StoredRecord } from '../stores/record-store.js';
import { sampleRecord } from './helpers/records.js';

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

describe('AppstatsExporter', () => {
  it('builds a record only when it is going to write it: past maxInFlightWrites nothing is built', async () => {
    const store = stalledStore();
    const exporter = new AppstatsExporter({ store, maxInFlightWrites: 2 });
    let built = 0;
    const builder = () => {
      built++;
      return sampleRecord({ calls: 3, start: 1_800_000_000_000 + built * 100 });
    };
    for (let i = 0; i < 10; i++) exporter.export(builder);
    assert.equal(built, 2, 'only the two records that could be written were built');
    await new Promise((resolve) => setImmediate(resolve)); // the write starts on the next tick
    assert.equal(store.writes, 1, 'the second waits for the first, stalled, write');
    assert.deepEqual(exporter.stats(), { exported: 0, dropped: 8, failed: 0, tooLarge: 0, inFlight: 2 });
  });

  it('counts a builder that throws as a failure, and never throws itself', () => {
    const exporter = new AppstatsExporter({ store: stalledStore() });
    assert.doesNotThrow(() =>
      exporter.export(() => {
        throw new Error('broken span');
      }),
    );
    assert.equal(exporter.stats().failed, 1);
  });

  it('builds nothing after shutdown', async () => {
    const exporter = new AppstatsExporter({ store: stalledStore(), maxInFlightWrites: 1 });
    await exporter.shutdown();
    let built = 0;
    exporter.export(() => {
      built++;
      return sampleRecord();
    });
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
    const exporter = new AppstatsExporter({ store, maxInFlightWrites: 80 });
    let release: () => void = () => {};
    hold = new Promise<void>((resolve) => (release = resolve));
    for (let i = 0; i < 5; i++) exporter.export(sampleRecord({ start: 1_800_000_000_000 + i * 100 }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(batches, [1], 'the first went at once; the others wait for its write');
    assert.equal(exporter.stats().inFlight, 5);
    hold = undefined;
    release();
    await exporter.forceFlush();
    assert.deepEqual(batches, [1, 4], 'the four that waited went together when it settled');
    assert.deepEqual(exporter.stats(), { exported: 5, dropped: 0, failed: 0, tooLarge: 0, inFlight: 0 });
    const { values } = await memory.getParts(['__appstats__:000000:part', '__appstats__:000400:part']);
    assert.equal(values.size, 2, 'the records landed under their own keys');
    // A full batch does not wait, even with a write in flight; past maxInFlightWrites, records drop.
    batches.length = 0;
    hold = new Promise<void>((resolve) => (release = resolve));
    for (let i = 0; i < 100; i++) exporter.export(sampleRecord({ start: 1_800_000_000_000 + i * 100 }));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(batches, [1, 64]);
    assert.equal(exporter.stats().dropped, 20, '80 waiting at most');
    hold = undefined;
    release();
    await exporter.forceFlush();
    assert.deepEqual(batches, [1, 64, 15]);
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
    assert.deepEqual(exporter.stats(), { exported: 2, dropped: 0, failed: 1, tooLarge: 0, inFlight: 0 });
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
        assert.deepEqual(exporter.stats(), { exported: 0, dropped: 0, failed: 3, tooLarge: 0, inFlight: 0 });
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
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
