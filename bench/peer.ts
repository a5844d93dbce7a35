/**
 * Peer comparison (issue 11): what appstats costs the app beside what users already run. One app
 * (bench/http-app.ts: 10 memjs gets per request against a real memcached), one process per variant:
 *
 *   none           no tracing
 *   otel           http + memjs instrumentations, BatchSpanProcessor with an exporter that drops
 *   otlp           the same, BatchSpanProcessor + OTLPTraceExporter (protobuf over HTTP) to a local
 *                  sink in a process of its own (bench/otlp-sink.ts)
 *   appstats       otel + AppstatsSpanProcessor, defaults, into the real memcached
 *   appstats-otlp  otlp + AppstatsSpanProcessor
 *
 * Each round loads every variant in turn (the order rotated by one each round), first at a fixed
 * offered load well under every variant's capacity (autocannon's overallRate), where the app's
 * CPU per request (process.cpuUsage in the app, read over IPC just before and after) is steady
 * from run to run; then at saturation (no rate), for req/s. Medians over the rounds, and the
 * medians of the per-round ratios (a round's variants ran minutes apart at most, so drift in the
 * machine's load cancels out of its ratios). Targets: appstats / otel CPU per request at the fixed
 * load <= 1.1x; saturation req/s appstats / otel >= 0.9x.
 *
 * Run (quiet machine): node --import tsx bench/peer.ts [--rounds=3] [--fixed=10] [--saturation=10]
 *   [--rate=400] [--connections=20] [--warmup=3] [--variants=none,otel,otlp,appstats,appstats-otlp]
 * Profile where appstats's CPU goes: --profile=DIR runs one variant (--profiled=appstats) alone
 * under the fixed load (--warmup, then --fixed seconds) with node --cpu-prof into DIR and prints
 * bench/profile-summary.ts's summary of the measured window.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { startMemcached } from '../test/helpers/memcached.js';
import { printProfileSummary } from './profile-summary.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    fixed: { type: 'string', default: '10' },
    saturation: { type: 'string', default: '10' },
    rate: { type: 'string', default: '400' },
    connections: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    variants: { type: 'string', default: 'none,otel,otlp,appstats,appstats-otlp' },
    profile: { type: 'string' },
    profiled: { type: 'string', default: 'appstats' },
  },
});
const ROUNDS = Number(args.rounds);
const FIXED_S = Number(args.fixed);
const SATURATION_S = Number(args.saturation);
const RATE = Number(args.rate);
const CONNECTIONS = Number(args.connections);
const WARMUP_S = Number(args.warmup);
const PROFILED = args.profiled ?? 'appstats';
const VARIANTS = args.profile ? [PROFILED] : (args.variants ?? '').split(',').filter(Boolean);
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

interface Usage {
  served: number;
  cpuMicros: number;
  userMicros: number;
  monotonicMicros: number;
  appstats?: { processor: Record<string, number>; exporter: Record<string, number> };
}
interface Proc {
  child: ChildProcess;
  port: number;
}
interface Measure {
  rps: number;
  cpuPerRequest: number;
  /** User CPU alone: appstats's work is the app's own code; system time (socket writes, with the
   * loopback delivery the kernel does in the writer's time) swings with the machine's load. */
  userPerRequest: number;
  p99: number;
  /** When the load ran, on the app's monotonic clock. */
  window: { fromUs: number; toUs: number };
}
type Figure = 'rps' | 'cpuPerRequest' | 'userPerRequest' | 'p99';

/** A node process of ours with an IPC channel; resolves once it printed its port. */
async function startProcess(file: string, argv: string[], nodeArgs: string[] = [], env = {}): Promise<Proc> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', file, ...argv], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  while (!output.includes('\n')) {
    const exited = once(child, 'exit').then(() => 'exit');
    if ((await Promise.race([once(child.stdout!, 'data'), exited])) === 'exit')
      throw new Error(`${file} ${argv.join(' ')} exited before listening`);
  }
  return { child, port: Number(output.split('\n')[0]) };
}

async function ask<T>(proc: Proc): Promise<T> {
  const answer = once(proc.child, 'message');
  proc.child.send('usage');
  return (await answer)[0] as T;
}

async function stop(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null) return;
  const exited = once(proc.child, 'exit');
  proc.child.kill('SIGTERM');
  await exited;
}

/** One load run against a variant: req/s, and the app's CPU per request served meanwhile. */
async function load(proc: Proc, seconds: number, rate?: number): Promise<Measure> {
  const before = await ask<Usage>(proc);
  const result = await autocannon({
    url: `http://127.0.0.1:${proc.port}/`,
    connections: CONNECTIONS,
    duration: seconds,
    ...(rate ? { overallRate: rate } : {}),
  });
  const after = await ask<Usage>(proc);
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  return {
    rps: result.requests.average,
    cpuPerRequest: (after.cpuMicros - before.cpuMicros) / (after.served - before.served),
    userPerRequest: (after.userMicros - before.userMicros) / (after.served - before.served),
    p99: result.latency.p99,
    window: { fromUs: before.monotonicMicros, toUs: after.monotonicMicros },
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

const memcached = await startMemcached();
const sink = await startProcess(here('./otlp-sink.ts'), []);
const env = { BENCH_OTLP_URL: `http://127.0.0.1:${sink.port}/v1/traces` };
const apps = new Map<string, Proc>();
try {
  if (args.profile) {
    const dir = resolve(args.profile);
    mkdirSync(dir, { recursive: true });
    const app = await startProcess(
      here('./http-app.ts'),
      [PROFILED, memcached.address],
      ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      env,
    );
    await load(app, WARMUP_S, RATE);
    const m = await load(app, FIXED_S, RATE);
    console.log(
      `${PROFILED} at ${RATE} req/s offered: ${m.rps.toFixed(0)} req/s, ${m.cpuPerRequest.toFixed(0)} us CPU/request`,
    );
    await stop(app); // the profile is written as the process exits
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile: thread 0 is the app's main thread (tsx's
    // module hooks run in a worker, with a profile of their own).
    const newest = readdirSync(dir)
      .filter((file) => file.endsWith('.cpuprofile') && file.split('.')[4] === '0')
      .map((file) => join(dir, file))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    // The measured load only: not the start-up (module loading, compiling) nor the warm-up.
    printProfileSummary(newest, 25, m.window);
  } else {
    for (const variant of VARIANTS)
      apps.set(variant, await startProcess(here('./http-app.ts'), [variant, memcached.address], [], env));
    for (const variant of VARIANTS) await load(apps.get(variant)!, WARMUP_S, RATE);
    const fixed = new Map<string, Measure[]>(VARIANTS.map((v) => [v, []]));
    const saturated = new Map<string, Measure[]>(VARIANTS.map((v) => [v, []]));
    for (let round = 0; round < ROUNDS; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]);
      for (const variant of order) {
        const f = await load(apps.get(variant)!, FIXED_S, RATE);
        const s = await load(apps.get(variant)!, SATURATION_S);
        fixed.get(variant)!.push(f);
        saturated.get(variant)!.push(s);
        console.log(
          `round ${round + 1} ${variant.padEnd(13)} at ${RATE}/s: ${f.rps.toFixed(0)} req/s, ` +
            `${f.cpuPerRequest.toFixed(0)} us CPU/req (user ${f.userPerRequest.toFixed(0)}) | saturated: ${s.rps.toFixed(0)} req/s, ` +
            `${s.cpuPerRequest.toFixed(0)} us CPU/req, p99 ${s.p99} ms`,
        );
      }
    }
    report(fixed, saturated);
    for (const variant of VARIANTS.filter((v) => v.startsWith('appstats'))) {
      const { appstats } = await ask<Usage>(apps.get(variant)!);
      const e = appstats?.exporter ?? {};
      console.log(
        `  ${variant} exporter: ${e.exported} written, ${e.dropped} dropped, ${e.failed} failed; ` +
          `processor: ${appstats?.processor.droppedRequests} requests not recorded (caps)`,
      );
    }
    const received = await ask<{ requests: number; bytes: number }>(sink);
    console.log(
      `  OTLP sink: ${received.requests} export requests, ${(received.bytes / 2 ** 20).toFixed(1)} MiB`,
    );
  }
} finally {
  for (const app of apps.values()) await stop(app);
  await stop(sink);
  await memcached.stop();
}

function report(fixed: Map<string, Measure[]>, saturated: Map<string, Measure[]>): void {
  const med = (runs: Map<string, Measure[]>, v: string, key: Figure) =>
    median(runs.get(v)!.map((m) => m[key]));
  console.log(
    `\nPeer comparison: ${ROUNDS} round(s), ${FIXED_S} s at ${RATE} req/s offered + ${SATURATION_S} s saturated, ` +
      `${CONNECTIONS} connections; medians`,
  );
  console.log(
    '  variant        at fixed load: req/s  CPU us/req (user) | saturated req/s  CPU us/req  p99 ms',
  );
  for (const v of VARIANTS)
    console.log(
      `  ${v.padEnd(14)} ${med(fixed, v, 'rps').toFixed(0).padStart(20)} ` +
        `${med(fixed, v, 'cpuPerRequest').toFixed(0).padStart(11)} (${med(fixed, v, 'userPerRequest').toFixed(0)}) | ` +
        `${med(saturated, v, 'rps').toFixed(0).padStart(15)} ${med(saturated, v, 'cpuPerRequest').toFixed(0).padStart(11)} ` +
        `${med(saturated, v, 'p99').toFixed(0).padStart(7)}`,
    );
  // Per round, then the median: each round's variants ran close together in time.
  const ratio = (runs: Map<string, Measure[]>, a: string, b: string, key: Figure) => {
    if (!runs.has(a) || !runs.has(b)) return undefined;
    return median(runs.get(a)!.map((m, i) => m[key] / runs.get(b)![i][key]));
  };
  const line = (label: string, value: number | undefined, target = '') => {
    if (value !== undefined) console.log(`  ${label}: ${value.toFixed(3)}x${target}`);
  };
  line(
    'CPU/request at fixed load, appstats / otel',
    ratio(fixed, 'appstats', 'otel', 'cpuPerRequest'),
    ' (target <= 1.1x)',
  );
  line('user CPU/request at fixed load, appstats / otel', ratio(fixed, 'appstats', 'otel', 'userPerRequest'));
  line('CPU/request at fixed load, appstats / otlp', ratio(fixed, 'appstats', 'otlp', 'cpuPerRequest'));
  line(
    'CPU/request at fixed load, appstats-otlp / otlp',
    ratio(fixed, 'appstats-otlp', 'otlp', 'cpuPerRequest'),
  );
  line('CPU/request at fixed load, otlp / otel', ratio(fixed, 'otlp', 'otel', 'cpuPerRequest'));
  line('CPU/request at fixed load, otel / none', ratio(fixed, 'otel', 'none', 'cpuPerRequest'));
  line('saturated req/s, appstats / otel', ratio(saturated, 'appstats', 'otel', 'rps'), ' (target >= 0.9x)');
  line('saturated req/s, appstats / otlp', ratio(saturated, 'appstats', 'otlp', 'rps'));
  line('saturated req/s, appstats-otlp / otlp', ratio(saturated, 'appstats-otlp', 'otlp', 'rps'));
  const increment = (a: string, b: string) =>
    fixed.has(a) && fixed.has(b)
      ? median(fixed.get(a)!.map((m, i) => m.cpuPerRequest - fixed.get(b)![i].cpuPerRequest)).toFixed(0)
      : 'n/a';
  console.log(
    `  increments at fixed load (us/request): appstats - otel ${increment('appstats', 'otel')}, ` +
      `otlp - otel ${increment('otlp', 'otel')}, appstats-otlp - otlp ${increment('appstats-otlp', 'otlp')}`,
  );
}
