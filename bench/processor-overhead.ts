/**
 * Main-thread cost per recorded request (1 SERVER + 20 CLIENT spans), side by side in one run:
 *   - bare:     the SDK with a no-op processor (the cost of making the spans at all)
 *   - appstats: AppstatsSpanProcessor + AppstatsExporter (MemoryStore), defaults: grouping,
 *               call-site capture (within the default budget of 2000 stacks a second), record
 *               building, size check, encoding and deflate; also with a stack for every call (no
 *               budget) and with no stacks
 *   - otlp:     BatchSpanProcessor + an exporter that serialises to OTLP JSON (what a plain OTel
 *               pipeline spends before the network)
 * Reported: (appstats - bare) / (otlp - bare). Target <= 0.5.
 * Every variant yields to the event loop every YIELD_EVERY requests, as a server between requests
 * does: without it the exporter never builds nor writes during the loop (both wait for a turn of
 * the event loop), its queue (`maxQueueBytes`) fills and the rest are dropped unbuilt, which
 * measured dropping, not recording. Each appstats run checks that every request was written.
 * Run: node --import tsx bench/processor-overhead.ts [requests=3000] [rounds=5]
 */
import { context, SpanKind, trace } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import {
  BatchSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor, type AppstatsSpanProcessorOptions } from '../exporter/span-processor.js';
import { MemoryStore } from '../stores/memory-store.js';

const REQUESTS = Number(process.argv[2] ?? 3000);
const ROUNDS = Number(process.argv[3] ?? 5);
const CALLS = 20;
const YIELD_EVERY = 20;

class OtlpJsonExporter implements SpanExporter {
  bytes = 0;
  export(spans: ReadableSpan[], done: (result: { code: ExportResultCode }) => void): void {
    this.bytes += JsonTraceSerializer.serializeRequest(spans)?.length ?? 0;
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

const noop: SpanProcessor = {
  onStart() {},
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

/** One request's worth of spans, as http + memjs/datastore instrumentations would make them. */
function request(tracer: ReturnType<typeof trace.getTracer>, n: number): void {
  const root = tracer.startSpan('GET', {
    kind: SpanKind.SERVER,
    attributes: {
      'http.request.method': 'GET',
      'url.path': '/guestbook',
      'url.query': `page=${n}`,
      'http.response.status_code': 200,
    },
  });
  const ctx = trace.setSpan(context.active(), root);
  for (let i = 0; i < CALLS; i++) {
    const span = tracer.startSpan(
      'memcache.Get',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'appstats.call': i % 4 === 0 ? 'datastore.Lookup' : 'memcache.Get',
          'appstats.request_summary': `key="greeting:${n}:${i}"`,
          'appstats.response_summary': 'hit 812 bytes',
          'db.system.name': 'memcached',
          'db.operation.name': 'get',
          'server.address': '127.0.0.1',
          'server.port': 11211,
        },
      },
      ctx,
    );
    span.end();
  }
  root.end();
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(tracer: ReturnType<typeof trace.getTracer>, requests: number): Promise<void> {
  for (let n = 0; n < requests; n++) {
    request(tracer, n);
    if (n % YIELD_EVERY === YIELD_EVERY - 1) await yieldToLoop();
  }
}

function appstatsProcessor(options: Partial<AppstatsSpanProcessorOptions> = {}): AppstatsSpanProcessor {
  return new AppstatsSpanProcessor({
    exporter: new AppstatsExporter({ store: new MemoryStore() }),
    ...options,
  });
}

async function timeVariant(name: string, processor: SpanProcessor): Promise<number> {
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  const tracer = provider.getTracer('bench');
  await run(tracer, 200); // warm up
  await provider.forceFlush();
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  await run(tracer, REQUESTS);
  await provider.forceFlush();
  const cpu = process.cpuUsage(t0);
  const wall = performance.now() - w0;
  if (processor instanceof AppstatsSpanProcessor) {
    const exporter = (processor as unknown as { _exporter: AppstatsExporter })._exporter;
    const { exported, dropped, failed } = exporter.stats();
    if (exported !== REQUESTS + 200 || dropped + failed > 0)
      throw new Error(
        `${name}: ${exported} records written of ${REQUESTS + 200}, ${dropped} dropped, ${failed} failed`,
      );
  }
  await provider.shutdown();
  // CPU time of this process: the main thread plus zlib/GC helpers; wall time on an idle loop is
  // the same work seen from the app's side. Report the smaller-noise CPU figure per request.
  const perRequestUs = (cpu.user + cpu.system) / REQUESTS;
  if (process.env.BENCH_VERBOSE)
    console.log(
      `${name}: ${perRequestUs.toFixed(1)} us cpu, ${((wall * 1000) / REQUESTS).toFixed(1)} us wall`,
    );
  return perRequestUs;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

const results: Record<string, number[]> = { bare: [], appstats: [], everyStack: [], noStacks: [], otlp: [] };
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved, so drift in machine load hits every variant alike.
  results.bare.push(await timeVariant('bare', noop));
  results.appstats.push(await timeVariant('appstats', appstatsProcessor()));
  results.everyStack.push(
    await timeVariant('appstats, a stack for every call', appstatsProcessor({ maxStackTimeShare: 1 })),
  );
  results.noStacks.push(
    await timeVariant('appstats, captureStacks: false', appstatsProcessor({ captureStacks: false })),
  );
  results.otlp.push(
    await timeVariant(
      'otlp',
      new BatchSpanProcessor(new OtlpJsonExporter(), {
        maxQueueSize: 100_000,
        maxExportBatchSize: 512,
        scheduledDelayMillis: 1,
      }),
    ),
  );
}
const bare = median(results.bare);
const appstats = median(results.appstats) - bare;
const noStacks = median(results.noStacks) - bare;
const everyStack = median(results.everyStack) - bare;
const otlp = median(results.otlp) - bare;
console.log(
  `processor overhead per request (1 SERVER + ${CALLS} CLIENT spans), median of ${ROUNDS} rounds x ${REQUESTS} requests, CPU us:`,
);
console.log(`  making the spans (bare SDK): ${bare.toFixed(1)} us`);
console.log(`  appstats, defaults (stack budget 2000/s): +${appstats.toFixed(1)} us`);
console.log(`  appstats, a stack for every call:        +${everyStack.toFixed(1)} us`);
console.log(`  appstats with captureStacks: false:      +${noStacks.toFixed(1)} us`);
console.log(`  BatchSpanProcessor + OTLP JSON:          +${otlp.toFixed(1)} us`);
console.log(`  ratio appstats / OTLP: ${(appstats / otlp).toFixed(2)}x (target <= 0.5x)`);
console.log(`  ratio appstats with every stack / OTLP: ${(everyStack / otlp).toFixed(2)}x`);
console.log(`  ratio appstats without stacks / OTLP: ${(noStacks / otlp).toFixed(2)}x`);
