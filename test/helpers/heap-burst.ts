/**
 * A child process for test/hardening-memory.test.ts (heap figures need `--expose-gc` and a process
 * of their own): bursts of root spans against an AppstatsSpanProcessor with its default caps,
 * writing to the memcached given.
 *
 *   node --expose-gc --import tsx test/helpers/heap-burst.ts <memcached host:port> [roots=100000]
 *
 * Phase A: `roots` root spans, each with one client call, started and ended as fast as the loop
 * goes (every one becomes a record; the exporter drops what it cannot write in time).
 * Phase B: `roots` root spans that never end, each with calls that never end: the caps decide what
 * is held (maxOpenRequests 1000 requests, maxBufferedSpans 100,000 spans); the age sweep writes them
 * after maxRequestAgeMs (3 s here) and memory must come back.
 * Prints one JSON line with the heap after a full GC at each point and the highest stats seen.
 */
import { context, DiagLogLevel, diag, SpanKind, trace } from '@opentelemetry/api';
import { AppstatsExporter } from '../../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../../exporter/span-processor.js';
import { testProvider } from './tracing.js';

const [memcache, rootsArg] = process.argv.slice(2);
const ROOTS = Number(rootsArg ?? 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

function heapMb(): number {
  gc?.();
  gc?.();
  return Math.round((process.memoryUsage().heapUsed / 1024 / 1024) * 10) / 10;
}

/** What appstats reported through diag: counted drops, rate-limited to a line a minute per kind. */
const diagLines: string[] = [];
diag.setLogger(
  {
    error: (m) => diagLines.push(m),
    warn: (m) => diagLines.push(m),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  DiagLogLevel.WARN,
);

const exporter = new AppstatsExporter({ oneRecordPerSlot: false, memcache, keyPrefix: 'burst' });
const processor = new AppstatsSpanProcessor({ exporter, maxRequestAgeMs: 3000 });
const provider = testProvider([processor], 'burst');
const tracer = provider.getTracer('burst');
const max = { openRequests: 0, bufferedSpans: 0 };
function sample(): void {
  const s = processor.stats();
  if (s.openRequests > max.openRequests) max.openRequests = s.openRequests;
  if (s.bufferedSpans > max.bufferedSpans) max.bufferedSpans = s.bufferedSpans;
}

/** The loop of phase A: a root with one call, both ended at once. */
function burst(t: typeof tracer, i: number): void {
  const root = t.startSpan('GET', {
    kind: SpanKind.SERVER,
    attributes: { 'http.request.method': 'GET', 'url.path': `/burst/${i % 50}` },
  });
  t.startSpan('memcache.Get', { kind: SpanKind.CLIENT }, trace.setSpan(context.active(), root)).end();
  root.end();
}

// The same loop without appstats (an SDK with no processor), for the rate it could reach.
const bare = testProvider([], 'bare').getTracer('bare');
const tBare = performance.now();
for (let i = 0; i < ROOTS; i++) burst(bare, i);
const bareMs = performance.now() - tBare;

const heap: Record<string, number> = { baseline: heapMb() };

// Phase A: roots that end at once, as fast as possible.
const t0 = performance.now();
for (let i = 0; i < ROOTS; i++) {
  burst(tracer, i);
  if (i % 100 === 0) sample();
}
const burstMs = performance.now() - t0;
sample();
await processor.forceFlush();
const afterA = { ...processor.stats(), exporter: exporter.stats() };
heap.afterBurst = heapMb();

// Phase B: roots that never end, with calls that never end.
const held: ReturnType<typeof tracer.startSpan>[] = [];
for (let i = 0; i < ROOTS; i++) {
  const root = tracer.startSpan('job', { kind: SpanKind.SERVER, attributes: { 'url.path': `/never/${i}` } });
  const ctx = trace.setSpan(context.active(), root);
  // Calls for the first 1000 (what maxOpenRequests lets in): 150,000 of them, past maxBufferedSpans.
  for (let c = 0; c < (i < 1000 ? 150 : 0); c++)
    held.push(tracer.startSpan('datastore.Lookup', { kind: SpanKind.CLIENT }, ctx));
  held.push(root);
  if (i % 10 === 0) sample();
  // The app drops its references (as a leaking app would not even hold them): only appstats could.
  if (held.length > 10_000) held.length = 0;
}
sample();
const atCaps = processor.stats();
heap.capsFull = heapMb();

// The age sweep (runs every second) writes every open request once it is 3 s old.
const sweepStart = performance.now();
while (processor.stats().openRequests > 0 && performance.now() - sweepStart < 20_000)
  await new Promise((resolve) => setTimeout(resolve, 100));
await processor.forceFlush();
const afterSweep = processor.stats();
heap.afterSweep = heapMb();
await provider.shutdown();
heap.afterShutdown = heapMb();

process.stdout.write(
  `${JSON.stringify({
    roots: ROOTS,
    burstMs: Math.round(burstMs),
    rootsPerSecond: Math.round(ROOTS / (burstMs / 1000)),
    bareRootsPerSecond: Math.round(ROOTS / (bareMs / 1000)),
    max,
    afterA,
    atCaps,
    afterSweep,
    heapMb: heap,
    diag: diagLines,
  })}\n`,
);
