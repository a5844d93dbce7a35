/**
 * Soak: sustained load on the benchmark app (bench/http-app.ts: 10 memjs reads per request from a
 * real memcached) with appstats recording every request, against plain OTel, for minutes. 1% of
 * requests also start a client span that never ends. Both app processes live for the whole soak;
 * autocannon loads them in turn, in segments, so drift and neighbours hit both alike.
 *
 * Reports: throughput (requests / loaded time) and p99 latency (median of the segments) of each, and
 * their ratios; each app's heap after a full GC when warmed up and at the end; appstats' own counts
 * (records written, dropped, failed, incomplete; requests and spans still held).
 *
 * Run by hand (not part of npm test):
 *   node --import tsx bench/soak.ts [secondsPerVariant=180] [connections=20] [segmentSeconds=15] [neverEndPercent=1]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startMemcached } from '../test/helpers/memcached.js';

const SECONDS = Number(process.argv[2] ?? 180);
const CONNECTIONS = Number(process.argv[3] ?? 20);
const SEGMENT = Number(process.argv[4] ?? 15);
const NEVER_END_PERCENT = Number(process.argv[5] ?? 1);
const appFile = fileURLToPath(new URL('./http-app.ts', import.meta.url));

interface Memory {
  heapUsedMb: number;
  rssMb: number;
  served: number;
  appstats?: {
    processor: Record<string, number>;
    exporter: Record<string, number>;
  };
}

interface App {
  variant: string;
  child: ChildProcess;
  url: string;
  lines: string[];
  requests: number;
  seconds: number;
  p99s: number[];
  errors: number;
}

const memcached = await startMemcached({ memoryMb: 256 });

async function startApp(variant: string): Promise<App> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', appFile, variant, memcached.address],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, BENCH_NEVER_END_EVERY: String(Math.round(100 / NEVER_END_PERCENT)) },
    },
  );
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  while (lines.length === 0) await once(child.stdout as NodeJS.ReadableStream, 'data');
  return {
    variant,
    child,
    url: `http://127.0.0.1:${Number(lines[0])}/`,
    lines,
    requests: 0,
    seconds: 0,
    p99s: [],
    errors: 0,
  };
}

/** The app's next memory line (asked with SIGUSR2, or printed on SIGTERM). */
async function memoryOf(app: App, signal: 'SIGUSR2' | 'SIGTERM'): Promise<Memory> {
  const seen = app.lines.length;
  app.child.kill(signal);
  for (let waited = 0; waited < 100; waited++) {
    const line = app.lines.slice(seen).find((l) => l.includes('"memory"'));
    if (line) return (JSON.parse(line) as { memory: Memory }).memory;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${app.variant}: no memory line`);
}

async function drive(app: App, seconds: number): Promise<void> {
  const result = await autocannon({ url: app.url, connections: CONNECTIONS, duration: seconds });
  app.requests += result.requests.total;
  app.seconds += seconds;
  app.p99s.push(result.latency.p99);
  app.errors += result.errors + result.non2xx + result.timeouts;
}

const apps = [await startApp('otel'), await startApp('appstats')];
for (const app of apps) {
  await autocannon({ url: app.url, connections: CONNECTIONS, duration: 3 }); // warm up
}
const before = await Promise.all(apps.map((app) => memoryOf(app, 'SIGUSR2')));
const load: number[] = [];
const started = Date.now();
console.log(
  `soak: ${SECONDS} s per variant, ${CONNECTIONS} connections, ${SEGMENT} s segments, ${NEVER_END_PERCENT}% never-ending spans; ` +
    `${cpus().length} CPUs, load average ${loadavg()[0].toFixed(2)}`,
);
for (let done = 0; done < SECONDS; done += SEGMENT) {
  const seconds = Math.min(SEGMENT, SECONDS - done);
  for (const app of apps) {
    await drive(app, seconds);
    load.push(loadavg()[0]);
  }
  const [otel, appstats] = apps;
  console.log(
    `  ${Math.round((Date.now() - started) / 1000)} s: otel ${(otel.requests / otel.seconds).toFixed(0)} req/s, ` +
      `appstats ${(appstats.requests / appstats.seconds).toFixed(0)} req/s`,
  );
}
const after = await Promise.all(apps.map((app) => memoryOf(app, 'SIGTERM')));
await Promise.all(apps.map((app) => (app.child.exitCode === null ? once(app.child, 'exit') : undefined)));
await memcached.stop();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const [otel, appstats] = apps;
const rps = (app: App) => app.requests / app.seconds;
console.log(
  `\nresults (load average during the soak ${Math.min(...load).toFixed(1)} to ${Math.max(...load).toFixed(1)}):`,
);
for (const [i, app] of apps.entries()) {
  console.log(
    `  ${app.variant.padEnd(8)} ${rps(app).toFixed(0)} req/s, p99 ${median(app.p99s)} ms (segments ${Math.min(...app.p99s)}-${Math.max(...app.p99s)}), ` +
      `${app.requests} requests, ${app.errors} errors; heap ${before[i].heapUsedMb.toFixed(1)} -> ${after[i].heapUsedMb.toFixed(1)} MB, ` +
      `rss ${before[i].rssMb.toFixed(0)} -> ${after[i].rssMb.toFixed(0)} MB`,
  );
}
console.log(`  throughput appstats / otel: ${(rps(appstats) / rps(otel)).toFixed(3)}x`);
console.log(`  p99 appstats / otel: ${(median(appstats.p99s) / median(otel.p99s)).toFixed(3)}x`);
const stats = after[1].appstats;
if (stats) {
  console.log(`  appstats processor: ${JSON.stringify(stats.processor)}`);
  console.log(`  appstats exporter: ${JSON.stringify(stats.exporter)}`);
}
