/**
 * One dashboard or details page under each attack of issue 12 (items 1, 2, 9, 10) and at the
 * reader's bounds: time of the request, how much of it the event loop was busy, and the heap and
 * RSS it added (after a GC before).
 *
 *   node --expose-gc --import tsx bench/hostile-memcache.ts
 */
import { constants, deflateRawSync } from 'node:zlib';
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { multiSet } from '../stores/memcache-pipeline.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { startMemcached } from '../test/helpers/memcached.js';
import { sampleRecord } from '../test/helpers/records.js';
import { createViewer } from '../viewer/index.js';

type ELU = { eventLoopUtilization(previous?: unknown): { active: number } };
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const memcached = await startMemcached({ maxItemSize: '2m', memoryMb: 1500 });
const store = new MemcacheStore(memcached.address);
const deflated = (json: string) =>
  Buffer.concat([
    Buffer.from([0xa5, 1, 0x7a]),
    deflateRawSync(Buffer.from(json), { level: constants.Z_BEST_COMPRESSION }),
  ]);
const entry = '{"service_call_name":"memcache.Get","total_amount_of_calls":1}';
const part = (start: number, entries: number) =>
  deflated(
    JSON.stringify({ ...summarize(sampleRecord({ start })), rpc_stats: [] }).replace(
      '"rpc_stats":[]',
      `"rpc_stats":[${Array.from({ length: entries }, () => entry).join(',')}]`,
    ),
  );
async function write(prefix: string, values: Buffer[], kind: 'part' | 'full', base = 1_900_000_000_000) {
  const entries = values.map((value, i) => ({
    key: recordKey(base + i * 100, kind, { keyPrefix: prefix }),
    value,
    expiresSeconds: 600,
  }));
  for (let i = 0; i < entries.length; i += 20) await multiSet(store.client, entries.slice(i, i + 20));
}
async function measure(name: string, prefix: string, path: string) {
  const viewer = createViewer({ store, keyPrefix: prefix, remoteAddress: () => '127.0.0.1' });
  gc();
  const before = process.memoryUsage();
  const elu = (performance as unknown as ELU).eventLoopUtilization();
  const t0 = performance.now();
  const res = await viewer.request(path);
  const body = await res.text();
  const ms = performance.now() - t0;
  // The loop's busy time during the page (the rest was waiting on memcached).
  const busy = (performance as unknown as ELU).eventLoopUtilization(elu).active;
  const after = process.memoryUsage();
  console.log(
    `${name}: ${res.status}, ${Math.round(ms)} ms (loop busy ${Math.round(busy)} ms), +${Math.round((after.heapUsed - before.heapUsed) / 1e6)} MB heap, +${Math.round((after.rss - before.rss) / 1e6)} MB RSS, ${body.length} bytes`,
  );
}
const base = 1_900_000_000_000;
await write(
  'bombs',
  Array.from({ length: 6 }, (_, i) => part(base + i * 100, 1_200_000)),
  'part',
);
await measure('6 deflate-bomb parts (1.2M rpc entries each), dashboard HTML', 'bombs', '/');
await measure('  same, dashboard JSON', 'bombs', '/?type=json');
const calls = (n: number) =>
  deflated(
    JSON.stringify({
      ...sampleRecord({ start: base, calls: 0 }),
      individual_stats: Array.from({ length: n }, () => ({})),
    }),
  );
await write('calls100k', [calls(100_000)], 'full');
await measure('100,000-call full, details HTML', 'calls100k', `/details?time=${base}`);
await write('calls5k', [encodeRecord(sampleRecord({ start: base, calls: 5000, stackFrames: 8 }))], 'full');
await measure(
  '5,000-call full (the bound, 8-frame stacks), details HTML',
  'calls5k',
  `/details?time=${base}`,
);
await measure('  same, details JSON', 'calls5k', `/details?time=${base}&type=json`);
const deep = (full: boolean) => {
  const record = full ? sampleRecord({ start: base, calls: 0 }) : summarize(sampleRecord({ start: base }));
  return deflated(
    JSON.stringify({ ...record, deep: 0 }).replace(
      '"deep":0',
      `"deep":${'['.repeat(20_000)}${']'.repeat(20_000)}`,
    ),
  );
};
await write('deep', [deep(false)], 'part');
await write('deep', [deep(true)], 'full');
await measure('20,000-deep nesting, dashboard JSON', 'deep', '/?type=json');
await measure('20,000-deep nesting, details JSON', 'deep', `/details?time=${base}&type=json`);
const junk = Buffer.alloc(1_000_000, 0x78);
await write(
  'junk',
  allPartKeys({ keyPrefix: 'junk' }).map(() => junk),
  'part',
);
await measure('1 MB junk at each of 1000 part keys, dashboard HTML', 'junk', '/');
await write(
  'atbound',
  Array.from({ length: 1000 }, (_, i) => part(base + i * 100, 100)),
  'part',
);
await measure('1000 parts at the bound (100 rpc entries each), dashboard HTML, cold', 'atbound', '/');
await store.close();
await memcached.stop();
