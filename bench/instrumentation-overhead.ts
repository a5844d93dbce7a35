/**
 * Per-call cost of the memjs and Datastore instrumentations, side by side in one run against the
 * same real servers (memcached, the Datastore emulator), rounds interleaved so drift hits all:
 *   - bare:        the instrumentation disabled (memjs / the client as installed)
 *   - spans:       instrumented, an SDK with a no-op processor (the cost of the wrapper and the span)
 *   - appstats:    instrumented, AppstatsSpanProcessor + exporter (MemoryStore), calls grouped 10 per
 *                  request under a SERVER span, call sites captured
 *   - no stacks:   the same with `captureStacks: false`
 * Then the call-site capture alone (captureCallSites at the depth of a real call) and its formatting.
 * Reported per call, sequential calls: wall time (latency: includes the server and whatever else the
 * machine runs) and this process's CPU time (user + system: what the client side costs, the figure
 * that isolates the instrumentation from a noisy neighbour).
 * Run: node --import tsx bench/instrumentation-overhead.ts [memjsBatch=200] [datastoreBatch=40] [rounds=25]
 */
import { createRequire } from 'node:module';
import type * as DatastoreModule from '@google-cloud/datastore';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import type { SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type memjsTypes from 'memjs';
import { captureCallSites, formatCallSites } from '../core/call-site.js';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { DatastoreInstrumentation } from '../instrumentations/datastore/index.js';
import { MemjsInstrumentation } from '../instrumentations/memjs/index.js';
import { MemoryStore } from '../stores/memory-store.js';
import { startDatastoreEmulator } from '../test/helpers/datastore-emulator.js';
import { startMemcached } from '../test/helpers/memcached.js';

/** Calls per batch; each round runs one batch per mode, so drift and neighbours hit every mode alike. */
const MEMJS_CALLS = Number(process.argv[2] ?? 200);
const DATASTORE_CALLS = Number(process.argv[3] ?? 40);
const ROUNDS = Number(process.argv[4] ?? 25);
const CALLS_PER_REQUEST = 10;

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

const noop: SpanProcessor = {
  onStart() {},
  onEnd() {},
  forceFlush: async () => {},
  shutdown: async () => {},
};

type Mode = 'bare' | 'spans' | 'appstats' | 'no stacks';
const MODES: Mode[] = ['bare', 'spans', 'appstats', 'no stacks'];

function providerFor(mode: Mode): { provider: NodeTracerProvider; processor?: AppstatsSpanProcessor } {
  if (mode === 'spans' || mode === 'bare')
    return { provider: new NodeTracerProvider({ spanProcessors: [noop] }) };
  const processor = new AppstatsSpanProcessor({
    exporter: new AppstatsExporter({ store: new MemoryStore() }),
    captureStacks: mode === 'appstats',
  });
  return { provider: new NodeTracerProvider({ spanProcessors: [processor] }), processor };
}

interface Sample {
  wallUs: number;
  cpuUs: number;
}

/** Runs `calls` sequential calls, grouped in requests (a SERVER span each); returns µs per call. */
async function timed(
  mode: Mode,
  instrumentations: { enable(): void; disable(): void; setTracerProvider(p: NodeTracerProvider): void }[],
  calls: number,
  call: (i: number) => Promise<unknown>,
): Promise<Sample> {
  const { provider, processor } = providerFor(mode);
  for (const instrumentation of instrumentations) {
    instrumentation.setTracerProvider(provider);
    if (mode === 'bare') instrumentation.disable();
    else instrumentation.enable();
  }
  const tracer = provider.getTracer('bench');
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < calls; i += CALLS_PER_REQUEST) {
    const root = tracer.startSpan('GET', { kind: SpanKind.SERVER, attributes: { 'url.path': '/bench' } });
    await context.with(trace.setSpan(context.active(), root), async () => {
      for (let j = i; j < Math.min(calls, i + CALLS_PER_REQUEST); j++) await call(j);
    });
    root.end();
  }
  // Records still being written belong to the cost: wait for them inside the measurement.
  await processor?.forceFlush();
  const cpu = process.cpuUsage(cpuStart);
  const sample = {
    wallUs: ((performance.now() - start) * 1000) / calls,
    cpuUs: (cpu.user + cpu.system) / calls,
  };
  await provider.shutdown();
  return sample;
}

async function compare(
  name: string,
  instrumentations: Parameters<typeof timed>[1],
  calls: number,
  call: (i: number) => Promise<unknown>,
): Promise<Record<Mode, Sample>> {
  // Warm-up, five batches per mode: connections, both JITs (the emulator is Java), caches.
  for (let round = 0; round < 5; round++)
    for (const mode of MODES) await timed(mode, instrumentations, calls, call);
  const samples: Record<Mode, Sample[]> = { bare: [], spans: [], appstats: [], 'no stacks': [] };
  for (let round = 0; round < ROUNDS; round++)
    for (const mode of MODES) samples[mode].push(await timed(mode, instrumentations, calls, call));
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const result = {} as Record<Mode, Sample>;
  for (const mode of MODES)
    result[mode] = {
      wallUs: median(samples[mode].map((sample) => sample.wallUs)),
      cpuUs: median(samples[mode].map((sample) => sample.cpuUs)),
    };
  console.log(`\n${name}: ${ROUNDS} rounds of ${calls} sequential calls per mode, medians per call`);
  console.log(`  mode         wall µs  ratio     cpu µs  ratio  +cpu µs`);
  for (const mode of MODES) {
    const { wallUs, cpuUs } = result[mode];
    const cells = [
      wallUs.toFixed(1).padStart(9),
      (wallUs / result.bare.wallUs).toFixed(2).padStart(6),
      '  ',
      cpuUs.toFixed(1).padStart(8),
      (cpuUs / result.bare.cpuUs).toFixed(2).padStart(6),
      (cpuUs - result.bare.cpuUs).toFixed(1).padStart(8),
    ];
    console.log(`  ${mode.padEnd(10)} ${cells.join(' ')}`);
  }
  return result;
}

/**
 * The memjs wrapper alone, without I/O: a client whose `perform` answers at once, so the server and
 * the socket are out of the figure; spans to a no-op processor.
 */
async function memjsWithoutIo(
  memjs: typeof memjsTypes,
  instrumentation: MemjsInstrumentation,
): Promise<void> {
  const client = memjs.Client.create('127.0.0.1:1', { logger: { log() {} } }) as memjsTypes.Client & {
    perform: (...args: unknown[]) => void;
  };
  const answer = { header: { status: 0, opcode: 0 }, val: Buffer.alloc(800), extras: Buffer.alloc(4) };
  client.perform = (_key, _request, _seq, callback) =>
    (callback as (e: null, r: unknown) => void)(null, answer);
  const provider = new NodeTracerProvider({ spanProcessors: [noop] });
  instrumentation.setTracerProvider(provider);
  const calls = 2000;
  const batch = async () => {
    const start = performance.now();
    for (let i = 0; i < calls; i++) await client.get('user:42');
    return ((performance.now() - start) * 1000) / calls;
  };
  const on: number[] = [];
  const off: number[] = [];
  for (let round = 0; round < 30; round++) {
    instrumentation.enable();
    on.push(await batch());
    instrumentation.disable();
    off.push(await batch());
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(`\nmemjs get without I/O (perform answers at once), 30 rounds of ${calls} calls`);
  console.log(
    `  bare ${median(off).toFixed(2)} µs, instrumented ${median(on).toFixed(2)} µs: the wrapper and its span cost ${(median(on) - median(off)).toFixed(2)} µs per call`,
  );
  await provider.shutdown();
}

/** A stack as deep as a call from a handler in a framework: captured at depth, formatted. */
function callSiteCost(): void {
  const depth = 30;
  const iterations = 20_000;
  const nest = (n: number, run: () => void): void => (n === 0 ? run() : nest(n - 1, run));
  let captured = captureCallSites();
  nest(depth, () => {
    for (let i = 0; i < 1000; i++) captured = captureCallSites();
  });
  let start = 0;
  let captureUs = 0;
  nest(depth, () => {
    start = performance.now();
    for (let i = 0; i < iterations; i++) captured = captureCallSites();
    captureUs = ((performance.now() - start) * 1000) / iterations;
  });
  const sites = Array.from({ length: 2000 }, () => {
    let one = captureCallSites();
    nest(depth, () => {
      one = captureCallSites();
    });
    return one;
  });
  start = performance.now();
  let frames = 0;
  for (const site of sites) frames += formatCallSites(site).length;
  const formatUs = ((performance.now() - start) * 1000) / sites.length;
  console.log(`\ncall-site capture at a depth of ${depth} frames (${iterations} captures)`);
  console.log(`  captureCallSites  ${captureUs.toFixed(2)} µs per span (on the request path)`);
  console.log(
    `  formatCallSites   ${formatUs.toFixed(2)} µs per span (when the record is built; ${(frames / sites.length).toFixed(0)} frames kept)`,
  );
  void captured;
}

const [memcached, emulator] = await Promise.all([startMemcached(), startDatastoreEmulator('datastore')]);
Object.assign(process.env, emulator.env);
const memjsInstrumentation = new MemjsInstrumentation();
const datastoreInstrumentation = new DatastoreInstrumentation();
const require = createRequire(import.meta.url);
const memjs = require('memjs') as typeof memjsTypes;
const { Datastore } = require('@google-cloud/datastore') as typeof DatastoreModule;
try {
  console.log(`node ${process.version}, ${new Date().toISOString()}`);
  const client = memjs.Client.create(memcached.address, { logger: { log() {} } });
  await client.set('bench:hit', Buffer.alloc(800, 1));
  await compare('memjs get (hit, 800 bytes)', [memjsInstrumentation], MEMJS_CALLS, () =>
    client.get('bench:hit'),
  );
  await compare('memjs set (800 bytes)', [memjsInstrumentation], MEMJS_CALLS, (i) =>
    client.set(`bench:${i % 100}`, Buffer.alloc(800, 2), { expires: 60 }),
  );
  client.close();

  const datastore = new Datastore({ projectId: 'appstats-bench', apiEndpoint: emulator.host });
  await datastore.save({ key: datastore.key(['Bench', 1]), data: { name: 'x'.repeat(100) } });
  await compare('datastore get (Lookup, 1 key)', [datastoreInstrumentation], DATASTORE_CALLS, () =>
    datastore.get(datastore.key(['Bench', 1])),
  );
  await compare('datastore runQuery (10 entities)', [datastoreInstrumentation], DATASTORE_CALLS, () =>
    datastore.createQuery('Bench').limit(10).run(),
  );
  await memjsWithoutIo(memjs, memjsInstrumentation);
  callSiteCost();
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  memjsInstrumentation.disable();
  datastoreInstrumentation.disable();
  await Promise.all([memcached.stop(), emulator.stop()]);
  process.exit();
}
