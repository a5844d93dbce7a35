/**
 * The small app the throughput benchmark loads: each request reads 10 keys from a real memcached
 * through memjs (5 one after another, then 5 at once), as a cached page would.
 * Variant (argv[2]): none (no tracing) | otel (http + memjs instrumentations, BatchSpanProcessor
 * with a no-op exporter) | appstats (the same plus AppstatsSpanProcessor recording every request
 * into the same memcached, default options) | appstats-every-stack (no stack budget) |
 * appstats-no-stacks (captureStacks: false) | otlp (http + memjs instrumentations,
 * BatchSpanProcessor with OTLPTraceExporter, protobuf over HTTP, to BENCH_OTLP_URL) | appstats-otlp
 * (otlp plus AppstatsSpanProcessor, defaults). argv[3]: the memcached address.
 * BENCH_NEVER_END_EVERY=n: every n-th request also starts a client span it never ends (bench/soak.ts).
 * Prints the port it listens on, then serves until killed; SIGUSR2 prints a memory line (after a GC
 * when run with --expose-gc). Started with an IPC channel (bench/peer.ts), it answers the message
 * 'usage' with its CPU so far, the requests served and appstats's stats: no request of the
 * benchmark's own, so nothing traced, is needed to read them.
 */
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type memjsTypes from 'memjs';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { MemjsInstrumentation } from '../instrumentations/memjs/index.js';
import { MemoryStore } from '../stores/memory-store.js';

const variant = process.argv[2] ?? 'none';
const memcacheAddress = process.argv[3] ?? '127.0.0.1:11211';
let appstatsStats: (() => unknown) | undefined;
if (variant !== 'none') {
  const otlp = variant === 'otlp' || variant === 'appstats-otlp';
  const processors: SpanProcessor[] = [
    new BatchSpanProcessor(
      otlp
        ? new OTLPTraceExporter({ url: process.env.BENCH_OTLP_URL ?? 'http://127.0.0.1:4318/v1/traces' })
        : { export: (_spans, done) => done({ code: ExportResultCode.SUCCESS }), shutdown: async () => {} },
    ),
  ];
  if (variant.startsWith('appstats')) {
    const exporter = new AppstatsExporter(
      process.env.BENCH_STORE === 'memory'
        ? { store: new MemoryStore() }
        : { memcache: memcacheAddress, keyPrefix: 'bench' },
    );
    const processor = new AppstatsSpanProcessor({
      exporter,
      captureStacks: variant !== 'appstats-no-stacks' && process.env.BENCH_STACKS !== '0',
      // appstats-every-stack: no stack budget, a stack for every call of every request.
      ...(variant === 'appstats-every-stack' ? { maxStackTimeShare: 1 } : {}),
    });
    appstatsStats = () => ({ processor: processor.stats(), exporter: exporter.stats() });
    processors.push(processor);
  }
  new NodeTracerProvider({ spanProcessors: processors }).register();
  registerInstrumentations({ instrumentations: [new HttpInstrumentation(), new MemjsInstrumentation()] });
}
// Required after the instrumentations are registered, so both modules are the patched ones.
const requireHere = createRequire(import.meta.url);
const http: typeof import('node:http') = requireHere('node:http');
const memjs: typeof memjsTypes = requireHere('memjs');

const cache = memjs.Client.create(memcacheAddress, { logger: { log() {} } });
await Promise.all(
  Array.from({ length: 10 }, (_, i) => cache.set(`greeting:${i}`, `hello ${i} `.repeat(50), {})),
);

let served = 0;
const neverEndEvery = Number(process.env.BENCH_NEVER_END_EVERY ?? 0);
const cpuAtStart = process.cpuUsage();
function memory(): Record<string, unknown> {
  (globalThis as { gc?: () => void }).gc?.();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsedMb: heapUsed / 2 ** 20, rssMb: rss / 2 ** 20, served, appstats: appstatsStats?.() };
}
process.on('SIGUSR2', () => console.log(JSON.stringify({ memory: memory() })));
process.on('message', (message) => {
  if (message !== 'usage') return;
  const cpu = process.cpuUsage(cpuAtStart);
  // The monotonic clock V8's profiler stamps its samples with: a window of a --cpu-prof profile.
  const monotonicMicros = Number(process.hrtime.bigint() / 1000n);
  process.send?.({
    served,
    cpuMicros: cpu.user + cpu.system,
    userMicros: cpu.user,
    monotonicMicros,
    appstats: appstatsStats?.(),
  });
});
// On SIGTERM, report the CPU this process spent per request served: a figure that other processes
// on the machine (the load generator, memcached) disturb less than req/s.
process.on('SIGTERM', () => {
  const cpu = process.cpuUsage(cpuAtStart);
  if (appstatsStats && process.env.BENCH_VERBOSE) console.error(JSON.stringify(appstatsStats()));
  console.log(JSON.stringify({ served, cpuMicros: cpu.user + cpu.system, memory: memory() }));
  process.exit(0);
});

const server = http.createServer(async (_req, res) => {
  served++;
  if (neverEndEvery > 0 && served % neverEndEvery === 0)
    trace.getTracer('bench').startSpan('never.ends', { kind: SpanKind.CLIENT });
  let bytes = 0;
  for (let i = 0; i < 5; i++) bytes += (await cache.get(`greeting:${i}`)).value?.length ?? 0;
  const rest = await Promise.all(Array.from({ length: 5 }, (_, i) => cache.get(`greeting:${i + 5}`)));
  for (const { value } of rest) bytes += value?.length ?? 0;
  res.setHeader('content-type', 'text/plain');
  res.end(`ok ${bytes}`);
});
server.listen(0, '127.0.0.1', () => {
  console.log((server.address() as AddressInfo).port);
});
