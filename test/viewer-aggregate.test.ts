import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../core/build-record.js';
import type { RequestSummary } from '../core/record.js';
import { aggregateDashboard, pathKeyOf, percentile } from '../viewer/aggregate.js';
import { DEFAULT_QUERY, parseDashboardQuery, queryParams } from '../viewer/dashboard-query.js';
import { formatCost, formatMs, formatTimestamp, statusClass } from '../viewer/format.js';
import { sampleRecord } from './helpers/records.js';

function part(start: number, path: string, extra: Partial<RequestSummary> = {}, calls = 3): RequestSummary {
  return { ...summarize(sampleRecord({ start, path, calls })), ...extra };
}

function query(params: Record<string, string>) {
  return parseDashboardQuery((name) => params[name]);
}

test('percentile: nearest rank', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 95), 95);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile([7], 99), 7);
  assert.equal(percentile([], 50), 0);
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
});

test('history: newest first, numbered from 1, totals of calls and cost per request', () => {
  const parts = [part(1000, '/a'), part(3000, '/b'), part(2000, '/a')];
  const board = aggregateDashboard(parts);
  assert.deepEqual(
    board.history.map((row) => [row.n, row.summary.start_timestamp_milliseconds]),
    [
      [1, 3000],
      [2, 2000],
      [3, 1000],
    ],
  );
  assert.equal(board.history[0].calls, 3);
  assert.equal(board.history[0].cost, 0.06);
  assert.equal(board.requests, 3);
  assert.equal(board.calls, 9);
  assert.equal(board.cost, 0.18);
});

test('RPC stats: count, total and mean time, cost, cost %, per-path breakdown', () => {
  const board = aggregateDashboard([part(1000, '/a'), part(2000, '/b', {}, 4)]);
  const lookup = board.rpcs.find((r) => r.service_call_name === 'datastore.Lookup');
  const get = board.rpcs.find((r) => r.service_call_name === 'memcache.Get');
  assert.ok(lookup && get);
  // 3 calls: Lookup(0) Get(1) Get(2); 4 calls: + Lookup(3).
  assert.equal(lookup.count, 3);
  assert.equal(get.count, 4);
  assert.equal(board.rpcs[0].service_call_name, 'memcache.Get', 'sorted by count, descending');
  assert.equal(lookup.cost, 0.18);
  assert.equal(Math.round(lookup.cost_percent), 100);
  assert.equal(get.total_ms, 0.214 + 0.215 + 0.214 + 0.215);
  assert.equal(get.mean_ms, Math.round((get.total_ms / 4) * 1000) / 1000);
  assert.deepEqual(
    lookup.by_path.map((p) => [p.path, p.count]),
    [
      ['GET /b', 2],
      ['GET /a', 1],
    ],
  );
});

test('path stats: requests, calls, cost, mean/p50/p95/p99, error rate, recent links, per-call rows, route grouping', () => {
  const parts: RequestSummary[] = [];
  for (let i = 1; i <= 20; i++)
    parts.push(
      part(i * 1000, `/users/${i}`, {
        http_route: '/users/:id',
        duration_milliseconds: i,
        http_status: i === 20 ? 503 : 200,
      }),
    );
  parts.push(part(50_000, '/x', { was_successful: false }));
  const board = aggregateDashboard(parts);
  const users = board.paths.find((p) => p.path === 'GET /users/:id');
  assert.ok(users);
  assert.equal(users.requests, 20);
  assert.equal(users.calls, 60);
  assert.equal(users.mean_ms, 10.5);
  assert.equal(users.p50_ms, 10);
  assert.equal(users.p95_ms, 19);
  assert.equal(users.p99_ms, 20);
  assert.equal(users.errors, 1);
  assert.equal(users.error_rate, 0.05);
  assert.deepEqual(
    users.recent.map((r) => r.start),
    [20_000, 19_000, 18_000, 17_000, 16_000],
  );
  assert.deepEqual(users.recent[0].n, 2, 'history numbers: /x is (1)');
  assert.deepEqual(
    users.by_rpc.map((r) => [r.service_call_name, r.count]),
    [
      ['memcache.Get', 40],
      ['datastore.Lookup', 20],
    ],
  );
  assert.equal(board.paths.find((p) => p.path === 'GET /x')?.error_rate, 1, 'a root ended in error counts');
  assert.equal(pathKeyOf({ http_method: '', http_path: '/job' }), '/job');
});

test('path hints are the findings the parts carry, never guessed from call counts', () => {
  // 9 calls: 6 memcache.Get and 3 datastore.Lookup, as a pipeline would make them: no finding.
  const pipelined = part(1000, '/pipelined', { findings: [] }, 9);
  const older = part(2000, '/older', {}, 15);
  delete older.findings;
  const loop = part(3000, '/loop', {
    findings: [{ kind: 'n_plus_one', call_name: 'postgresql.SELECT', count: 10 }],
  });
  const board = aggregateDashboard([pipelined, older, loop]);
  const hints = (path: string) => board.paths.find((row) => row.path === path)?.repeated;
  assert.deepEqual(hints('GET /pipelined'), [], 'six calls of one name with no finding: no hint');
  assert.deepEqual(hints('GET /older'), [], 'a part without findings (older writer): no hint');
  assert.deepEqual(hints('GET /loop'), [
    { kind: 'n_plus_one', service_call_name: 'postgresql.SELECT', max_per_request: 10, requests: 1 },
  ]);
});

test('path hints across requests: the largest count in one request, how many requests had it, N+1 first', () => {
  const parts = [
    part(1000, '/r', {
      findings: [
        { kind: 'duplicate', call_name: 'memcache.Get', count: 2 },
        { kind: 'n_plus_one', call_name: 'redis.HGETALL', count: 6 },
        // A second run of the same name in the same request counts that request once, at its largest.
        { kind: 'n_plus_one', call_name: 'redis.HGETALL', count: 7 },
      ],
    }),
    part(2000, '/r', { findings: [{ kind: 'n_plus_one', call_name: 'redis.HGETALL', count: 5 }] }),
    part(3000, '/r', {
      findings: [
        { kind: 'parallelizable', call_name: 'http.GET', count: 3 },
        { kind: 'duplicate', call_name: 'memcache.Get', count: 4 },
      ],
    }),
    part(4000, '/r', { findings: [] }),
  ];
  assert.deepEqual(aggregateDashboard(parts).paths[0].repeated, [
    { kind: 'n_plus_one', service_call_name: 'redis.HGETALL', max_per_request: 7, requests: 2 },
    { kind: 'duplicate', service_call_name: 'memcache.Get', max_per_request: 4, requests: 2 },
    { kind: 'parallelizable', service_call_name: 'http.GET', max_per_request: 3, requests: 1 },
  ]);
});

test("time with a call in flight: mean per request and share of the same requests' duration, from parts that have it", () => {
  const parts = [
    part(1000, '/w', { duration_milliseconds: 20, rpc_in_flight_milliseconds: 10 }),
    part(2000, '/w', { duration_milliseconds: 40, rpc_in_flight_milliseconds: 30 }),
    // An older part without the field does not count, neither in the mean nor in the share.
    part(3000, '/w', { duration_milliseconds: 1000 }),
    part(4000, '/old', { duration_milliseconds: 5 }),
  ];
  for (const p of parts.slice(2)) delete p.rpc_in_flight_milliseconds;
  const board = aggregateDashboard(parts);
  const w = board.paths.find((row) => row.path === 'GET /w');
  assert.equal(w?.in_flight_ms, 20);
  assert.equal(w?.in_flight_percent?.toFixed(2), '66.67');
  const old = board.paths.find((row) => row.path === 'GET /old');
  assert.ok(old && old.in_flight_ms === undefined && old.in_flight_percent === undefined);
  assert.equal(board.in_flight_ms, 20, 'the header summary over every part that has it');
  assert.equal(board.in_flight_percent?.toFixed(2), '66.67');
  assert.equal(aggregateDashboard(parts.slice(2)).in_flight_ms, undefined);
});

/** A part of an app without Datastore: its calls cost nothing and bill nothing. */
function withoutCost(summary: RequestSummary): RequestSummary {
  return {
    ...summary,
    rpc_stats: summary.rpc_stats.map((stat) => ({
      ...stat,
      total_cost_of_calls_microdollars: 0,
      total_billed_ops: [],
    })),
  };
}

test('costs are shown only when some part read has a cost or a billed op', () => {
  const free = [withoutCost(part(1000, '/a')), withoutCost(part(2000, '/b'))];
  assert.equal(aggregateDashboard(free).show_cost, false);
  assert.equal(aggregateDashboard([...free, part(3000, '/c')]).show_cost, true);
  const billedOnly = withoutCost(part(3000, '/c'));
  billedOnly.rpc_stats[0].total_billed_ops = [{ op: 'DATASTORE_READ', num_ops: 1 }];
  assert.equal(aggregateDashboard([...free, billedOnly]).show_cost, true, 'a billed op alone shows costs');
  assert.equal(
    aggregateDashboard([...free, part(3000, '/c')], query({ path: '/a' })).show_cost,
    true,
    'decided over every part read, so filtering does not hide or show columns',
  );
});

test('filters: path (substring of path or route), method, status class, minimum duration', () => {
  const parts = [
    part(1000, '/api/users', { http_method: 'GET', http_status: 200, duration_milliseconds: 5 }),
    part(2000, '/api/orders', { http_method: 'POST', http_status: 201, duration_milliseconds: 50 }),
    part(3000, '/health', { http_method: 'GET', http_status: 503, duration_milliseconds: 500 }),
    part(4000, '/u/7', { http_route: '/u/:id', http_status: 404, duration_milliseconds: 1 }),
  ];
  const paths = (params: Record<string, string>) =>
    aggregateDashboard(parts, query(params)).history.map((row) => row.summary.http_path);
  assert.deepEqual(paths({ path: '/api' }), ['/api/orders', '/api/users']);
  assert.deepEqual(paths({ path: ':id' }), ['/u/7']);
  assert.deepEqual(paths({ method: 'post' }), ['/api/orders']);
  assert.deepEqual(paths({ status: '5xx' }), ['/health']);
  assert.deepEqual(paths({ status: '2xx' }), ['/api/orders', '/api/users']);
  assert.deepEqual(paths({ min_ms: '50' }), ['/health', '/api/orders']);
  assert.deepEqual(paths({ min_ms: '50', method: 'GET' }), ['/health']);
  assert.deepEqual(
    paths({ status: 'bogus', min_ms: '-3', method: '<x>' }).length,
    4,
    'bad filters are ignored',
  );
  const filtered = aggregateDashboard(parts, query({ path: '/api' }));
  assert.equal(filtered.requests, 2);
  assert.deepEqual(filtered.paths.map((p) => p.path).sort(), ['GET /api/users', 'POST /api/orders']);
  assert.deepEqual(filtered.methods, ['GET', 'POST'], 'the method list comes from all records');
});

test('sorting: each table by each key, both directions; unknown keys fall back', () => {
  const parts = [
    part(1000, '/slow', { duration_milliseconds: 300, http_status: 500 }, 1),
    part(2000, '/fast', { duration_milliseconds: 3 }, 6),
    part(3000, '/mid', { duration_milliseconds: 30, overhead_walltime_milliseconds: 9 }, 3),
  ];
  const history = (hsort: string) =>
    aggregateDashboard(parts, query({ hsort })).history.map((row) => row.summary.http_path);
  assert.deepEqual(history('-duration'), ['/slow', '/mid', '/fast']);
  assert.deepEqual(history('duration'), ['/fast', '/mid', '/slow']);
  assert.deepEqual(history('time'), ['/slow', '/fast', '/mid']);
  assert.deepEqual(history('-calls'), ['/fast', '/mid', '/slow']);
  assert.deepEqual(history('-status'), ['/slow', '/mid', '/fast']);
  assert.deepEqual(history('path'), ['/fast', '/mid', '/slow']);
  assert.deepEqual(history('-overhead')[0], '/mid');
  assert.deepEqual(history('nonsense'), ['/mid', '/fast', '/slow']);
  const paths = (psort: string) => aggregateDashboard(parts, query({ psort })).paths.map((p) => p.path);
  assert.deepEqual(paths('-p99'), ['GET /slow', 'GET /mid', 'GET /fast']);
  assert.deepEqual(paths('-calls'), ['GET /fast', 'GET /mid', 'GET /slow']);
  assert.deepEqual(paths('-errors')[0], 'GET /slow');
  assert.deepEqual(paths('path'), ['GET /fast', 'GET /mid', 'GET /slow']);
  const rpcs = (rsort: string) =>
    aggregateDashboard(parts, query({ rsort })).rpcs.map((r) => r.service_call_name);
  assert.deepEqual(rpcs('-count'), ['memcache.Get', 'datastore.Lookup']);
  assert.deepEqual(rpcs('-cost'), ['datastore.Lookup', 'memcache.Get']);
  assert.deepEqual(rpcs('name'), ['datastore.Lookup', 'memcache.Get']);
  assert.deepEqual(rpcs('-name'), ['memcache.Get', 'datastore.Lookup']);
});

test('the query round-trips through URL parameters, defaults left out', () => {
  assert.equal(queryParams(DEFAULT_QUERY).toString(), '');
  const q = query({
    path: '/a b',
    method: 'get',
    status: '4xx',
    min_ms: '2.5',
    hsort: 'duration',
    psort: '-p95',
    rsort: 'name',
  });
  const again = query(Object.fromEntries(queryParams(q)));
  assert.deepEqual(again, q);
  assert.equal(queryParams(q).get('method'), 'GET');
});

test('formatting', () => {
  assert.equal(formatMs(0.2134), '0.213');
  assert.equal(formatMs(12.345), '12.35');
  assert.equal(formatMs(123.45), '123.5');
  assert.equal(formatMs(12345.6), '12346');
  assert.equal(formatCost(0.06), '0.06');
  assert.equal(formatCost(70), '70');
  assert.equal(formatTimestamp(1700000012345.5), '2023-11-14 22:13:32.345');
  assert.equal(statusClass(404), '4xx');
  assert.equal(statusClass(0), 'none');
});
