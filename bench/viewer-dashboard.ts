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
 * Rounds alternate between the dashboard's sides so drift (GC, CPU frequency) hits them alike; medians.
 */
import { cpus, loadavg } from 'node:os';
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { startMemcached } from '../test/helpers/memcached.js';
import { sampleRecord } from '../test/helpers/records.js';
import { aggregateDashboard } from '../viewer/aggregate.js';
import { DEFAULT_QUERY } from '../viewer/dashboard-query.js';
import { createViewer } from '../viewer/index.js';
import { createLinks } from '../viewer/links.js';
import { readParts } from '../viewer/read-records.js';
import { renderDashboard } from '../viewer/render.js';

const RECORDS = 1000;
const ROUNDS = Number(process.env.ROUNDS ?? 60);
const WARMUP = 10;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
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
  // The worst case for the details page: 1000 calls, every stack different (no loop shares one).
  const distinctStart = base + 60_000.5;
  const distinct = sampleRecord({ calls: 1000, start: distinctStart, path: '/distinct', stackFrames: 10 });
  distinct.individual_stats.forEach((call, i) => {
    call.call_stack = call.call_stack.map((frame, f) => ({ ...frame, line_number: 1000 * f + i }));
  });
  await store.putRecord(
    { part: recordKey(distinctStart, 'part'), full: recordKey(distinctStart, 'full') },
    { part: encodeRecord(summarize(distinct)), full: encodeRecord(distinct) },
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

  // Cold: every part decoded on every view (a first view, or every slot rewritten since the last).
  const coldViewer = createViewer({ store, remoteAddress: () => '127.0.0.1', cacheDecodedParts: false });
  const sides = {
    raw: () => store.getParts(keys),
    cold: async () => {
      const res = await coldViewer.request('/');
      // Bytes, as a server sends them; the page's content was checked once above.
      if (res.status !== 200 || (await res.arrayBuffer()).byteLength < 100_000)
        throw new Error('cold dashboard');
    },
    // Warm: the default viewer, whose part cache holds the unchanged slots from the previous view.
    warm: async () => {
      const res = await viewer.request('/');
      if (res.status !== 200 || (await res.arrayBuffer()).byteLength < 100_000)
        throw new Error('warm dashboard');
    },
    details: async () => {
      const res = await viewer.request(`/details?time=${bigStart}`);
      if (res.status !== 200) throw new Error(`details: ${res.status}`);
      await res.arrayBuffer();
    },
    detailsDistinct: async () => {
      const res = await viewer.request(`/details?time=${distinctStart}`);
      if (res.status !== 200) throw new Error(`details: ${res.status}`);
      await res.arrayBuffer();
    },
  };
  const wall: Record<keyof typeof sides, number[]> = {
    raw: [],
    cold: [],
    warm: [],
    details: [],
    detailsDistinct: [],
  };
  const cpuTime: Record<keyof typeof sides, number[]> = {
    raw: [],
    cold: [],
    warm: [],
    details: [],
    detailsDistinct: [],
  };
  // The dashboard sides alternate round by round; the details page runs in a phase of its own, so
  // the garbage of its 1.4 MB pages is not collected inside the dashboard's timings.
  const phases: (keyof typeof sides)[][] = [
    ['raw', 'cold', 'warm'],
    ['details', 'detailsDistinct'],
  ];
  for (const phase of phases)
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (const side of phase) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await sides[side]();
        const ms = performance.now() - t0;
        const used = process.cpuUsage(c0);
        if (round >= WARMUP) {
          wall[side].push(ms);
          cpuTime[side].push((used.user + used.system) / 1000);
        }
      }
    }
  // Where the cold dashboard's time goes, phase by phase (CPU time, medians).
  const phase: Record<string, number[]> = { 'fetch + decode (readParts)': [], aggregate: [], render: [] };
  const links = createLinks('');
  for (let round = 0; round < WARMUP + ROUNDS; round++) {
    let c0 = process.cpuUsage();
    const read = await readParts(store, keys);
    const t1 = process.cpuUsage(c0);
    c0 = process.cpuUsage();
    const board = aggregateDashboard(read.summaries, DEFAULT_QUERY);
    const t2 = process.cpuUsage(c0);
    c0 = process.cpuUsage();
    renderDashboard({
      title: 'bench',
      links,
      query: DEFAULT_QUERY,
      dashboard: board,
      read,
      source: { store: 'memcache', keyPrefix: '__appstats__', slots: 1000, slotMs: 100 },
    });
    const t3 = process.cpuUsage(c0);
    if (round >= WARMUP) {
      phase['fetch + decode (readParts)'].push((t1.user + t1.system) / 1000);
      phase.aggregate.push((t2.user + t2.system) / 1000);
      phase.render.push((t3.user + t3.system) / 1000);
    }
  }
  const dashboardBytes = (await (await viewer.request('/')).text()).length;
  const detailsBytes = (await (await viewer.request(`/details?time=${bigStart}`)).arrayBuffer()).byteLength;
  const distinctBytes = (await (await viewer.request(`/details?time=${distinctStart}`)).arrayBuffer())
    .byteLength;
  const w = Object.fromEntries(Object.entries(wall).map(([k, v]) => [k, median(v)])) as Record<
    keyof typeof sides,
    number
  >;
  const c = Object.fromEntries(Object.entries(cpuTime).map(([k, v]) => [k, median(v)])) as Record<
    keyof typeof sides,
    number
  >;
  const line = (label: string, side: keyof typeof sides, extra = '') =>
    console.log(
      `  ${label.padEnd(50)} ${w[side].toFixed(2).padStart(7)} ms wall  ${c[side].toFixed(2).padStart(7)} ms CPU${extra}`,
    );
  console.log(
    `viewer bench: ${RECORDS} records (${(partBytes / 1024).toFixed(0)} KiB of parts) in memcached ${memcached.address}; ` +
      `${ROUNDS} rounds after ${WARMUP} warm-up, sides alternating; medians`,
  );
  line(`raw pipelined fetch of ${keys.length} part keys`, 'raw');
  line(
    'dashboard, cold (fetch+decode all+aggregate+render)',
    'cold',
    `  (${(dashboardBytes / 1024).toFixed(0)} KiB HTML)`,
  );
  line('dashboard, warm (unchanged parts not decoded again)', 'warm');
  line(
    'details, 1000 calls from 10 call sites (fetch+decode+render)',
    'details',
    `  (${(detailsBytes / 1024).toFixed(0)} KiB HTML)`,
  );
  line(
    'details, 1000 calls, every stack different',
    'detailsDistinct',
    `  (${(distinctBytes / 1024).toFixed(0)} KiB HTML)`,
  );
  console.log(
    `  ratio to the raw fetch, wall: cold ${(w.cold / w.raw).toFixed(2)}x, warm ${(w.warm / w.raw).toFixed(2)}x; ` +
      `CPU: cold ${(c.cold / c.raw).toFixed(2)}x, warm ${(c.warm / c.raw).toFixed(2)}x (target <= 1.5x). ` +
      `Details: ${w.details.toFixed(1)} ms, every stack different ${w.detailsDistinct.toFixed(1)} ms (target <= 20 ms)`,
  );
  console.log(
    `  cold dashboard by phase (CPU): ${Object.entries(phase)
      .map(([name, values]) => `${name} ${median(values).toFixed(2)} ms`)
      .join(', ')}`,
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
