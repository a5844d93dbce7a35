import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';
import type { RequestRecord } from '../core/record.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { MemoryStore } from '../stores/memory-store.js';
import { CONTENT_SECURITY_POLICY } from '../viewer/assets.js';
import { createViewer } from '../viewer/index.js';
import { cellsAfterDetails, elementsWith, elementWith, textOf } from './helpers/html-text.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { putRecord, sampleRecord } from './helpers/records.js';
import { alignedBase, recordThroughPipeline, scenario, XSS } from './helpers/viewer-fixtures.js';
import { loopback, page } from './helpers/viewer-request.js';

/**
 * The pages, through `app.request()`, over records the real pipeline (span processor + exporter)
 * wrote into a real memcached.
 */
const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

let memcached: MemcachedServer;
let store: MemcacheStore;
let base: number;
let viewer: Hono;

before(async () => {
  memcached = await startMemcached();
  base = alignedBase();
  await recordThroughPipeline(memcached.address, scenario(base));
  store = new MemcacheStore(memcached.address);
  viewer = createViewer({ store, remoteAddress: loopback, sourceRoot: ROOT, title: 'guestbook-demo' });
});

after(async () => {
  await store?.close();
  await memcached?.stop();
});

describe('dashboard', () => {
  test('headers: HTML, CSP allowing only our own style and script, no caching, no framing', async () => {
    const { status, res, html } = await page(viewer, '/');
    assert.equal(status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.equal(res.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.match(
      CONTENT_SECURITY_POLICY,
      /script-src 'sha256-[A-Za-z0-9+/=]+'$|script-src 'sha256-[A-Za-z0-9+/=]+';/,
    );
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(html.match(/<script/g)?.length, 1, 'one script: ours');
    assert.match(html, /^<!doctype html>/);
  });

  test('counts of records read and skipped', async () => {
    const { html } = await page(viewer, '/');
    assert.match(textOf(html), /6 records read, 0 skipped as unreadable; 26 calls, cost 1\.98 µ\$\./);
  });

  test('RPC Stats: call, count, total and mean time, cost, cost %, and per-path rows', async () => {
    const { html } = await page(viewer, '/');
    const table = elementWith(html, 'section', 'id="rpc-stats"');
    assert.match(
      textOf(table.slice(0, table.indexOf('</thead>'))),
      /RPC Count Total ms Mean ms Cost µ\$ Cost %/,
    );
    const lookup = elementWith(table, 'tr', 'data-rpc="datastore.Lookup"');
    // 1 (greeting/1) + 8 (digest) + 1 (boom); 7.25 + 48 + 15 ms; 0.06 + 0.48 µ$ of 1.98.
    assert.equal(cellsAfterDetails(lookup), '10 70.25 7.025 0.54 27.3%');
    const breakdown = textOf(lookup.slice(0, lookup.indexOf('</details>')));
    assert.match(breakdown, /GET \/tasks\/digest 8 48\.00 0\.48/);
    assert.match(breakdown, /GET \/greeting\/:id 1 7\.250 0\.06/);
    assert.match(breakdown, /GET \/boom 1 15\.00 0/);
    const commit = elementWith(table, 'tr', 'data-rpc="datastore.Commit"');
    assert.equal(cellsAfterDetails(commit), '1 30.00 30.00 0.9 45.5%');
    // Sorted by count, descending: memcache.Get (11) first.
    const names = [...table.matchAll(/data-rpc="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(names[0], 'memcache.Get');
    assert.equal(names.length, 6);
  });

  test('Path Stats: requests, calls, cost, cost %, mean/p50/p95/p99, errors, recent links, findings, per-call rows', async () => {
    const { html } = await page(viewer, '/');
    const table = elementWith(html, 'section', 'id="path-stats"');
    assert.match(
      textOf(table.slice(0, table.indexOf('</thead>'))),
      /Path Requests Calls Cost µ\$ Cost % Mean ms Calls in flight p50 p95 p99 Errors Most recent$/,
    );
    const digest = elementWith(table, 'tr', 'data-path="GET /tasks/digest"');
    assert.equal(
      cellsAfterDetails(digest),
      'N+1 datastore.Lookup ×8 N+1 memcache.Get ×8 duplicate memcache.Get ×8 1 18 1.02 51.5% 110.0 82.00 ms (75%) 110.0 110.0 110.0 0.0% (5)',
    );
    // The badges say what the finding is and where to see it; in flight: RunQuery 20 ms, then 8 × (6 + 1.5) ms, Set 2 ms.
    const n1 = elementWith(digest, 'span', 'data-finding="n_plus_one"');
    assert.match(
      n1,
      /title="N\+1: up to 8 sequential datastore\.Lookup calls of one shape from one line in a request \(in 1 of 1 requests\): one batched call would do\. The details page of a request lists the calls\."/,
    );
    assert.ok(digest.includes(`href="/details?time=${base + 100}"`), 'recent request links to its details');
    assert.match(textOf(digest.slice(0, digest.indexOf('</details>'))), /datastore\.Lookup 8 48\.00 0\.48/);
    const greeting = elementWith(table, 'tr', 'data-path="GET /greeting/:id"');
    // In flight: 8.95 ms of 12.5 and 0.5 ms of 30: a mean of 4.725 ms, 22% of their time.
    assert.equal(
      cellsAfterDetails(greeting),
      '2 4 0.06 3.0% 21.25 4.725 ms (22%) 12.50 30.00 30.00 0.0% (1) (6)',
    );
    assert.ok(!greeting.includes('class="badge"'), 'no finding, no hint');
    const boom = elementWith(table, 'tr', 'data-path="GET /boom"');
    assert.match(
      cellsAfterDetails(boom),
      /^1 2 0 0\.0% 25\.00 [\d.]+ ms \(\d+%\) 25\.00 25\.00 25\.00 100\.0% \(3\)$/,
    );
    const sign = elementWith(table, 'tr', 'data-path="POST /sign"');
    assert.match(cellsAfterDetails(sign), /^1 1 0\.9 45\.5% 40\.00/);
  });

  test('Requests History: newest first, time, method, path?query, status, real, overhead, calls, cost; links and per-call counts', async () => {
    const { html } = await page(viewer, '/');
    const table = elementWith(html, 'section', 'id="history"');
    assert.match(
      textOf(table.slice(0, table.indexOf('</thead>'))),
      /# Time \(UTC\) Method Path\?query Status Real ms Overhead ms Calls Cost µ\$/,
    );
    const rows = elementsWith(table, 'tr', 'data-start="');
    assert.deepEqual(
      rows.map((row) => Number(/data-start="([^"]+)"/.exec(row)?.[1]) - base),
      [500, 400, 300, 200, 100, 0],
    );
    const digest = textOf(rows[4]);
    assert.match(
      digest,
      /^\(5\) \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.100 GET \/tasks\/digest 200 110\.0 \d+\.\d+ 18 /,
    );
    assert.match(digest, /datastore\.Lookup ×8 48\.00 ms/);
    assert.match(digest, /1\.02$/);
    assert.ok(rows[4].includes(`href="/details?time=${base + 100}"`));
    assert.match(textOf(rows[2]), /GET \/boom incomplete 500 25\.00 /);
    assert.match(textOf(rows[0]), /GET \/greeting\/2 200 30\.00/);
    assert.match(textOf(rows[5]), /\/greeting\/1 200 12\.50 .* 3 .*0\.06$/);
    assert.match(textOf(rows[1]), /\?q=<script>/, 'query shown (as text)');
  });

  test('filters by path, method, status class and minimum duration; the form keeps them', async () => {
    const paths = async (query: string) => {
      const { html } = await page(viewer, `/?${query}`);
      return elementsWith(elementWith(html, 'section', 'id="history"'), 'tr', 'data-start="').map(
        (row) => Number(/data-start="([^"]+)"/.exec(row)?.[1]) - base,
      );
    };
    assert.deepEqual(await paths('path=greeting'), [500, 0]);
    assert.deepEqual(await paths('method=POST'), [200]);
    assert.deepEqual(await paths('status=5xx'), [300]);
    assert.deepEqual(await paths('status=4xx'), [400]);
    assert.deepEqual(await paths('min_ms=100'), [100]);
    assert.deepEqual(await paths('min_ms=20&method=GET'), [500, 300, 100]);
    const { html } = await page(viewer, '/?path=greeting&status=2xx');
    assert.match(textOf(html), /6 records read, 2 match the filters/);
    assert.ok(html.includes('name="path" value="greeting"'));
    assert.match(html, /<option value="2xx" selected/);
    // Every table describes the filtered requests.
    assert.ok(!elementWith(html, 'section', 'id="rpc-stats"').includes('datastore.Commit'));
    const none = await page(viewer, '/?path=nothing-like-this');
    assert.match(textOf(none.html), /No recorded request matches these filters/);
  });

  test('sorting by links: headers flip direction, keep the filters, land on the table', async () => {
    const order = async (query: string) => {
      const { html } = await page(viewer, `/?${query}`);
      return elementsWith(elementWith(html, 'section', 'id="history"'), 'tr', 'data-start="').map(
        (row) => Number(/data-start="([^"]+)"/.exec(row)?.[1]) - base,
      );
    };
    assert.deepEqual(await order('hsort=-duration'), [100, 200, 500, 300, 0, 400]);
    assert.deepEqual(await order('hsort=duration'), [400, 0, 300, 500, 200, 100]);
    // Ties (one call each) keep newest first.
    assert.deepEqual(await order('hsort=-calls'), [100, 0, 300, 500, 400, 200]);
    const { html } = await page(viewer, '/?hsort=-duration&path=g');
    const header = elementWith(elementWith(html, 'section', 'id="history"'), 'th', 'aria-sort="descending"');
    assert.match(textOf(header), /Real ms/);
    assert.ok(header.includes('href="/?path=g&amp;hsort=duration#history"'), header);
    const paths = await page(viewer, '/?psort=-p99');
    const pathOrder = [
      ...elementWith(paths.html, 'section', 'id="path-stats"').matchAll(/data-path="([^"]+)"/g),
    ].map((m) => m[1]);
    assert.deepEqual(pathOrder.slice(0, 3), ['GET /tasks/digest', 'POST /sign', 'GET /greeting/:id']);
    const rpcs = await page(viewer, '/?rsort=-cost');
    assert.equal(
      /data-rpc="([^"]+)"/.exec(elementWith(rpcs.html, 'section', 'id="rpc-stats"'))?.[1],
      'datastore.Commit',
    );
  });

  test('JSON of the summaries, with the same filters', async () => {
    const res = await viewer.request('/?type=json&status=2xx');
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as Record<string, unknown> & { summaries: { http_path: string }[] };
    assert.equal(body.records_read, 6);
    assert.equal(body.records_skipped, 0);
    assert.equal(body.requests, 3);
    assert.deepEqual(
      body.summaries.map((s) => s.http_path),
      ['/greeting/2', '/tasks/digest', '/greeting/1'],
    );
    assert.ok(Array.isArray(body.rpc_stats) && Array.isArray(body.path_stats));
    assert.equal((body.query as { status: string }).status, '2xx');
  });
});

describe('details', () => {
  test('summary: time, method, path, status, real, overhead, cost, service, trace id; JSON link', async () => {
    const { status, html } = await page(viewer, `/details?time=${base + 100}`);
    assert.equal(status, 200);
    const text = textOf(elementWith(html, 'dl', 'id="summary"'));
    assert.match(
      text,
      new RegExp(`Time ${new Date(base + 100).toISOString().replace('T', ' ').replace('Z', '')} UTC`),
    );
    // Written by the real pipeline: the build, after the request, is shown apart from the overhead in it.
    assert.match(
      text,
      /Real 110\.0 ms \(overhead \d+\.\d+ ms, recorder's own time in the request; building this record took \d+\.\d+ ms after it\)/,
    );
    assert.match(
      text,
      /Calls 18 RPC total 82\.00 ms, a call in flight 82\.00 ms \(75% of the request\), cost 1\.02 µ\$, billed ops \[DATASTORE_READ:17\]/,
    );
    assert.match(text, /Service guestbook-demo/);
    assert.match(text, /Trace [0-9a-f]{32} span [0-9a-f]{16}/);
    assert.match(textOf(elementWith(html, 'h1', 'class="reqline"')), /^GET \/tasks\/digest 200$/);
    assert.ok(html.includes(`href="/details?time=${base + 100}&amp;type=json"`));
  });

  test('timeline: one linked bar per call, RPC Total and Grand Total rows, a time axis', async () => {
    const { html } = await page(viewer, `/details?time=${base + 100}`);
    const svg = elementWith(html, 'svg', 'class="timeline"');
    for (let i = 0; i < 18; i++)
      assert.ok(svg.includes(`<a href="#call-${i}" data-call="${i}">`), `bar ${i}`);
    assert.ok(!svg.includes('#call-18'));
    assert.match(textOf(svg), /RPC Total 82\.00ms .*In flight 82\.00ms .*Grand Total 110\.0ms/);
    assert.equal(svg.match(/<rect class="bar s\d/g)?.length, 18);
    assert.equal(svg.match(/class="flag"/g)?.length, 16, 'flagged calls are marked');
    assert.match(svg, /<line x1="210" x2="210"/, 'axis starts at 0');
    assert.match(textOf(svg), /^0 20 40 60 80 100 120 /);
    // Colours per service: datastore and memcache differ.
    const lookupBar = /data-call="1">[\s\S]*?<rect class="bar (s\d)/.exec(svg)?.[1];
    const getBar = /data-call="2">[\s\S]*?<rect class="bar (s\d)/.exec(svg)?.[1];
    assert.ok(lookupBar && getBar && lookupBar !== getBar);
  });

  test('timeline and traces mark failed and pending calls; the record says it is incomplete', async () => {
    const { html } = await page(viewer, `/details?time=${base + 300}`);
    const svg = elementWith(html, 'svg', 'class="timeline"');
    assert.match(svg, /<rect class="bar s\d failed"/);
    assert.match(svg, /<rect class="bar s\d pending"/);
    assert.match(textOf(elementWith(html, 'details', 'id="call-0"')), /failed/);
    assert.match(textOf(elementWith(html, 'details', 'id="call-0"')), /Status ERROR: DEADLINE_EXCEEDED/);
    assert.match(textOf(elementWith(html, 'details', 'id="call-1"')), /real=pending .*pending/);
    assert.match(textOf(html), /Incomplete record: 1 call\(s\) were still pending\./);
    assert.match(textOf(html), /The request's span ended with an error\./);
  });

  test('RPC Call Traces: offset, name, duration, cost, request/response, datastore details, attributes, stack links', async () => {
    const { html } = await page(viewer, `/details?time=${base}`);
    const traces = elementWith(html, 'section', 'id="traces"');
    const lookup = elementWith(traces, 'details', 'id="call-1"');
    assert.match(lookup, /<details class="trace" id="call-1" open="">/, 'a short request opens its calls');
    const text = textOf(lookup);
    assert.match(
      text,
      /^#1 @\d\.\d{3}ms datastore\.Lookup real=7\.250ms cost=0\.06 billed_ops=\[DATASTORE_READ:1\]/,
    );
    assert.match(text, /Request key=Greeting:1 Response found/);
    assert.match(text, /Keys read \(1\) Greeting:1 Fetched found/);
    assert.match(text, /Span datastore\.Lookup \(CLIENT, id [0-9a-f]{16}\)/);
    // The stack, captured by the processor: the fixture's own frames, under the source root. The
    // three calls come from one loop, so one stack: shown on the first, linked from the others.
    const first = elementWith(traces, 'details', 'id="call-0"');
    assert.match(textOf(first), /Stack test\/helpers\/viewer-fixtures\.ts:\d+:\d+ emitRequest/);
    const fileLink = /href="(\/file\?f=[^"]+)"/.exec(first)?.[1];
    assert.ok(
      fileLink?.startsWith(`/file?f=${encodeURIComponent(`${ROOT}/test/helpers/viewer-fixtures.ts`)}&amp;n=`),
    );
    assert.match(text, /Stack same as #0$/);
    assert.ok(lookup.includes('<a href="#call-0">#0</a>'));
    // Long requests start collapsed.
    const digest = await page(viewer, `/details?time=${base + 100}`);
    assert.match(digest.html, /<details class="trace" id="call-0">/);
  });

  test('stacks: app frames first, library frames folded; no file links without a source root', async () => {
    const memory = new MemoryStore();
    const record = sampleRecord({ calls: 1, start: 1700000000000 });
    record.individual_stats[0].call_stack = [
      {
        class_or_file_name: '/srv/app/node_modules/memjs/lib/client.js',
        line_number: 5,
        function_name: 'get',
      },
      {
        class_or_file_name: '/srv/app/routes/user.js',
        line_number: 42,
        column_number: 7,
        function_name: 'loadUser',
      },
      { class_or_file_name: 'node:internal/process/task_queues', line_number: 95, function_name: 'tick' },
      { class_or_file_name: '/srv/app/server.js', line_number: 9, function_name: 'handle' },
    ];
    await putRecord(memory, record);
    const app = createViewer({ store: memory, remoteAddress: loopback });
    const { html } = await page(app, '/details?time=1700000000000');
    const trace = elementWith(html, 'details', 'id="call-0"');
    const appFrames = elementWith(trace, 'ol', 'class="frames app-frames"');
    assert.equal(textOf(appFrames), '/srv/app/routes/user.js:42:7 loadUser /srv/app/server.js:9 handle');
    const library = elementWith(trace, 'details', 'class="library-frames"');
    assert.match(
      textOf(library),
      /^2 library frames .*memjs\/lib\/client\.js:5 get .*node:internal\/process\/task_queues:95 tick$/,
    );
    assert.ok(trace.indexOf('app-frames') < trace.indexOf('library-frames'));
    assert.ok(!trace.includes('/file?'), 'no source root: no links');
  });

  test('findings: N+1 and duplicates listed with their calls, and flagged in the traces', async () => {
    const { html } = await page(viewer, `/details?time=${base + 100}`);
    const findings = elementWith(html, 'section', 'id="findings"');
    const items = elementsWith(findings, 'li', 'data-finding=');
    assert.equal(items.length, 3);
    assert.match(
      textOf(items[0]),
      /^N\+1 8 sequential datastore\.Lookup calls of one shape from one line: one batched call would do \(48\.00 ms in all\): key=Author:\?\. Calls: #1 #3 #5 #7 #9 #11 #13 #15$/,
    );
    assert.match(textOf(items[1]), /^N\+1 8 sequential memcache\.Get calls/);
    assert.match(
      textOf(items[2]),
      /^duplicate memcache\.Get made 8 times with the same request: the answer was already known \(12\.00 ms in all\): key="digest:config"\. Calls: #2 #4/,
    );
    assert.ok(items[0].includes('href="#call-1"'));
    assert.match(textOf(elementWith(html, 'details', 'id="call-2"')), /N\+1 duplicate/);
    const plain = await page(viewer, `/details?time=${base + 200}`);
    assert.ok(!plain.html.includes('id="findings"'));
  });

  test('per-request RPC Stats and the environment with secrets redacted', async () => {
    const { html } = await page(viewer, `/details?time=${base}`);
    const stats = textOf(elementWith(html, 'section', 'id="rpc-stats"'));
    assert.match(stats, /RPC Count Real ms Cost µ\$ Billed ops/);
    assert.match(stats, /datastore\.Lookup key=Greeting:\? ×1 7\.250 ms 1 7\.250 0\.06 \[DATASTORE_READ:1\]/);
    assert.match(stats, /memcache\.Get key=\? ×1 0\.800 ms 1 0\.800 0 \[\]/);
    const env = textOf(elementWith(html, 'section', 'id="environment"'));
    assert.match(env, /REQUEST_METHOD GET PATH_INFO \/greeting\/1/);
    assert.match(env, /HTTP_AUTHORIZATION \[redacted\]/);
    assert.ok(!html.includes('s3cr3t'));
  });

  test('the viewer redacts again what an older or foreign recorder left in', async () => {
    const memory = new MemoryStore();
    const record = sampleRecord({ calls: 1, start: 1700000000000 });
    record.http_query = 'token=leaked1&page=2';
    record.cgi_env = [
      { key: 'HTTP_AUTHORIZATION', value: 'Bearer leaked2' },
      { key: 'HTTP_COOKIE', value: 'sid=leaked3' },
      { key: 'QUERY_STRING', value: 'api_key=leaked4' },
      { key: 'HTTP_X_API_KEY', value: 'leaked5' },
      { key: 'HTTP_ACCEPT', value: 'text/html' },
    ];
    record.individual_stats[0].attributes = { 'db.password': 'leaked6', 'db.name': 'users' };
    await putRecord(memory, record);
    const { html } = await page(
      createViewer({ store: memory, remoteAddress: loopback }),
      '/details?time=1700000000000',
    );
    assert.ok(!/leaked/.test(html), 'no secret shown');
    assert.match(textOf(html), /HTTP_ACCEPT text\/html/);
    assert.match(textOf(html), /db\.name users/);
    assert.match(textOf(html), /page=2/);
  });

  test('the collision check: a start that differs is stale (404); missing, bad and unreadable keys', async () => {
    const stale = await page(viewer, `/details?time=${base + 1}`);
    assert.equal(stale.status, 404);
    assert.match(textOf(stale.html), /Invalid or stale record key!/);
    const staleJson = await viewer.request(`/details?time=${base + 1}&type=json`);
    assert.equal(staleJson.status, 404);
    assert.equal(((await staleJson.json()) as { error: string }).error, 'Invalid or stale record key!');
    const missing = await page(viewer, `/details?time=${base + 77_000}`);
    assert.equal(missing.status, 404);
    assert.match(textOf(missing.html), /Invalid or stale record key!/);
    for (const bad of ['', 'abc', '-5', '1e3', '12.5.5', '9'.repeat(40)]) {
      const res = await viewer.request(`/details?time=${encodeURIComponent(bad)}`);
      assert.equal(res.status, 400, `time=${bad}`);
    }
  });

  test('JSON of one full record, as written', async () => {
    const res = await viewer.request(`/details?time=${base + 100}&type=json`);
    assert.equal(res.status, 200);
    const record = (await res.json()) as RequestRecord;
    assert.equal(record.start_timestamp_milliseconds, base + 100);
    assert.equal(record.http_path, '/tasks/digest');
    assert.equal(record.individual_stats.length, 18);
    assert.equal(record.service_name, 'guestbook-demo');
  });
});

describe('XSS payloads in path, query, headers, summaries, names and attributes are inert', () => {
  function assertInert(html: string) {
    assert.ok(!html.includes('<script>alert'), 'no live script tag');
    assert.ok(!html.includes('<img src=x'), 'no live img tag');
    assert.ok(!html.includes('onerror=alert(1)>'), 'no attribute breakout');
    assert.equal(html.match(/<script/g)?.length, 1);
  }
  test('dashboard', async () => {
    const { html } = await page(viewer, '/');
    assertInert(html);
    assert.ok(
      html.includes('&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt;') ||
        html.includes('&lt;script&gt;alert("xss")&lt;/script&gt;'),
    );
  });
  test('details (path, query, user agent, header, call name, summaries, attributes, datastore details)', async () => {
    const { status, html } = await page(viewer, `/details?time=${base + 400}`);
    assert.equal(status, 200);
    assertInert(html);
    const text = textOf(html);
    assert.ok(text.includes(`GET /search/${XSS}?q=${XSS}`));
    assert.ok(text.includes(`HTTP_X_EVIL ${XSS}`));
    assert.ok(text.includes(`Request ${XSS} Response ${XSS}`));
    assert.ok(text.includes(`evil.attr ${XSS}`));
    assert.ok(text.includes(`Query kind ${XSS}`));
  });
  test('filter values echoed into the form', async () => {
    const { html } = await page(viewer, `/?path=${encodeURIComponent(`"><script>alert(1)</script>`)}`);
    assert.ok(!html.includes('"><script>alert(1)'));
    assert.equal(html.match(/<script/g)?.length, 1);
  });
});

describe('mounting', () => {
  test('app.route at /_ah/stats: with and without trailing slash, absolute links under the mount', async () => {
    const app = new Hono();
    app.get('/', (c) => c.text('the app'));
    app.route('/_ah/stats', viewer);
    for (const path of ['/_ah/stats', '/_ah/stats/']) {
      const { status, html } = await page(app, path);
      assert.equal(status, 200, path);
      assert.ok(html.includes(`href="/_ah/stats/details?time=${base}"`), path);
      assert.ok(html.includes('action="/_ah/stats/"'));
    }
    const details = await page(app, `/_ah/stats/details?time=${base}`);
    assert.equal(details.status, 200);
    assert.ok(details.html.includes('href="/_ah/stats/file?f='));
    assert.equal((await app.request('/_ah/stats/nope')).status, 404);
    assert.equal((await app.request('/_ah/statsx')).status, 404);
    assert.equal(await (await app.request('/')).text(), 'the app');
  });

  test('basePath overrides the links (a proxy strips a prefix)', async () => {
    const app = createViewer({ store, remoteAddress: loopback, basePath: '/proxy/stats/' });
    const { html } = await page(app, '/');
    assert.ok(html.includes(`href="/proxy/stats/details?time=${base}"`));
  });

  test('bad options throw at set-up, not on a request', () => {
    assert.throws(() => createViewer({ store, auth: { token: '' } }), /auth\.token/);
    assert.throws(() => createViewer({ store, auth: { username: 'a:b', password: 'x' } }), /auth\.username/);
    assert.throws(() => createViewer({ store, auth: {} as never }), /auth must be/);
    assert.throws(() => createViewer({ store, sourceRoot: '/no/such/dir' }), /sourceRoot/);
    assert.throws(() => createViewer({ store, keyDistance: 0 }), /keyDistance/);
  });
});

describe('trace links', () => {
  test('traceLink links the trace id and each call span; only http(s) links are made', async () => {
    const app = createViewer({
      store,
      remoteAddress: loopback,
      traceLink: ({ traceId, spanId }) => `https://traces.example/trace/${traceId}?span=${spanId}&x="<>`,
    });
    const { html } = await page(app, `/details?time=${base}`);
    const traceId = /Trace ([0-9a-f]{32})/.exec(textOf(elementWith(html, 'dl', 'id="summary"')))?.[1];
    assert.ok(traceId);
    assert.ok(html.includes(`<a href="https://traces.example/trace/${traceId}?span=`), 'trace id linked');
    assert.ok(html.includes('&amp;x=&quot;&lt;&gt;"'), 'the URL is escaped in the attribute');
    const call = elementWith(html, 'details', 'id="call-1"');
    const spanId = /id <a href="[^"]+">([0-9a-f]{16})<\/a>/.exec(call)?.[1];
    assert.ok(spanId && call.includes(`span=${spanId}`), 'the call span linked');
    const evil = createViewer({
      store,
      remoteAddress: loopback,
      traceLink: ({ traceId }) => `javascript:alert('${traceId}')`,
    });
    const evilPage = await page(evil, `/details?time=${base}`);
    assert.ok(!evilPage.html.includes('javascript:'));
    const throwing = createViewer({
      store,
      remoteAddress: loopback,
      traceLink: () => {
        throw new Error('bad template');
      },
    });
    assert.equal((await throwing.request(`/details?time=${base}`)).status, 200);
  });
});
