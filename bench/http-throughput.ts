/**
 * HTTP throughput of a small app (bench/http-app.ts), side by side in one run: no tracing, plain
 * OTel (http instrumentation + BatchSpanProcessor, no-op exporter), and plain OTel + appstats
 * recording every request into a real memcached. autocannon drives each variant in turn, rounds
 * interleaved; the median req/s per variant is reported with the ratios. Target: appstats >= 0.95x
 * of plain OTel.
 * Run: node --import tsx bench/http-throughput.ts [seconds=8] [rounds=3] [connections=20]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startMemcached } from '../test/helpers/memcached.js';

const SECONDS = Number(process.argv[2] ?? 8);
const ROUNDS = Number(process.argv[3] ?? 3);
const CONNECTIONS = Number(process.argv[4] ?? 20);
const app = fileURLToPath(new URL('./http-app.ts', import.meta.url));

const memcached = await startMemcached();

async function measure(variant: string): Promise<{ rps: number; p99: number; cpuPerRequest: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', app, variant, memcached.address], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => {
    output += chunk;
  });
  while (!output.includes('\n')) await once(child.stdout!, 'data');
  const url = `http://127.0.0.1:${Number(output.split('\n')[0])}/`;
  await autocannon({ url, connections: CONNECTIONS, duration: 1 }); // warm up
  const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
  const usage = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as { served: number; cpuMicros: number };
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${variant}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    cpuPerRequest: usage.cpuMicros / usage.served,
  };
}

const variants = ['none', 'otel', 'appstats', 'appstats-every-stack', 'appstats-no-stacks'] as const;
const runs: Record<string, { rps: number; p99: number; cpuPerRequest: number }[]> = Object.fromEntries(
  variants.map((v) => [v, []]),
);
for (let round = 0; round < ROUNDS; round++) {
  for (const variant of variants) {
    const r = await measure(variant);
    runs[variant].push(r);
    console.log(
      `round ${round + 1} ${variant}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99} ms, ${r.cpuPerRequest.toFixed(0)} us CPU/request`,
    );
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rps = Object.fromEntries(variants.map((v) => [v, median(runs[v].map((r) => r.rps))]));
const p99 = Object.fromEntries(variants.map((v) => [v, median(runs[v].map((r) => r.p99))]));
const cpu = Object.fromEntries(variants.map((v) => [v, median(runs[v].map((r) => r.cpuPerRequest))]));
console.log(
  `HTTP throughput, ${CONNECTIONS} connections, ${SECONDS} s x ${ROUNDS} rounds, medians: req/s (p99 ms) app CPU us/request`,
);
for (const v of variants)
  console.log(`  ${v.padEnd(9)} ${rps[v].toFixed(0)} (${p99[v]}) ${cpu[v].toFixed(0)}`);
console.log(`  app CPU per request, appstats / plain OTel: ${(cpu.appstats / cpu.otel).toFixed(3)}x`);
console.log(`  appstats / plain OTel: ${(rps.appstats / rps.otel).toFixed(3)}x (target >= 0.95x)`);
console.log(`  appstats-every-stack / plain OTel: ${(rps['appstats-every-stack'] / rps.otel).toFixed(3)}x`);
console.log(`  appstats-no-stacks / plain OTel: ${(rps['appstats-no-stacks'] / rps.otel).toFixed(3)}x`);
console.log(`  plain OTel / no tracing: ${(rps.otel / rps.none).toFixed(3)}x`);
await memcached.stop();
