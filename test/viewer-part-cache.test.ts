import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { MemoryStore } from '../stores/memory-store.js';
import { createViewer } from '../viewer/index.js';
import { PartCache, readParts } from '../viewer/read-records.js';
import { sampleRecord } from './helpers/records.js';

test('PartCache: same bytes reuse the decoded part, changed bytes are decoded again, absent keys are dropped', () => {
  const cache = new PartCache();
  const a = encodeRecord(summarize(sampleRecord({ start: 1000 })));
  const first = cache.decode('k1', a);
  assert.equal(cache.decode('k1', Buffer.from(a)), first, 'equal bytes, another buffer: reused');
  const b = encodeRecord(summarize(sampleRecord({ start: 2000 })));
  const second = cache.decode('k1', b);
  assert.notEqual(second, first);
  assert.ok('summary' in second && second.summary.start_timestamp_milliseconds === 2000);
  const bad = cache.decode('k2', Buffer.from('junk'));
  assert.ok('failure' in bad && bad.failure === 'foreign');
  assert.equal(cache.size, 2);
  cache.retainOnly(new Map([['k2', 1]]));
  assert.equal(cache.size, 1);
});

test('the dashboard shows a slot rewritten by a later request (no stale cache), and counts stay right', async () => {
  const store = new MemoryStore();
  const viewer = createViewer({ store, remoteAddress: () => '127.0.0.1' });
  async function write(start: number, path: string) {
    const record = sampleRecord({ start, path });
    await store.putRecord(
      { part: recordKey(start, 'part'), full: recordKey(start, 'full') },
      { part: encodeRecord(summarize(record)), full: encodeRecord(record) },
      0,
    );
  }
  async function paths() {
    const body = (await (await viewer.request('/?type=json')).json()) as {
      summaries: { http_path: string }[];
    };
    return body.summaries.map((s) => s.http_path);
  }
  await write(1700000000000, '/first');
  await write(1700000000100, '/second');
  assert.deepEqual(await paths(), ['/second', '/first']);
  // 100 s later the first slot is reused.
  await write(1700000100000, '/third');
  assert.deepEqual(await paths(), ['/third', '/second']);
  await store.putRaw(recordKey(1700000000100, 'part'), Buffer.from('garbage'));
  const body = (await (await viewer.request('/?type=json')).json()) as {
    records_read: number;
    records_skipped: number;
  };
  assert.deepEqual([body.records_read, body.records_skipped], [1, 1]);
  const uncached = await readParts(store, [recordKey(1700000100000, 'part')]);
  assert.equal(uncached.summaries[0].http_path, '/third', 'readParts works without a cache too');
});
