import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { constants, deflateRawSync } from 'node:zlib';
import { summarize } from '../core/build-record.js';
import { decodeRecord, encodeRecord, READ_BOUNDS, RecordDecodeError } from '../core/codec.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { multiSet } from '../stores/memcache-pipeline.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { createViewer } from '../viewer/index.js';
import { PartCache, readParts } from '../viewer/read-records.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { sampleRecord } from './helpers/records.js';

/**
 * What a hostile writer of the shared memcached can put at the appstats keys (issue 12, items 1, 2,
 * 9, 10), against the reader's bounds (core/codec.ts READ_BOUNDS): each is refused and counted,
 * the pages answer, nothing is kept. Real memcached, values written raw by the test.
 */
const loopback = () => '127.0.0.1';
let memcached: MemcachedServer;
let store: MemcacheStore;

before(async () => {
  // 1000 values of 1 MB fit: items up to 2 MB, 1.5 GB of memory.
  memcached = await startMemcached({ maxItemSize: '2m', memoryMb: 1500 });
  store = new MemcacheStore(memcached.address);
});
after(async () => {
  await store?.close();
  await memcached?.stop();
});

const deflated = (json: string) =>
  Buffer.concat([
    Buffer.from([0xa5, 1, 0x7a]),
    deflateRawSync(Buffer.from(json), { level: constants.Z_BEST_COMPRESSION }),
  ]);

/** A valid part whose rpc_stats has `entries` entries: a deflate bomb that is a well-formed record. */
function bombPart(start: number, entries: number): Buffer {
  const json = JSON.stringify({ ...summarize(sampleRecord({ start })), rpc_stats: [] });
  const entry = '{"service_call_name":"memcache.Get","total_amount_of_calls":1}';
  const stats = `"rpc_stats":[${Array.from({ length: entries }, () => entry).join(',')}]`;
  return deflated(json.replace('"rpc_stats":[]', stats));
}

/** A valid full record of `calls` empty calls (each read as a whole call): 750 KB for 100,000. */
function manyCallsFull(start: number, calls: number): Buffer {
  const record = sampleRecord({ start, calls: 0 });
  return deflated(JSON.stringify({ ...record, individual_stats: Array.from({ length: calls }, () => ({})) }));
}

/** A ~350-byte value nesting arrays `depth` levels deep inside an otherwise valid record. */
function deeplyNested(start: number, depth: number, full: boolean): Buffer {
  const record = full ? sampleRecord({ start, calls: 0 }) : summarize(sampleRecord({ start }));
  const json = JSON.stringify({ ...record, deep: 0 }).replace(
    '"deep":0',
    `"deep":${'['.repeat(depth)}${']'.repeat(depth)}`,
  );
  return deflated(json);
}

async function write(entries: { key: string; value: Buffer }[]): Promise<void> {
  for (let i = 0; i < entries.length; i += 50)
    await multiSet(
      store.client,
      entries.slice(i, i + 50).map(({ key, value }) => ({ key, value, expiresSeconds: 600 })),
    );
}

interface DashboardJson {
  records_read: number;
  records_skipped: number;
  skipped_reasons: Record<string, number>;
}

describe('values past the reader bounds: refused as `size`, counted, the pages answer', () => {
  it('deflate bombs at part keys (valid records, 1.2 million rpc entries): skipped without inflating past the bound', async () => {
    const keyOptions = { keyPrefix: 'bomb' };
    const base = 1_900_000_000_000;
    const bombs = [1_200_000, 200_000, READ_BOUNDS.part.maxRpcStats + 1].map((entries, i) => ({
      key: recordKey(base + i * 100, 'part', keyOptions),
      value: bombPart(base + i * 100, entries),
    }));
    assert.ok(bombs[0].value.length > 100_000, `the big bomb is ${bombs[0].value.length} bytes`);
    assert.ok(bombs[1].value.length < READ_BOUNDS.part.maxValueBytes, 'a small one reaches the inflater');
    const good = sampleRecord({ start: base + 500 });
    await write([
      ...bombs,
      { key: recordKey(base + 500, 'part', keyOptions), value: encodeRecord(summarize(good)) },
    ]);
    const viewer = createViewer({ store, ...keyOptions, remoteAddress: loopback });
    const json = (await (await viewer.request('/?type=json')).json()) as DashboardJson;
    assert.deepEqual([json.records_read, json.records_skipped, json.skipped_reasons], [1, 3, { size: 3 }]);
    assert.equal((await viewer.request('/')).status, 200);
    assert.throws(
      () => decodeRecord(bombs[1].value, 'part'),
      (error: unknown) =>
        error instanceof RecordDecodeError && /inflating past 65536 bytes/.test(error.message),
    );
  });

  it('a 100,000-call full record (750 KB deflated): the details page refuses it (404, unreadable), never renders it', async () => {
    const start = 1_900_000_010_000;
    const value = manyCallsFull(start, 100_000);
    assert.ok(value.length < 1_000_000, `${value.length} bytes`);
    await write([{ key: recordKey(start, 'full'), value }]);
    const viewer = createViewer({ store, remoteAddress: loopback });
    for (const suffix of ['', '&type=json']) {
      const res = await viewer.request(`/details?time=${start}${suffix}`);
      assert.equal(res.status, 404, suffix);
      assert.match(await res.text(), /100000 calls, more than this reader reads in a full record \(5000\)/);
    }
    // What the writer makes by default (2000 calls) is read.
    await write([{ key: recordKey(start + 100, 'full'), value: manyCallsFull(start + 100, 2000) }]);
    assert.equal((await viewer.request(`/details?time=${start + 100}&type=json`)).status, 200);
  });

  it('a ~350-byte value nested 20,000 levels deep: refused as `shape`, the JSON views answer', async () => {
    const start = 1_900_000_020_000;
    const keyOptions = { keyPrefix: 'deep' };
    const part = deeplyNested(start, 20_000, false);
    const full = deeplyNested(start, 20_000, true);
    assert.ok(part.length < 600 && full.length < 600, `${part.length} / ${full.length} bytes`);
    await write([
      { key: recordKey(start, 'part', keyOptions), value: part },
      { key: recordKey(start, 'full', keyOptions), value: full },
    ]);
    const viewer = createViewer({ store, ...keyOptions, remoteAddress: loopback });
    const dashboard = await viewer.request('/?type=json');
    assert.equal(dashboard.status, 200);
    assert.deepEqual(((await dashboard.json()) as DashboardJson).skipped_reasons, { shape: 1 });
    const details = await viewer.request(`/details?time=${start}&type=json`);
    assert.equal(details.status, 404);
    assert.match(await details.text(), /nested deeper than 32 levels/);
    // A record nesting as deep as ours do is read.
    assert.ok(decodeRecord(deeplyNested(start, 20, true)));
  });

  it('1 MB of junk at each of the 1000 part keys: the read stops at its byte budget, says so, and keeps none of it', async () => {
    const keyOptions = { keyPrefix: 'junk' };
    const junk = Buffer.alloc(1_000_000, 0x78);
    await write(allPartKeys(keyOptions).map((key) => ({ key, value: junk })));
    const cache = new PartCache();
    const read = await readParts(store, allPartKeys(keyOptions), cache);
    // 1000 keys at the part bound could hold ~66 MB: past that, the server's answers are not ours.
    assert.equal(read.storeErrors, 1);
    assert.match(
      read.storeErrorMessages[0],
      /the answers to one read passed 65814000 bytes; connection dropped/,
    );
    assert.ok(read.found > 0 && read.found < 100, `${read.found} junk values seen before the read stopped`);
    assert.deepEqual(read.skippedReasons, { size: read.found });
    assert.equal(cache.heldBytes, 0, 'nothing of the junk is held');
    const viewer = createViewer({ store, ...keyOptions, remoteAddress: loopback });
    const page = await viewer.request('/');
    assert.equal(page.status, 200);
    const text = await page.text();
    assert.match(
      text,
      /the answers to one read passed/,
      text.slice(text.indexOf('store-errors'), text.indexOf('store-errors') + 600),
    );
    // Junk under the part bound is read, decoded (and refused) once, and only a digest is kept.
    const small = Buffer.alloc(60_000, 0x78);
    await write(allPartKeys(keyOptions).map((key) => ({ key, value: small })));
    const again = await readParts(store, allPartKeys(keyOptions), cache);
    assert.deepEqual([again.storeErrors, again.skippedReasons], [0, { foreign: 1000 }]);
    assert.equal(cache.size, 1000);
    assert.equal(cache.heldBytes, 0, 'skipped values keep a digest, not their bytes');
  });
});
