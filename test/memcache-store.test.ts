import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { summarize } from '../core/build-record.js';
import { decodeRecord, encodeRecord } from '../core/codec.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { buildGetkqBatch } from '../stores/memcache-binary.js';
import { multiSet } from '../stores/memcache-pipeline.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { sampleRecord } from './helpers/records.js';

describe('MemcacheStore against two real memcached servers', () => {
  let a: MemcachedServer;
  let b: MemcachedServer;
  before(async () => {
    [a, b] = await Promise.all([startMemcached(), startMemcached()]);
  });
  after(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('writes both values and reads a full record back', async () => {
    const store = new MemcacheStore(a.address);
    const record = sampleRecord({ calls: 5 });
    const keys = {
      part: recordKey(record.start_timestamp_milliseconds, 'part'),
      full: recordKey(record.start_timestamp_milliseconds, 'full'),
    };
    await store.putRecord(keys, { part: encodeRecord(summarize(record)), full: encodeRecord(record) }, 60);
    const full = await store.getFull(keys.full);
    assert.ok(full);
    assert.deepEqual(decodeRecord(full), record);
    assert.equal(await store.getFull('__appstats__:absent:full'), undefined);
    await store.close();
  });

  it('reads 1000 part keys spread over both servers in one pipelined batch per server', async () => {
    const store = new MemcacheStore(`${a.address},${b.address}`);
    const base = 1_800_000_000_000;
    const keyOptions = { keyPrefix: 'multi' };
    for (let slot = 0; slot < 1000; slot++) {
      const record = sampleRecord({ calls: 1, start: base + slot * 100 + 7.5, path: `/p${slot}` });
      const start = record.start_timestamp_milliseconds;
      await store.putRecord(
        { part: recordKey(start, 'part', keyOptions), full: recordKey(start, 'full', keyOptions) },
        { part: encodeRecord(summarize(record)), full: encodeRecord(record) },
        60,
      );
    }
    const { values, errors } = await store.getParts(allPartKeys(keyOptions));
    assert.equal(errors, 0);
    assert.equal(values.size, 1000);
    const paths = new Set([...values.values()].map((bytes) => decodeRecord(bytes).http_path));
    assert.equal(paths.size, 1000);
    // Both servers hold a share: memjs's own key-to-server choice spread them.
    const [storeA, storeB] = [new MemcacheStore(a.address), new MemcacheStore(b.address)];
    const onA = await storeA.getParts(allPartKeys(keyOptions));
    const onB = await storeB.getParts(allPartKeys(keyOptions));
    await Promise.all([storeA.close(), storeB.close()]);
    assert.ok(onA.values.size > 100 && onB.values.size > 100, `${onA.values.size} / ${onB.values.size}`);
    assert.equal(onA.values.size + onB.values.size, 1000);
    await store.close();
  });

  it('returns what the live server has, plus an error count, when the other is dead', async () => {
    const dead = await startMemcached();
    const store = new MemcacheStore(`${a.address},${dead.address}`);
    const keys = allPartKeys({ keyPrefix: 'deadtest' });
    const value = encodeRecord(summarize(sampleRecord({ calls: 0 })));
    await multiSet(
      store.client,
      keys.map((key) => ({ key, value, expiresSeconds: 60 })),
    );
    await dead.stop();
    const { values, errors, errorMessages } = await store.getParts(keys);
    assert.equal(errors, 1);
    assert.match(errorMessages?.[0] ?? '', new RegExp(dead.address.replace(/\./g, '\\.')));
    assert.ok(values.size > 100 && values.size < 1000, `${values.size} values from the live server`);
    await store.close();
  });

  it('writes many values in one pipelined batch per server, and rejects a batch memcached refused', async () => {
    const store = new MemcacheStore(`${a.address},${b.address}`);
    const entries = Array.from({ length: 50 }, (_, i) => ({
      key: `setq:${i}`,
      value: Buffer.from(`value ${i}`),
      expiresSeconds: 60,
    }));
    await multiSet(store.client, entries);
    const { values } = await store.getParts(entries.map((e) => e.key));
    assert.equal(values.size, 50);
    assert.equal(Buffer.from(values.get('setq:7') ?? []).toString(), 'value 7');
    // memcached's item limit is 1 MiB by default: a 2 MB value is refused, and the batch says so.
    await assert.rejects(
      multiSet(store.client, [{ key: 'setq:big', value: Buffer.alloc(2_000_000), expiresSeconds: 60 }]),
      /refused a SET \(status 0x3/,
    );
    // The connection is still usable after the refusal.
    await multiSet(store.client, [{ key: 'setq:after', value: Buffer.from('ok'), expiresSeconds: 60 }]);
    assert.equal(Buffer.from((await store.getFull('setq:after')) ?? []).toString(), 'ok');
    await store.close();
  });

  it('writes a batch of records in one putRecords; a value memcached refuses fails one record, not the batch', async () => {
    const store = new MemcacheStore(`${a.address},${b.address}`);
    const records = Array.from({ length: 10 }, (_, i) => {
      const record = sampleRecord({ calls: 2, start: 1_700_000_100_000 + i * 100 });
      const start = record.start_timestamp_milliseconds;
      return {
        keys: {
          part: recordKey(start, 'part', { keyPrefix: 'batch' }),
          full: recordKey(start, 'full', { keyPrefix: 'batch' }),
        },
        // Record 3's full value is past memcached's 1 MiB item limit: refused.
        values: {
          part: encodeRecord(summarize(record)),
          full: i === 3 ? Buffer.alloc(2_000_000) : encodeRecord(record),
        },
      };
    });
    const outcome = await store.putRecords(records, 60);
    assert.equal(outcome.failed, 1);
    assert.match(outcome.error ?? '', /refused a SET/);
    const { values } = await store.getParts(records.flatMap(({ keys }) => [keys.part, keys.full]));
    assert.equal(values.size, 19, 'every value but the refused one was written');
    await store.close();
  });

  it('builds GETKQ requests that memcached parses (opcode, key length, opaque, closing NOOP)', () => {
    const batch = buildGetkqBatch(['ab', 'cde'], 0x01020304);
    assert.equal(batch.length, 24 + 2 + 24 + 3 + 24);
    assert.deepEqual(
      [batch[0], batch[1], batch.readUInt16BE(2), batch.readUInt32BE(8), batch.readUInt32BE(12)],
      [0x80, 0x0d, 2, 2, 0x01020304],
    );
    assert.equal(batch.subarray(24, 26).toString(), 'ab');
    const noop = batch.subarray(batch.length - 24);
    assert.deepEqual(
      [noop[0], noop[1], noop.readUInt32BE(8), noop.readUInt32BE(12)],
      [0x80, 0x0a, 0, 0x01020304],
    );
  });
});
