import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RpcCall } from '../core/record.js';
import { timelineRows } from '../viewer/components/timeline.js';
import { detailsJson, detailsView } from '../viewer/details-view.js';
import { incompletenessNotes } from '../viewer/pages/details.js';
import { sampleRecord } from './helpers/records.js';

function withCalls(calls: Partial<RpcCall>[]) {
  const record = sampleRecord({ calls: 1 });
  const base = record.individual_stats[0];
  record.individual_stats = calls.map((call, i) => ({
    ...base,
    span_id: `s${i}`,
    call_stack: [],
    call_cost_microdollars: 0,
    billed_ops: [],
    ...call,
  }));
  return record;
}

test('a record from a writer before calls and context: middleware and handlers become context', () => {
  const legacy = withCalls([
    { service_call_name: 'middleware - query', span_name: 'middleware - query', span_kind: 'INTERNAL' },
    {
      service_call_name: 'request handler - /',
      span_name: 'request handler - /',
      span_kind: 'INTERNAL',
      span_id: 'h',
    },
    {
      service_call_name: 'memcache.Get',
      span_kind: 'CLIENT',
      parent_span_id: 'h',
      start_offset_milliseconds: 2,
    },
  ]);
  legacy.rpc_stats = [];
  const view = detailsView(legacy);
  assert.deepEqual(
    view.record.individual_stats.map((c) => c.service_call_name),
    ['memcache.Get'],
  );
  assert.deepEqual(
    view.record.context_spans?.map((s) => s.name),
    ['middleware - query', 'request handler - /'],
  );
  assert.deepEqual(
    view.record.rpc_stats.map((s) => [s.service_call_name, s.total_amount_of_calls]),
    [['memcache.Get', 1]],
    'RPC stats counted again from the calls',
  );
  assert.equal(view.hasCosts, false);
});

test('the details JSON serves the findings whole and the totals', () => {
  const loop = withCalls(
    Array.from({ length: 6 }, (_, i) => ({
      service_call_name: 'postgresql.SELECT',
      request_data_summary: 'SELECT * FROM r WHERE id = $1',
      start_offset_milliseconds: i * 2,
      duration_milliseconds: 1,
    })),
  );
  loop.rpc_total_milliseconds = 6;
  const json = detailsJson(detailsView(loop));
  assert.deepEqual(
    json.findings.map((f) => [f.kind, f.calls]),
    [['n_plus_one', [0, 1, 2, 3, 4, 5]]],
  );
  assert.match(json.findings[0].message, /6 sequential postgresql\.SELECT/);
  assert.equal(json.rpc_total_milliseconds, 6);
  assert.equal(json.rpc_in_flight_milliseconds, 6);
});

test('timeline rows: each span followed by what was made under it, calls inside calls indented', () => {
  const record = withCalls([
    {
      service_call_name: 'http.GET',
      span_id: 'fetch',
      parent_span_id: 'handler',
      start_offset_milliseconds: 3,
    },
    {
      service_call_name: 'tcp.connect',
      span_id: 'tcp',
      parent_span_id: 'fetch',
      start_offset_milliseconds: 4,
    },
    { service_call_name: 'memcache.Get', span_id: 'mc', start_offset_milliseconds: 0.5 },
  ]);
  const context = [
    {
      span_id: 'mw',
      name: 'middleware',
      span_kind: 'INTERNAL' as const,
      start_offset_milliseconds: 0,
      duration_milliseconds: 0.2,
    },
    {
      span_id: 'handler',
      name: 'handler',
      span_kind: 'INTERNAL' as const,
      start_offset_milliseconds: 1,
      duration_milliseconds: 9,
    },
    {
      span_id: 'loop',
      parent_span_id: 'loop2',
      name: 'cycle',
      span_kind: 'INTERNAL' as const,
      start_offset_milliseconds: 2,
      duration_milliseconds: 1,
    },
    {
      span_id: 'loop2',
      parent_span_id: 'loop',
      name: 'cycle2',
      span_kind: 'INTERNAL' as const,
      start_offset_milliseconds: 2,
      duration_milliseconds: 1,
    },
  ];
  const rows = timelineRows(record.individual_stats, context);
  assert.deepEqual(
    rows.map((row) => [row.kind === 'call' ? row.call.service_call_name : row.span.name, row.depth]),
    [
      ['middleware', 0],
      ['memcache.Get', 0],
      ['handler', 0],
      ['http.GET', 1],
      ['tcp.connect', 2],
      ['cycle', 0],
      ['cycle2', 0],
    ],
    'a crafted cycle of parents is shown once each, never looped',
  );
});

test('every cut the size ladder notes is said on the details page', () => {
  const notes = incompletenessNotes({
    stacks_dropped: true,
    details_clipped: true,
    calls_clipped: 3,
    env_dropped: true,
    rpc_stats_clipped: 2,
  });
  assert.deepEqual(notes, [
    '3 call(s) were cut to fit the value size limit (the first ones are kept)',
    'call stacks were dropped to fit the value size limit',
    'summaries and attributes were shortened to fit the value size limit',
    'the request environment was dropped to fit the value size limit',
    '2 RPC stats entries were cut',
  ]);
});
