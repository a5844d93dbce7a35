/**
 * The viewer's cost, measured side by side in one run (run by hand):
 *
 *   node --import tsx bench/viewer-dashboard.ts
 *
 * 1. Dashboard over 1000 records in a real memcached: `GET /` through the Hono app (one pipelined
 *    multi-get of the 1000 part keys + decode + aggregate + render), against the raw pipelined
 *    fetch of the same 1000 keys alone. Target: ratio <= 1.5.
 * 2. Details page of a record of 1000 calls (fetch + decode + findings + render). Target: <= 20 ms.
 *
 * Rounds alternate between the two sides so drift (GC, CPU frequency) hits both alike; medians.
 */
import { cpus, loadavg } from 'node:os';
import { summarize } from '../exporter/build-record.js';
import { encodeRecord } from '../exporter/codec.js';
import { allPartKeys, recordKey } from '../exporter/record-key.js';
import { MemcacheStore } from '../exporter/stores/memcache-store.js';
import { startMemcached } from '../test/helpers/memcached.js';
import { sampleRecord } from '../test/helpers/records.js';
import { createViewer } from '../viewer/index.js';

const RECORDS = 1000;
const ROUNDS = Number(process.env.ROUNDS ?? 60);
const WARMUP = 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Wall time, and this process's CPU time (the machine may be shared: CPU time is less disturbed by others). */
const cpu: Record<string, number[]> = { raw: [], dashboard: [], details: [] };
async function time(fn: () => Promise<unknown>, side?: string): Promise<number> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await fn();
  const wall = performance.now() - t0;
  const used = process.cpuUsage(c0);
  if (side) cpu[side].push((used.user + used.system) / 1000);
  return wall;
}

const memcached = await startMemcached({ memoryMb: 256 });
const store = new MemcacheStore(memcached.address);
try {
  const base = Math.floor(Date.now() / 100_000) * 100_000 - 100_000;
  let partBytes = 0;
  const writes: Promise<void>[] = [];
  for (let i = 0; i < RECORDS; i++) {
    const start = base + i * 100 + (i % 7) * 0.125;
    // A mix of paths and call counts, like an app's: 1 to 24 calls, 40 distinct paths.
    const record = sampleRecord({
      calls: 1 + (i % 24),
      start,
      path: `/api/resource-${i % 40}`,
      stackFrames: 8,
    });
    record.http_status = i % 50 === 0 ? 500 : 200;
    record.duration_milliseconds = 5 + (i % 97);
    const part = encodeRecord(summarize(record));
    partBytes += part.length;
    writes.push(
      store.putRecord(
        { part: recordKey(start, 'part'), full: recordKey(start, 'full') },
        { part, full: encodeRecord(record) },
        3600,
      ),
    );
  }
  await Promise.all(writes);
  const bigStart = base + 50_000.5;
  const big = sampleRecord({ calls: 1000, start: bigStart, path: '/big', stackFrames: 10 });
  // Ten call sites, as a handler with a loop and a few helpers would have: stacks repeat, but not all alike.
  big.individual_stats.forEach((call, i) => {
    call.call_stack[0] = { ...call.call_stack[0], line_number: 100 + (i % 10) };
  });
  await store.putRecord(
    { part: recordKey(bigStart, 'part'), full: recordKey(bigStart, 'full') },
    { part: encodeRecord(summarize(big)), full: encodeRecord(big) },
    3600,
  );

  const viewer = createViewer({ store, remoteAddress: () => '127.0.0.1' });
  const keys = allPartKeys();
  const check = await store.getParts(keys);
  if (check.values.size !== RECORDS) throw new Error(`expected ${RECORDS} parts, found ${check.values.size}`);
  const page = await viewer.request('/');
  const html = await page.text();
  if (page.status !== 200 || !html.includes(`${RECORDS} records read`))
    throw new Error('dashboard did not render the records');

  const raw: number[] = [];
  const dashboard: number[] = [];
  const details: number[] = [];
  let dashboardBytes = 0;
  let detailsBytes = 0;
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    const r = await time(() => store.getParts(keys), round >= WARMUP ? 'raw' : undefined);
    const d = await time(
      async () => {
        const res = await viewer.request('/');
        dashboardBytes = (await res.text()).length;
      },
      round >= WARMUP ? 'dashboard' : undefined,
    );
    const t = await time(
      async () => {
        const res = await viewer.request(`/details?time=${bigStart}`);
        if (res.status !== 200) throw new Error(`details: ${res.status}`);
        detailsBytes = (await res.text()).length;
      },
      round >= WARMUP ? 'details' : undefined,
    );
    if (round >= WARMUP) {
      raw.push(r);
      dashboard.push(d);
      details.push(t);
    }
  }
  const rawMs = median(raw);
  const dashboardMs = median(dashboard);
  const detailsMs = median(details);
  console.log(
    `viewer bench: ${RECORDS} records (${(partBytes / 1024).toFixed(0)} KiB of parts) in memcached ${memcached.address}, ${ROUNDS} rounds, medians`,
  );
  console.log(`  raw pipelined fetch of ${keys.length} part keys : ${rawMs.toFixed(2)} ms`);
  console.log(
    `  dashboard GET / (fetch+decode+aggregate+render): ${dashboardMs.toFixed(2)} ms (${(dashboardBytes / 1024).toFixed(0)} KiB HTML)`,
  );
  console.log(
    `  ratio dashboard / raw fetch                    : ${(dashboardMs / rawMs).toFixed(2)}x (target <= 1.5x)`,
  );
  console.log(
    `  details of a 1000-call record                  : ${detailsMs.toFixed(2)} ms (${(detailsBytes / 1024).toFixed(0)} KiB HTML, target <= 20 ms)`,
  );
  const cpuRaw = median(cpu.raw);
  const cpuDashboard = median(cpu.dashboard);
  console.log(
    `  CPU time of this process (medians): raw ${cpuRaw.toFixed(2)} ms, dashboard ${cpuDashboard.toFixed(2)} ms ` +
      `(${(cpuDashboard / cpuRaw).toFixed(2)}x), details ${median(cpu.details).toFixed(2)} ms`,
  );
  console.log(
    `  load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} on ${cpus().length} CPUs`,
  );
} finally {
  await store.close();
  await memcached.stop();
}
