import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AppstatsExporter } from '../exporter/exporter.js';
import type { RecordStore } from '../exporter/stores/record-store.js';
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
  it('builds a record only when it is going to write it: past maxInFlightWrites nothing is built', () => {
    const store = stalledStore();
    const exporter = new AppstatsExporter({ store, maxInFlightWrites: 2 });
    let built = 0;
    const builder = () => {
      built++;
      return sampleRecord({ calls: 3, start: 1_800_000_000_000 + built * 100 });
    };
    for (let i = 0; i < 10; i++) exporter.export(builder);
    assert.equal(built, 2, 'only the two records that could be written were built');
    assert.equal(store.writes, 2);
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
});
