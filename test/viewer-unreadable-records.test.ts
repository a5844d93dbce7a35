import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { MemoryStore } from '../stores/memory-store.js';
import type { RecordStore } from '../stores/record-store.js';
import { createViewer } from '../viewer/index.js';
import { elementWith, textOf } from './helpers/html-text.js';
import { startMemcached } from './helpers/memcached.js';
import { putRecord, sampleRecord } from './helpers/records.js';
import { loopback, page } from './helpers/viewer-request.js';

/**
 * The pages over what a store can hold or do besides good records: junk and broken values at
 * appstats keys, a store that throws, a memcached that is gone, nothing at all. Never a 500.
 */

describe('unreadable records and failing stores', () => {
  test('garbage bytes at appstats keys are skipped and counted; the page is still 200', async () => {
    const memory = new MemoryStore();
    const good = sampleRecord({ calls: 2, start: 1700000000000 });
    await putRecord(memory, good, 'junk');
    const valid = encodeRecord(summarize(good));
    await memory.putRaw('junk:000100:part', Buffer.from('not a record at all'));
    await memory.putRaw('junk:000200:part', valid.subarray(0, valid.length - 5));
    await memory.putRaw('junk:000300:part', Buffer.from([0xa5, 1, 0x6a, ...Buffer.from('{"v":99}')]));
    await memory.putRaw('junk:000400:part', Buffer.alloc(0));
    await memory.putRaw('junk:000500:part', Buffer.from([0xa5, 1, 0x6a, ...Buffer.from('[1,2]')]));
    await memory.putRaw('junk:000100:full', Buffer.from('garbage'));
    const app = createViewer({ store: memory, keyPrefix: 'junk', remoteAddress: loopback });
    const { status, html } = await page(app, '/');
    assert.equal(status, 200);
    assert.match(textOf(html), /1 records read, 5 skipped as unreadable \(/);
    const json = (await (await app.request('/?type=json')).json()) as {
      records_skipped: number;
      records_read: number;
    };
    assert.equal(json.records_read, 1);
    assert.equal(json.records_skipped, 5);
    const details = await page(app, '/details?time=1700000000100');
    assert.equal(details.status, 404);
    assert.match(textOf(details.html), /Unreadable record/);
  });

  test('values that decode but hold calls or stats of another shape: skipped or refused, never a 500', async () => {
    const memory = new MemoryStore();
    const good = sampleRecord({ calls: 2, start: 1700000000000 });
    await putRecord(memory, good);
    const oddPart = { ...summarize(sampleRecord({ start: 1700000000100 })), rpc_stats: [null, 'x'] };
    await memory.putRaw(recordKey(1700000000100, 'part'), encodeRecord(oddPart as never));
    const noCounts = {
      ...summarize(sampleRecord({ start: 1700000000200 })),
      rpc_stats: [{ service_call_name: 'a.B' }],
    };
    await memory.putRaw(recordKey(1700000000200, 'part'), encodeRecord(noCounts as never));
    // Missing optional numbers read as 0: still shown.
    const older = summarize(sampleRecord({ start: 1700000000300 })) as unknown as Record<string, unknown>;
    delete older.overhead_walltime_milliseconds;
    older.rpc_stats = [{ service_call_name: 'memcache.Get', total_amount_of_calls: 2 }];
    await memory.putRaw(recordKey(1700000000300, 'part'), encodeRecord(older as never));
    const badCalls = { ...sampleRecord({ start: 1700000000400 }), individual_stats: [null, 7] };
    await memory.putRaw(recordKey(1700000000400, 'full'), encodeRecord(badCalls as never));
    const app = createViewer({ store: memory, remoteAddress: loopback });
    const { status, html } = await page(app, '/');
    assert.equal(status, 200);
    assert.match(textOf(html), /2 records read, 2 skipped as unreadable \(2 shape\)/);
    const details = await page(app, '/details?time=1700000000400');
    assert.equal(details.status, 404);
    assert.match(textOf(details.html), /Unreadable record/);
    // Calls that are not objects are not a record this reader can read (codec, format 2): the
    // JSON view refuses it too, rather than serving what the page could not show.
    assert.equal((await app.request('/details?time=1700000000400&type=json')).status, 404);
  });

  test('a store that fails is reported on the page, not a 500', async () => {
    const broken: RecordStore = {
      putRecord: async () => {},
      getFull: async () => {
        throw new Error('connection refused');
      },
      getParts: async () => {
        throw new Error('connection refused');
      },
      close: async () => {},
    };
    const app = createViewer({ store: broken, remoteAddress: loopback });
    const { status, html } = await page(app, '/');
    assert.equal(status, 200);
    assert.match(
      textOf(elementWith(html, 'div', 'id="store-errors"')),
      /did not answer fully .*connection refused/,
    );
    const details = await page(app, '/details?time=1700000000000');
    assert.equal(details.status, 502);
  });

  test('a stopped memcached: the dashboard says the store did not answer', async () => {
    const lonely = await startMemcached();
    const deadStore = new MemcacheStore(lonely.address);
    await lonely.stop();
    try {
      const { status, html } = await page(createViewer({ store: deadStore, remoteAddress: loopback }), '/');
      assert.equal(status, 200);
      assert.ok(html.includes('id="store-errors"'));
    } finally {
      await deadStore.close();
    }
  });

  test('empty state points at the likely configuration problem', async () => {
    const app = createViewer({ store: new MemoryStore(), keyPrefix: 'myapp', remoteAddress: loopback });
    const { status, html } = await page(app, '/');
    assert.equal(status, 200);
    const text = textOf(elementWith(html, 'div', 'id="empty"'));
    assert.match(
      text,
      /No requests recorded in the slots this viewer reads \(1000 slots under the key prefix myapp, one per 100 ms of start time, each holding the latest request written to it, in an in-process memory store\)/,
    );
    assert.match(text, /configuration problem/);
    assert.match(text, /AppstatsSpanProcessor/);
    assert.ok(!html.includes('id="history"'));
  });
});
