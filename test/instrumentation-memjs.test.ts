import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, beforeEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { suppressTracing } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type memjsTypes from 'memjs';
import { ATTR_CALL_NAME, ATTR_REQUEST_SUMMARY, ATTR_RESPONSE_SUMMARY } from '../core/attributes.js';
import { decodeRecord, isFullRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor } from '../exporter/span-processor.js';
import { MemjsInstrumentation } from '../instrumentations/memjs/index.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { MemoryStore } from '../stores/memory-store.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { sampleRecord } from './helpers/records.js';
import { CollectingProcessor, testProvider } from './helpers/tracing.js';

const THIS_FILE = fileURLToPath(import.meta.url);
const quietLogger = { log: () => {} };

// Callbacks must come back in the caller's context: that needs a real context manager.
const contextManager = new AsyncLocalStorageContextManager().enable();
context.setGlobalContextManager(contextManager);

const collector = new CollectingProcessor();
const provider = testProvider([collector]);
const tracer = provider.getTracer('test');
// Enabled before memjs is required: the require hook patches it as it loads.
const instrumentation = new MemjsInstrumentation();
instrumentation.setTracerProvider(provider);
instrumentation.enable();
const memjs = createRequire(import.meta.url)('memjs') as typeof memjsTypes;

let server: MemcachedServer;
let second: MemcachedServer;
let client: memjsTypes.Client;
let pair: memjsTypes.Client;

before(async () => {
  [server, second] = await Promise.all([startMemcached(), startMemcached()]);
  client = memjs.Client.create(server.address, { logger: quietLogger });
  pair = memjs.Client.create(`${server.address},${second.address}`, { logger: quietLogger });
});

after(async () => {
  client?.close();
  pair?.close();
  await Promise.all([server?.stop(), second?.stop()]);
  instrumentation.disable();
  contextManager.disable();
});

beforeEach(() => {
  collector.ended.length = 0;
});

/** A span as its record shows it: call name, request summary, response summary. */
function callOf(span: ReadableSpan): unknown[] {
  return [ATTR_CALL_NAME, ATTR_REQUEST_SUMMARY, ATTR_RESPONSE_SUMMARY].map((key) => span.attributes[key]);
}

function callLine(span: ReadableSpan): string {
  const [name, request, response] = callOf(span);
  return `${name} ${request} -> ${response}`;
}

/** The spans ended since the test began, after memjs's callbacks have all run. */
async function spans(): Promise<ReadableSpan[]> {
  await new Promise((resolve) => setImmediate(resolve));
  return [...collector.ended];
}

function only(list: ReadableSpan[]): ReadableSpan {
  assert.equal(list.length, 1, `exactly one span, got ${list.map((s) => s.name).join(', ')}`);
  return list[0];
}

function callback<T extends unknown[]>(run: (cb: (err: Error | null, ...rest: T) => void) => void) {
  return new Promise<T>((resolve, reject) => run((err, ...rest) => (err ? reject(err) : resolve(rest))));
}

describe('MemjsInstrumentation: one CLIENT span per command', () => {
  it('get: miss then hit, promise form, with semconv attributes and summaries', async () => {
    await client.delete('user:42');
    collector.ended.length = 0;
    const miss = await client.get('user:42');
    assert.equal(miss.value, null);
    let span = only(await spans());
    assert.equal(span.name, 'get');
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.equal(span.attributes[ATTR_CALL_NAME], 'memcache.Get');
    assert.equal(span.attributes['db.system.name'], 'memcached');
    assert.equal(span.attributes['db.operation.name'], 'get');
    assert.equal(span.attributes['server.address'], '127.0.0.1');
    assert.equal(span.attributes['server.port'], server.port);
    assert.equal(span.attributes[ATTR_REQUEST_SUMMARY], 'key="user:42"');
    assert.equal(span.attributes[ATTR_RESPONSE_SUMMARY], 'miss');
    assert.equal(span.attributes['db.memcached.hit'], false);
    assert.equal(span.status.code, SpanStatusCode.UNSET);

    await client.set('user:42', Buffer.alloc(812, 1), { expires: 600 });
    collector.ended.length = 0;
    const hit = await client.get('user:42');
    assert.equal(hit.value?.length, 812);
    span = only(await spans());
    assert.equal(span.attributes[ATTR_RESPONSE_SUMMARY], 'hit 812 bytes');
    assert.equal(span.attributes['db.memcached.hit'], true);
    assert.equal(span.attributes['db.memcached.value_bytes'], 812);
  });

  it('get and set: callback form, also exactly one span each', async () => {
    const [ok] = await callback<[boolean | null]>((cb) => client.set('cb:1', 'hello', { expires: 60 }, cb));
    assert.equal(ok, true);
    const [value] = await callback<[Buffer | null, Buffer | null]>((cb) => client.get('cb:1', cb));
    assert.equal(value?.toString(), 'hello');
    const list = await spans();
    assert.deepEqual(list.map(callOf), [
      ['memcache.Set', 'key="cb:1" bytes=5 expires=60', 'stored'],
      ['memcache.Get', 'key="cb:1"', 'hit 5 bytes'],
    ]);
    assert.equal(list[0].attributes['db.memcached.expires'], 60);
    assert.equal(list[0].attributes['db.memcached.value_bytes'], 5);
  });

  it("set: memjs's deprecated (key, value, callback, expires) form", async () => {
    const logged: unknown[] = [];
    const old = memjs.Client.create(server.address, { logger: { log: (...a: unknown[]) => logged.push(a) } });
    try {
      await callback((cb) => (old.set as unknown as (...a: unknown[]) => void)('old:1', 'v', cb, 90));
      const span = only(await spans());
      assert.equal(span.attributes[ATTR_REQUEST_SUMMARY], 'key="old:1" bytes=1 expires=90');
      assert.equal(span.attributes[ATTR_RESPONSE_SUMMARY], 'stored');
    } finally {
      old.close();
    }
  });

  it('add, replace, delete: stored / not stored, deleted / not found', async () => {
    await client.delete('ard');
    collector.ended.length = 0;
    assert.equal(await client.add('ard', 'a'), true);
    assert.equal(await client.add('ard', 'b'), false);
    assert.equal(await client.replace('ard', 'cc'), true);
    assert.equal(await client.delete('ard'), true);
    assert.equal(await client.replace('ard', 'd'), false);
    assert.equal(await client.delete('ard'), false);
    const list = await spans();
    assert.deepEqual(list.map(callLine), [
      'memcache.Add key="ard" bytes=1 -> stored',
      'memcache.Add key="ard" bytes=1 -> not stored',
      'memcache.Replace key="ard" bytes=2 -> stored',
      'memcache.Delete key="ard" -> deleted',
      'memcache.Replace key="ard" bytes=1 -> not stored',
      'memcache.Delete key="ard" -> not found',
    ]);
  });

  it('increment and decrement, both forms, with initial and the new value', async () => {
    await client.delete('n');
    collector.ended.length = 0;
    const first = await client.increment('n', 5, { initial: 10 });
    assert.deepEqual(first, { success: true, value: 10 });
    const [, value] = await callback<[boolean | null, number | null]>((cb) =>
      client.increment('n', 5, {}, cb as never),
    );
    assert.equal(value, 15);
    assert.equal((await client.decrement('n', 3, {})).value, 12);
    const list = await spans();
    assert.deepEqual(list.map(callLine), [
      'memcache.Increment key="n" amount=5 initial=10 -> value=10',
      'memcache.Increment key="n" amount=5 -> value=15',
      'memcache.Decrement key="n" amount=3 -> value=12',
    ]);
  });

  it('append, prepend and touch', async () => {
    await client.set('ap', 'mid');
    collector.ended.length = 0;
    assert.equal(await client.append('ap', '>>'), true);
    assert.equal(await client.prepend('ap', '<<'), true);
    // memcached answers NOT_STORED, and memjs makes that an error: the app sees it, so does the record.
    await assert.rejects(client.append('absent-key', 'x'), /MemJS APPEND: Item not stored/);
    assert.equal(await client.touch('ap', 300), true);
    assert.equal(await client.touch('absent-key', 300), false);
    const list = await spans();
    assert.deepEqual(list.map(callLine), [
      'memcache.Append key="ap" bytes=2 -> stored',
      'memcache.Prepend key="ap" bytes=2 -> stored',
      'memcache.Append key="absent-key" bytes=1 -> error: MemJS APPEND: Item not stored',
      'memcache.Touch key="ap" expires=300 -> touched',
      'memcache.Touch key="absent-key" expires=300 -> not found',
    ]);
  });

  it('flush (both forms) and stats / statsWithKey / resetStats: one span for all servers', async () => {
    await pair.flush();
    await callback((cb) => pair.flush(cb as never));
    const statsAnswers: string[] = [];
    await new Promise<void>((resolve) =>
      pair.stats((err, host) => {
        assert.equal(err, null);
        statsAnswers.push(String(host));
        if (statsAnswers.length === 2) resolve();
      }),
    );
    await new Promise<void>((resolve) => {
      let n = 0;
      pair.statsWithKey('settings', () => ++n === 2 && resolve());
    });
    await new Promise<void>((resolve) => {
      let n = 0;
      pair.resetStats(() => ++n === 2 && resolve());
    });
    const list = await spans();
    assert.deepEqual(list.map(callOf), [
      ['memcache.Flush', 'all servers', 'flushed 2 servers'],
      ['memcache.Flush', 'all servers', 'flushed 2 servers'],
      ['memcache.Stats', 'all servers', list[2].attributes[ATTR_RESPONSE_SUMMARY]],
      ['memcache.Stats', 'all servers', list[3].attributes[ATTR_RESPONSE_SUMMARY]],
      ['memcache.ResetStats', 'all servers', '2 servers, 0 stats'],
    ]);
    assert.match(String(list[2].attributes[ATTR_RESPONSE_SUMMARY]), /^2 servers, \d{2,} stats$/);
    assert.match(String(list[3].attributes[ATTR_RESPONSE_SUMMARY]), /^2 servers, \d{2,} stats$/);
    // Many servers: no single server.address.
    assert.equal(list[0].attributes['server.address'], undefined);
  });

  it('server.address/port name the server memjs maps the key to', async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const key = `spread:${i}`;
      await pair.set(key, 'x');
      const span = collector.ended.at(-1)!;
      const expected = (pair as unknown as { server(k: string): { port: number } }).server(key).port;
      assert.equal(span.attributes['server.port'], expected);
      ports.add(expected);
    }
    assert.deepEqual([...ports].sort(), [server.port, second.port].sort(), 'keys spread over both servers');
  });

  it('summaries are bounded by maxRepr (default 100) and keep the fields after a long key', async () => {
    const key = `k${'x'.repeat(200)}`;
    await client.set(key, 'v', { expires: 5 });
    const span = only(await spans());
    const summary = String(span.attributes[ATTR_REQUEST_SUMMARY]);
    assert.ok(summary.length <= 100, summary);
    assert.match(summary, /^key="kxxx.*chars\)" bytes=1 expires=5$/);

    instrumentation.setConfig({ maxRepr: 30 });
    try {
      collector.ended.length = 0;
      await client.get(key);
      assert.ok(String(only(await spans()).attributes[ATTR_REQUEST_SUMMARY]).length <= 30);
    } finally {
      instrumentation.setConfig({});
    }
  });
});

describe('MemjsInstrumentation: errors', () => {
  it('a server error (incr on a non-number) -> status ERROR with the exception, both forms', async () => {
    await client.set('text', 'not a number');
    collector.ended.length = 0;
    await assert.rejects(client.increment('text', 1, {}), /MemJS INCREMENT/);
    const [err] = await new Promise<unknown[]>((resolve) =>
      client.increment('text', 1, {}, ((...a: unknown[]) => resolve(a)) as never),
    );
    assert.match(String(err), /MemJS INCREMENT/);
    const list = await spans();
    assert.equal(list.length, 2);
    for (const span of list) {
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.match(String(span.status.message), /MemJS INCREMENT/);
      assert.equal(span.events[0]?.name, 'exception');
      assert.match(String(span.attributes[ATTR_RESPONSE_SUMMARY]), /^error: MemJS INCREMENT/);
    }
  });

  it('an unreachable server -> ERROR, and the error reaches the app unchanged', async () => {
    const dead = memjs.Client.create('127.0.0.1:1', { retries: 1, timeout: 0.2, logger: quietLogger });
    try {
      await assert.rejects(dead.get('k'), (error: Error) => /ECONNREFUSED|connect/i.test(error.message));
      const span = only(await spans());
      assert.equal(span.status.code, SpanStatusCode.ERROR);
      assert.equal(span.attributes['server.port'], 1);
    } finally {
      dead.close();
    }
  });

  it('a command that throws synchronously ends its span and rethrows', async () => {
    // memjs builds the request before sending: a key that is not a string or buffer throws there.
    assert.throws(() => client.get(12345 as unknown as string, () => {}));
    const span = only(await spans());
    assert.equal(span.status.code, SpanStatusCode.ERROR);
  });
});

describe('MemjsInstrumentation: context', () => {
  it('spans are children of the active span; callbacks run in the caller context', async () => {
    await tracer.startActiveSpan('request', async (root) => {
      const inside = await callback<[unknown]>((cb) =>
        client.get('ctx', (err) => cb(err, trace.getActiveSpan())),
      );
      assert.equal(inside[0], root, 'callback sees the caller span, not ours');
      await client.set('ctx', 'v');
      assert.equal(trace.getActiveSpan(), root, 'after await, still the caller span');
      root.end();
    });
    const list = await spans();
    const root = list.find((s) => s.name === 'request')!;
    const calls = list.filter((s) => s.kind === SpanKind.CLIENT);
    assert.equal(calls.length, 2);
    for (const call of calls) assert.equal(call.parentSpanContext?.spanId, root.spanContext().spanId);
  });

  it('requireParentSpan: no span outside a trace', async () => {
    instrumentation.setConfig({ requireParentSpan: true });
    try {
      await client.get('orphan');
      assert.equal((await spans()).length, 0);
      await tracer.startActiveSpan('request', async (root) => {
        await client.get('orphan');
        root.end();
      });
      assert.equal((await spans()).filter((s) => s.kind === SpanKind.CLIENT).length, 1);
    } finally {
      instrumentation.setConfig({});
    }
  });

  it('responseHook adds attributes; a hook that throws changes nothing for the app', async () => {
    instrumentation.setConfig({
      responseHook: (span, info) => {
        span.setAttribute('test.command', info.command);
        throw new Error('hook bug');
      },
    });
    try {
      assert.equal((await client.get('hooked')).value, null);
      assert.equal(only(await spans()).attributes['test.command'], 'get');
    } finally {
      instrumentation.setConfig({});
    }
  });
});

describe('MemjsInstrumentation: suppressed tracing and unpatching', () => {
  it('no span while tracing is suppressed', async () => {
    await context.with(suppressTracing(context.active()), async () => {
      await client.set('quiet', 'v');
      await callback((cb) => client.get('quiet', cb));
    });
    assert.equal((await spans()).length, 0);
  });

  it("the exporter's own memcache writes make no spans", async () => {
    const exporter = new AppstatsExporter({ memcache: server.address });
    try {
      await tracer.startActiveSpan('request', async (root) => {
        exporter.export(sampleRecord({ start: Date.now() }));
        await exporter.forceFlush();
        root.end();
      });
      assert.equal(exporter.stats().exported, 1);
      assert.deepEqual(
        (await spans()).map((s) => s.name),
        ['request'],
      );
      // The record is really there, written through the (patched) memjs.
      const store = new MemcacheStore(server.address);
      try {
        const keys = await store.getParts([recordKey(sampleRecord().start_timestamp_milliseconds, 'part')]);
        assert.equal(keys.errors, 0);
      } finally {
        await store.close();
      }
    } finally {
      await exporter.shutdown();
    }
  });

  it('disable() unpatches: no spans; enable() patches again', async () => {
    instrumentation.disable();
    try {
      await client.set('off', 'v');
      assert.equal((await client.get('off')).value?.toString(), 'v');
      assert.equal((await spans()).length, 0);
    } finally {
      instrumentation.enable();
    }
    await client.get('off');
    assert.equal((await spans()).length, 1);
  });
});

describe('MemjsInstrumentation with the AppstatsSpanProcessor', () => {
  it("records the call with a stack whose first frame is this file's calling line", async () => {
    const store = new MemoryStore();
    const processor = new AppstatsSpanProcessor({ exporter: new AppstatsExporter({ store }) });
    const recording = testProvider([processor]);
    instrumentation.setTracerProvider(recording);
    let start = 0;
    let line = 0;
    try {
      await recording.getTracer('t').startActiveSpan('GET', { kind: SpanKind.SERVER }, async (root) => {
        start = Date.now();
        line = Number(new Error().stack?.split('\n')[1]?.match(/:(\d+):\d+\)?$/)?.[1]) + 1;
        await client.get('stacked');
        root.end();
      });
      await processor.forceFlush();
    } finally {
      instrumentation.setTracerProvider(provider);
    }
    const root = collector.ended.length; // nothing went to the other provider
    assert.equal(root, 0);
    const slotStart = Math.floor(start / 100) * 100;
    let bytes: Uint8Array | undefined;
    for (const t of [slotStart, slotStart - 100, slotStart + 100])
      bytes ??= await store.getFull(recordKey(t, 'full'));
    assert.ok(bytes, 'a full record was written');
    const record = decodeRecord(bytes);
    assert.ok(isFullRecord(record));
    const [call] = record.individual_stats;
    assert.equal(call.service_call_name, 'memcache.Get');
    assert.equal(call.request_data_summary, 'key="stacked"');
    assert.equal(call.response_data_summary, 'miss');
    assert.equal(call.call_stack[0]?.class_or_file_name, THIS_FILE);
    assert.equal(call.call_stack[0]?.line_number, line);
    await processor.shutdown();
  });
});
