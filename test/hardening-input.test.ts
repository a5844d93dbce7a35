import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { constants, deflateRawSync } from 'node:zlib';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import memjs from 'memjs';
import { ATTR_REQUEST_SUMMARY, ATTR_RESPONSE_SUMMARY } from '../core/attributes.js';
import { summarize } from '../core/build-record.js';
import {
  type DecodeFailure,
  decodeRecord,
  encodeRecord,
  isFullRecord,
  RecordDecodeError,
} from '../core/codec.js';
import type { RequestRecord } from '../core/record.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { AppstatsExporter } from '../exporter/exporter.js';
import { AppstatsSpanProcessor, type AppstatsSpanProcessorOptions } from '../exporter/span-processor.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { createViewer } from '../viewer/index.js';
import { textOf } from './helpers/html-text.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { eventually, listen, newRegisteredProvider, TeeExporter } from './helpers/pipeline.js';
import { sampleRecord } from './helpers/records.js';

/**
 * Bad input, with a real memcached:
 * - values no appstats writer would produce, written raw (memjs) at the appstats keys: the viewer
 *   renders the rest and counts what it skipped, a details key holding one is a 404 page saying so,
 *   and `decodeRecord` rejects each with a reason and a message;
 * - requests no sane app makes (10,000 calls, megabyte summaries and names, a 10,000-frame stack,
 *   non-UTF-8 and control characters in the path and headers), through the REAL pipeline
 *   (instrumentation-http, processor, exporter) into memcached: stored under the item limit, cut
 *   where cut, and rendered.
 */
const loopback = () => '127.0.0.1';
const execFileAsync = promisify(execFile);
const MAX_VALUE = 1_000_000;
let memcached: MemcachedServer;
let store: MemcacheStore;

before(async () => {
  // Items up to 4 MB, so oversize values can be written at all (the default limit is 1 MiB).
  memcached = await startMemcached({ maxItemSize: '4m', memoryMb: 256 });
  store = new MemcacheStore(memcached.address);
});

after(async () => {
  await store?.close();
  await memcached?.stop();
});

const marker = (envelope: number, encoding: string) => Buffer.from([0xa5, envelope, encoding.charCodeAt(0)]);
const plain = (json: string) => Buffer.concat([marker(1, 'j'), Buffer.from(json)]);

/** Bad values of every kind, each with the reason `decodeRecord` must give and a word of its message. */
function badValues(): { name: string; bytes: Buffer; reason: DecodeFailure; message: RegExp }[] {
  const good = encodeRecord(sampleRecord({ calls: 40, stackFrames: 8 }));
  assert.equal(good[2], 0x7a, 'a deflated full record, to truncate');
  const goodPart = encodeRecord(summarize(sampleRecord({ calls: 3 })));
  return [
    {
      name: 'text',
      bytes: Buffer.from('some other program was here'),
      reason: 'foreign',
      message: /not an appstats value/,
    },
    {
      name: 'json without marker',
      bytes: Buffer.from(JSON.stringify(summarize(sampleRecord()))),
      reason: 'foreign',
      message: /first byte 0x7b/,
    },
    { name: 'empty', bytes: Buffer.alloc(0), reason: 'truncated', message: /empty value/ },
    { name: 'marker only', bytes: Buffer.from([0xa5]), reason: 'truncated', message: /no header/ },
    {
      name: 'truncated deflate',
      bytes: good.subarray(0, Math.floor(good.length / 2)),
      reason: 'corrupt',
      message: /does not inflate/,
    },
    {
      name: 'truncated plain',
      bytes: goodPart.subarray(0, goodPart.length - 7),
      reason: 'truncated',
      message: /not complete JSON/,
    },
    {
      name: 'envelope v2',
      bytes: Buffer.concat([marker(2, 'j'), goodPart.subarray(3)]),
      reason: 'version',
      message: /envelope version 2/,
    },
    {
      name: 'format v3',
      bytes: plain(JSON.stringify({ ...summarize(sampleRecord()), v: 3 })),
      reason: 'version',
      message: /format version 3/,
    },
    {
      name: 'format v missing',
      bytes: plain('{"http_path":"/"}'),
      reason: 'version',
      message: /format version undefined/,
    },
    {
      name: 'unknown encoding',
      bytes: Buffer.concat([marker(1, 'q'), goodPart.subarray(3)]),
      reason: 'corrupt',
      message: /unknown encoding/,
    },
    {
      // Not random bytes: 1 in 200 random buffers inflates to something (CI saw it fail). 0x07 starts
      // the last block with the reserved block type 3, which no inflater accepts.
      name: 'corrupt deflate (reserved block type)',
      bytes: Buffer.concat([marker(1, 'z'), Buffer.from([0x07]), Buffer.alloc(1999, 0x5a)]),
      reason: 'corrupt',
      message: /does not inflate/,
    },
    { name: 'array', bytes: plain('[1,2,3]'), reason: 'shape', message: /not an object/ },
    { name: 'null', bytes: plain('null'), reason: 'shape', message: /not an object/ },
    {
      name: 'mistyped fields',
      bytes: plain('{"v":1,"start_timestamp_milliseconds":"now","rpc_stats":{}}'),
      reason: 'shape',
      message: /start_timestamp_milliseconds, duration_milliseconds, http_path, http_method, rpc_stats/,
    },
    {
      name: 'NaN start',
      bytes: plain(
        '{"v":1,"start_timestamp_milliseconds":1e999,"duration_milliseconds":1,"http_path":"/","http_method":"GET","rpc_stats":[]}',
      ),
      reason: 'shape',
      message: /start_timestamp_milliseconds/,
    },
    {
      name: 'deflate bomb (65 MiB of zeros)',
      bytes: Buffer.concat([
        marker(1, 'z'),
        deflateRawSync(Buffer.alloc(65 * 1024 * 1024, 0x20), { level: constants.Z_BEST_COMPRESSION }),
      ]),
      reason: 'size',
      message: /inflating past/,
    },
    {
      name: 'oversize (3 MB, past the writer limit)',
      bytes: Buffer.concat([marker(1, 'j'), Buffer.from(`{"v":1,"pad":"${'x'.repeat(3_000_000)}`)]),
      reason: 'size',
      message: /a full value of 3000017 bytes/,
    },
  ];
}

describe('bad values at the appstats keys', () => {
  const PREFIX = 'bad';
  const keyOptions = { keyPrefix: PREFIX };
  const base = 1_900_000_000_000; // slot 0 of the cycle
  const GOOD = 200;
  const bad = badValues();
  const client = () => memjs.Client.create(memcached.address, { logger: { log: () => {} } });

  before(async () => {
    const raw = client();
    const keys = allPartKeys(keyOptions);
    for (let slot = 0; slot < keys.length; slot++) {
      const start = base + slot * 100;
      if (slot < GOOD) {
        const record = sampleRecord({ calls: 3, start, path: `/ok/${slot % 7}` });
        await raw.set(keys[slot], encodeRecord(summarize(record)), { expires: 600 });
        await raw.set(recordKey(start, 'full', keyOptions), encodeRecord(record), { expires: 600 });
      } else {
        const value = bad[(slot - GOOD) % bad.length];
        // The big ones once each: 3 MB and a bomb per slot would be gigabytes.
        const skipBig = slot - GOOD >= bad.length && value.bytes.length > 50_000;
        await raw.set(keys[slot], skipBig ? bad[0].bytes : value.bytes, { expires: 600 });
        if (slot - GOOD < bad.length)
          await raw.set(recordKey(start, 'full', keyOptions), value.bytes, { expires: 600 });
      }
    }
    raw.close();
  });

  it('decodeRecord rejects each with its reason and a message that says what is wrong', () => {
    for (const { name, bytes, reason, message } of bad) {
      assert.throws(
        () => decodeRecord(bytes),
        (error: unknown) =>
          error instanceof RecordDecodeError && error.reason === reason && message.test(error.message),
        name,
      );
    }
  });

  it('the dashboard renders the 200 good records and counts the 800 skipped, by reason', async () => {
    const viewer = createViewer({ store, ...keyOptions, remoteAddress: loopback });
    const res = await viewer.request('/');
    assert.equal(res.status, 200);
    const text = textOf(await res.text());
    assert.match(text, new RegExp(`${GOOD} records read, ${1000 - GOOD} skipped as unreadable \\(`));
    const json = (await (await viewer.request('/?type=json')).json()) as {
      records_read: number;
      records_skipped: number;
      skipped_reasons: Record<string, number>;
      requests: number;
    };
    assert.equal(json.records_read, GOOD);
    assert.equal(json.records_skipped, 1000 - GOOD);
    assert.equal(
      Object.values(json.skipped_reasons).reduce((a, b) => a + b, 0),
      1000 - GOOD,
    );
    for (const reason of ['foreign', 'truncated', 'corrupt', 'version', 'shape', 'size'])
      assert.ok(json.skipped_reasons[reason] > 0, reason);
    // And a second view (decoded parts are cached) counts the same.
    const again = (await (await viewer.request('/?type=json')).json()) as { records_skipped: number };
    assert.equal(again.records_skipped, 1000 - GOOD);
  });

  it('the details page of a key holding each bad value: a 404 saying the record is unreadable, never a 500', async () => {
    const viewer = createViewer({ store, ...keyOptions, remoteAddress: loopback });
    for (let i = 0; i < bad.length; i++) {
      const start = base + (GOOD + i) * 100;
      const res = await viewer.request(`/details?time=${start}`);
      assert.equal(res.status, 404, bad[i].name);
      assert.match(textOf(await res.text()), /Unreadable record/, bad[i].name);
      const json = await viewer.request(`/details?time=${start}&type=json`);
      assert.notEqual(json.status, 500, bad[i].name);
      await json.text();
    }
    const ok = await viewer.request(`/details?time=${base + 100}`);
    assert.equal(ok.status, 200);
    await ok.text();
  });
});

/** The real pipeline: instrumentation-http, the processor, the exporter into memcached. */
async function throughPipeline(
  handler: Parameters<typeof listen>[0],
  send: (url: string) => Promise<void>,
  options: Omit<AppstatsSpanProcessorOptions, 'exporter'> = {},
  records = 1,
): Promise<{
  records: RequestRecord[];
  stored: RequestRecord[];
  bytes: Buffer[];
  exporter: AppstatsExporter;
}> {
  const keyPrefix = `in${randomBytes(3).toString('hex')}`;
  const exporter = new AppstatsExporter({ memcache: memcached.address, keyPrefix });
  const tee = new TeeExporter(exporter);
  const processor = new AppstatsSpanProcessor({ exporter: tee, ...options });
  const provider = newRegisteredProvider([processor]);
  const server = await listen(handler);
  try {
    await send(server.url);
    await eventually(() => tee.records.length === records, `${records} record(s)`, 30_000);
    await processor.forceFlush();
    const stored: RequestRecord[] = [];
    const bytes: Buffer[] = [];
    for (const record of tee.records) {
      const full = await store.getFull(recordKey(record.start_timestamp_milliseconds, 'full', { keyPrefix }));
      const part = await store.getFull(recordKey(record.start_timestamp_milliseconds, 'part', { keyPrefix }));
      assert.ok(full && part, 'both values in memcached');
      bytes.push(Buffer.from(full), Buffer.from(part));
      const decoded = decodeRecord(full);
      assert.ok(isFullRecord(decoded));
      stored.push(decoded);
    }
    for (const b of bytes) assert.ok(b.length <= MAX_VALUE, `a value of ${b.length} bytes`);
    const viewer = createViewer({ store, keyPrefix, remoteAddress: loopback });
    for (const record of stored) {
      const page = await viewer.request(`/details?time=${record.start_timestamp_milliseconds}`);
      assert.equal(page.status, 200, 'the details page renders');
      await page.text();
    }
    const dashboard = await viewer.request('/');
    assert.equal(dashboard.status, 200);
    await dashboard.text();
    return { records: tee.records, stored, bytes, exporter };
  } finally {
    await server.close();
    await provider.shutdown();
  }
}

const tracer = () => trace.getTracer('app');

describe('requests no sane app makes, through the real pipeline', () => {
  it('10,000 calls with stacks: kept (cap raised), cut by the size ladder, the totals still count all', async () => {
    const { stored, records } = await throughPipeline(
      (_req, res) => {
        for (let i = 0; i < 10_000; i++) {
          tracer()
            .startSpan(i % 3 ? 'memcache.Get' : 'datastore.Lookup', {
              kind: SpanKind.CLIENT,
              // Random, so deflate cannot fit 10,000 of them under the limit by itself.
              attributes: { [ATTR_REQUEST_SUMMARY]: `key="${randomBytes(150).toString('base64')}"` },
            })
            .end();
        }
        res.end('ok');
      },
      async (url) => {
        assert.equal((await fetch(`${url}/many`)).status, 200);
      },
      { maxCallsPerRequest: 20_000 },
    );
    assert.equal(records[0].individual_stats.length, 10_000, 'the processor kept them all');
    const [record] = stored;
    assert.ok(record.incomplete, 'marked as cut');
    assert.ok(
      record.incomplete.stacks_dropped || record.incomplete.calls_clipped,
      JSON.stringify(record.incomplete),
    );
    assert.equal(
      record.rpc_stats.reduce((n, s) => n + s.total_amount_of_calls, 0),
      10_000,
      'rpc_stats count every call',
    );
  });

  it('10,000 calls at the default cap: 2000 kept, 8000 counted as dropped', async () => {
    const { stored } = await throughPipeline(
      (_req, res) => {
        for (let i = 0; i < 10_000; i++) tracer().startSpan('memcache.Get', { kind: SpanKind.CLIENT }).end();
        res.end('ok');
      },
      async (url) => {
        assert.equal((await fetch(`${url}/capped`)).status, 200);
      },
    );
    assert.equal(stored[0].incomplete?.dropped_calls, 8000);
    assert.equal(stored[0].individual_stats.length, 2000);
  });

  it('megabyte summaries, names, attribute values and status messages: clipped (saying by how much), stored, rendered', async () => {
    const mb = () => randomBytes(768 * 1024).toString('base64'); // 1 MiB of text each
    const { stored } = await throughPipeline(
      (_req, res) => {
        for (let i = 0; i < 8; i++) {
          const span = tracer().startSpan(`INSERT ${mb()}`, {
            kind: SpanKind.CLIENT,
            attributes: {
              [ATTR_REQUEST_SUMMARY]: mb(),
              [ATTR_RESPONSE_SUMMARY]: mb(),
              'db.query.text': mb(),
              'app.blob': mb(),
            },
          });
          span.setStatus({ code: SpanStatusCode.ERROR, message: mb() });
          span.end();
        }
        res.end('ok');
      },
      async (url) => {
        assert.equal((await fetch(`${url}/huge`)).status, 200);
      },
    );
    const [record] = stored;
    assert.equal(record.individual_stats.length, 8, 'every call kept');
    for (const call of record.individual_stats) {
      assert.match(call.request_data_summary, /…\(\+\d+ chars\)$/, 'the clip says how much was cut');
      assert.ok(call.request_data_summary.length <= 300);
      assert.ok((call.status.message ?? '').length <= 300);
      assert.ok(String(call.attributes['app.blob']).length <= 256);
      assert.ok(
        call.service_call_name.length <= 300,
        `a call name of ${call.service_call_name.length} chars`,
      );
      assert.ok(call.span_name.length <= 300, `a span name of ${call.span_name.length} chars`);
    }
    assert.equal(record.rpc_stats.length, 8, 'the per-call stats survive');
  });

  it('a 10,000-frame stack: the call is recorded with the innermost maxStack frames of the app', async () => {
    // In a child with a larger stack: this process has too little for 10,000 frames under a handler.
    const keyPrefix = 'deep';
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--stack-size=3900',
        '--import',
        'tsx',
        fileURLToPath(new URL('./helpers/deep-stack-app.ts', import.meta.url)),
        memcached.address,
        keyPrefix,
        '10000',
      ],
      { timeout: 60_000 },
    );
    const { body, start, framesAtCall } = JSON.parse(stdout) as {
      body: string;
      start: number;
      framesAtCall: number;
    };
    assert.equal(body, 'deep');
    assert.ok(framesAtCall >= 10_000, `${framesAtCall} frames on the stack at the call`);
    const bytes = await store.getFull(recordKey(start, 'full', { keyPrefix }));
    assert.ok(bytes && bytes.length <= MAX_VALUE);
    const record = decodeRecord(bytes);
    assert.ok(isFullRecord(record));
    const [call] = record.individual_stats;
    assert.equal(call.service_call_name, 'http.GET');
    assert.equal(call.call_stack.length, 20, 'maxStack frames, the innermost');
    assert.ok(
      call.call_stack.every(
        (frame) => frame.function_name === 'deep' && /deep-stack-app/.test(frame.class_or_file_name),
      ),
    );
    const page = await createViewer({ store, keyPrefix, remoteAddress: loopback }).request(
      `/details?time=${start}`,
    );
    assert.equal(page.status, 200);
    await page.text();
  });

  it('non-UTF-8 bytes and control characters in the path, query and headers (and in span data): stored and rendered', async () => {
    const rawRequest = (bytes: Buffer, port: number) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(bytes));
        let out = '';
        socket.on('data', (d) => {
          out += d.toString('latin1');
        });
        socket.on('close', () => resolve(out.split('\r\n')[0]));
        socket.on('error', reject);
      });
    const evilHeader = Buffer.from([0xff, 0xfe, 0xe9, 0xc3, 0x28, 0x20, 0x3c, 0x62, 0x3e, 0x09, 0x80]);
    const { stored } = await throughPipeline(
      (req, res) => {
        const root = trace.getActiveSpan();
        root?.setAttribute('enduser.id', 'lone \ud800 surrogate \u0000 nul \u001b[31m');
        tracer()
          .startSpan(
            'weird \udfff\u0007',
            {
              kind: SpanKind.CLIENT,
              attributes: {
                [ATTR_REQUEST_SUMMARY]: `\u0000\u0001\u001f\u007f\u2028\u2029\ufeff${req.headers['x-evil']}`,
              },
            },
            context.active(),
          )
          .end();
        res.end('ok');
      },
      async (url) => {
        const port = Number(new URL(url).port);
        const head = Buffer.from(
          'GET /caf%C3%A9/%FF%FE%00%0D%0A%1B[31m/<b>"x"?q=%C3%28%00&r=%E2%80%AE HTTP/1.1\r\nHost: a\r\nUser-Agent: ',
          'latin1',
        );
        const status = await rawRequest(
          Buffer.concat([
            head,
            Buffer.from([0xc3, 0x28, 0xa0, 0xa1]),
            Buffer.from('\r\nX-Evil: '),
            evilHeader,
            Buffer.from('\r\nConnection: close\r\n\r\n'),
          ]),
          port,
        );
        assert.equal(status, 'HTTP/1.1 200 OK');
        // Raw control bytes and bytes past 0x7f in the request line, a NUL in a header: Node's
        // parser answers 400 itself, before any app code or span (nothing to record, nothing broken).
        for (const bad of [
          Buffer.from('GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1'),
          Buffer.concat([
            Buffer.from('GET /caf'),
            Buffer.from([0xe9]),
            Buffer.from(' HTTP/1.1\r\nHost: a\r\n\r\n'),
          ]),
          Buffer.from('GET /h HTTP/1.1\r\nHost: a\r\nX-Evil: a\x00b\r\n\r\n', 'latin1'),
        ]) {
          assert.match(await rawRequest(bad, port), /^(HTTP\/1\.1 400|)/);
        }
      },
    );
    const [record] = stored;
    // instrumentation-http's url.path, as WHATWG URL parsing normalised it.
    assert.equal(record.http_path, '/caf%C3%A9/%FF%FE%00%0D%0A%1B[31m/%3Cb%3E%22x%22');
    const env = Object.fromEntries(record.cgi_env.map((e) => [e.key, e.value]));
    assert.equal(env.HTTP_USER_AGENT, '\u00c3(\u00a0\u00a1', 'headers arrive as latin1 text');
    assert.ok(record.individual_stats[0].request_data_summary.startsWith('\u0000\u0001'));
    assert.ok(record.user_email.includes('\ud800'));
  });
});
