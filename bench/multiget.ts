/**
 * Reading the dashboard's 1000 part keys from a real memcached: one pipelined GETKQ batch
 * (MemcacheStore.getParts) vs Promise.all of 1000 memjs gets, side by side, rounds interleaved.
 * Run: node --import tsx bench/multiget.ts [rounds=20]
 */
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { allPartKeys } from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { startMemcached } from '../test/helpers/memcached.js';
import { sampleRecord } from '../test/helpers/records.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const memcached = await startMemcached();
const store = new MemcacheStore(memcached.address);
const keys = allPartKeys();
const part = encodeRecord(summarize(sampleRecord({ calls: 8 })));
for (const key of keys) await store.client.set(key, part, { expires: 600 });

async function pipelined(): Promise<number> {
  const t = performance.now();
  const { values } = await store.getParts(keys);
  if (values.size !== keys.length) throw new Error(`pipelined read ${values.size} values`);
  return performance.now() - t;
}

async function separate(): Promise<number> {
  const t = performance.now();
  const results = await Promise.all(keys.map((key) => store.client.get(key)));
  if (results.filter((r) => r.value).length !== keys.length) throw new Error('separate gets missed values');
  return performance.now() - t;
}

const times = { pipelined: [] as number[], separate: [] as number[] };
for (let i = 0; i < 3; i++) await Promise.all([pipelined(), separate()]); // warm up
for (let round = 0; round < ROUNDS; round++) {
  times.pipelined.push(await pipelined());
  times.separate.push(await separate());
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`1000 part keys (${part.length} bytes each) from one memcached, median of ${ROUNDS} rounds:`);
console.log(`  pipelined GETKQ batch:     ${median(times.pipelined).toFixed(2)} ms`);
console.log(`  Promise.all of memjs gets: ${median(times.separate).toFixed(2)} ms`);
console.log(`  speed-up: ${(median(times.separate) / median(times.pipelined)).toFixed(1)}x`);
await store.close();
await memcached.stop();
