import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregateRpcStats } from '../core/call-stats.js';
import type { RequestRecord } from '../core/record.js';
import { MemoryStore } from '../stores/memory-store.js';
import { createViewer } from '../viewer/index.js';
import { cellsAfterDetails, elementsWith, elementWith, textOf } from './helpers/html-text.js';
import { putRecord, sampleRecord } from './helpers/records.js';
import { loopback, page } from './helpers/viewer-request.js';

/**
 * The dashboard of an app without Datastore (issue 10): no cost columns when nothing costs, hints
 * only where a part carries a finding, the time with a call in flight. Through `app.request()`
 * over a MemoryStore: what is tested is the page, from parts as the writer stores them.
 */

test('an app without costs: no cost column or cost text anywhere; hints only where the part has a finding', async () => {
  const memory = new MemoryStore();
  const free = (start: number, path: string, extra: Partial<RequestRecord>): RequestRecord => {
    const record = { ...sampleRecord({ start, path, calls: 9 }), ...extra };
    for (const call of record.individual_stats) {
      call.call_cost_microdollars = 0;
      call.billed_ops = [];
    }
    record.rpc_stats = aggregateRpcStats(record.individual_stats);
    return record;
  };
  // Six memcache.Get in one request, pipelined: the writer found nothing, so no hint.
  await putRecord(memory, free(1700000000000, '/pipelined', { rpc_in_flight_milliseconds: 3 }));
  await putRecord(
    memory,
    free(1700000000100, '/loop', {
      rpc_in_flight_milliseconds: 9,
      findings: [{ kind: 'n_plus_one', call_name: 'postgresql.SELECT', count: 10 }],
    }),
  );
  // Another writer's findings and times the dashboard cannot read: left out, never a 500.
  await putRecord(
    memory,
    free(1700000000200, '/odd', {
      rpc_in_flight_milliseconds: 'x' as never,
      findings: [{ kind: 'guess', call_name: 'memcache.Get', count: 6 }, null] as never,
    }),
  );
  const app = createViewer({ store: memory, remoteAddress: loopback });
  const { status, html } = await page(app, '/?hsort=-cost');
  assert.equal(status, 200);
  // (Sorted by cost, a URL parameter: the links keep it, the page shows no cost.)
  assert.doesNotMatch(textOf(html), /cost|µ\$/i, 'no cost heading, cell or text');
  assert.match(textOf(html), /3 records read, 0 skipped as unreadable; 27 calls\. A call was in flight/);
  const paths = elementWith(html, 'section', 'id="path-stats"');
  assert.match(
    textOf(paths.slice(0, paths.indexOf('</thead>'))),
    /Path Requests Calls Mean ms Calls in flight p50 p95 p99 Errors Most recent$/,
  );
  const loop = elementWith(paths, 'tr', 'data-path="GET /loop"');
  assert.match(cellsAfterDetails(loop), /^N\+1 postgresql\.SELECT ×10 1 9 12\.35 9\.000 ms \(73%\) /);
  assert.equal(elementsWith(paths, 'span', 'class="badge"').length, 1, 'one hint: the finding');
  const odd = elementWith(paths, 'tr', 'data-path="GET /odd"');
  assert.match(cellsAfterDetails(odd), /^1 9 12\.35 — 12\.35 /);
  const rpcs = elementWith(html, 'section', 'id="rpc-stats"');
  assert.match(textOf(rpcs.slice(0, rpcs.indexOf('</thead>'))), /RPC Count Total ms Mean ms$/);
  const history = elementWith(html, 'section', 'id="history"');
  assert.match(textOf(history.slice(0, history.indexOf('</thead>'))), /Overhead ms Calls$/);
  assert.equal(elementsWith(history, 'tr', 'data-start="')[0].match(/<td/g)?.length, 8);
  // The same parts with one cost: every cost column back.
  await putRecord(memory, { ...sampleRecord({ start: 1700000000300, path: '/paid' }) });
  const paid = await page(app, '/');
  assert.match(textOf(paid.html), /4 records read, 0 skipped as unreadable; 29 calls, cost 0\.06 µ\$\./);
  assert.match(textOf(elementWith(paid.html, 'section', 'id="rpc-stats"')), /Cost µ\$ Cost %/);
  const paidHistory = elementWith(paid.html, 'section', 'id="history"');
  // Rows of parts already shown without costs (their cells are cached) gain the column too.
  assert.deepEqual(
    elementsWith(paidHistory, 'tr', 'data-start="').map((row) => row.match(/<td/g)?.length),
    [9, 9, 9, 9],
  );
});

test('details pages name costs only when the record has some; the default title is the brand, said once', async () => {
  const memory = new MemoryStore();
  const free = sampleRecord({ start: 1700000000000, path: '/free', calls: 3 });
  for (const call of free.individual_stats) {
    call.call_cost_microdollars = 0;
    call.billed_ops = [];
  }
  free.rpc_stats = aggregateRpcStats(free.individual_stats);
  await putRecord(memory, free);
  await putRecord(memory, sampleRecord({ start: 1700000000100, path: '/paid' }));
  const app = createViewer({ store: memory, remoteAddress: loopback });
  const freeDetails = await page(app, '/details?time=1700000000000');
  assert.equal(freeDetails.status, 200);
  assert.doesNotMatch(textOf(freeDetails.html), /µ\$|millionths/, 'no cost note on a record without costs');
  const paidDetails = await page(app, '/details?time=1700000000100');
  assert.match(textOf(elementWith(paidDetails.html, 'header', 'class="top"')), /Costs in µ\$ \(millionths/);
  const header = textOf(elementWith(freeDetails.html, 'header', 'class="top"'));
  assert.match(header, /^Appstats Dashboard Times in milliseconds, UTC\.$/);
  const titled = createViewer({ store: memory, remoteAddress: loopback, title: 'Shop' });
  assert.match(
    textOf(elementWith((await page(titled, '/')).html, 'header', 'class="top"')),
    /^Appstats Shop Dashboard /,
  );
});

test('calls that overlap: the details page says why RPC total passes the request', async () => {
  const memory = new MemoryStore();
  const overlapping = sampleRecord({ start: 1700000000000, path: '/parallel', calls: 4 });
  for (const call of overlapping.individual_stats) {
    call.start_offset_milliseconds = 1;
    call.duration_milliseconds = 10;
  }
  const sequential = sampleRecord({ start: 1700000000100, path: '/sequential', calls: 4 });
  // One call, started 5 ms in and lasting 20 ms, in a request of 10: it ran on after the response.
  const runsOn = sampleRecord({ start: 1700000000200, path: '/fire-and-forget', calls: 1 });
  runsOn.duration_milliseconds = 10;
  runsOn.individual_stats[0].start_offset_milliseconds = 5;
  runsOn.individual_stats[0].duration_milliseconds = 20;
  await putRecord(memory, overlapping);
  await putRecord(memory, sequential);
  await putRecord(memory, runsOn);
  const app = createViewer({ store: memory, remoteAddress: loopback });
  const parallel = textOf(
    elementWith((await page(app, '/details?time=1700000000000')).html, 'dl', 'id="summary"'),
  );
  assert.match(
    parallel,
    /RPC total 40\.00 ms \(calls overlapped: summed, they pass the request\), a call in flight 10\.00 ms/,
  );
  const plain = textOf(
    elementWith((await page(app, '/details?time=1700000000100')).html, 'dl', 'id="summary"'),
  );
  assert.doesNotMatch(plain, /overlapped|ran past/);
  const late = textOf(
    elementWith((await page(app, '/details?time=1700000000200')).html, 'dl', 'id="summary"'),
  );
  assert.match(late, /RPC total 20\.00 ms \(calls ran past the request's end\), a call in flight 20\.00 ms/);
});
