import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { RequestRecord, RpcCall } from '../core/record.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { type ChildApp, startChildApp, stopChildApp } from './helpers/child-app.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import {
  expectedTotals,
  markedLines,
  nestedCalls,
  type Recorded,
  RecordReader,
  startOtlpSink,
  startStockServer,
} from './helpers/otel-app-records.js';
import { type PostgresServer, startPostgres } from './helpers/postgres.js';
import { type RedisServer, startRedis } from './helpers/redis.js';

// The apps users actually run (issue 10), against real PostgreSQL, redis and memcached:
// A: Express + pg + memjs + fetch, traced by NodeSDK + getNodeAutoInstrumentations() + their own
//    OTLP exporter, with appstats beside; B: Fastify + ioredis under the register entry, plus the
//    user's own ioredis instrumentation. Each route is driven, its record read back with the
//    project's reader, and checked: only real calls, honest totals, true findings, the app's lines.

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/otel-apps/${name}`, import.meta.url));
const A_APP = fixture('express-pg.mjs');
const B_APP = fixture('fastify-redis.mjs');
const REGISTER = fileURLToPath(new URL('../register.ts', import.meta.url));
const EPS = 0.01; // times are rounded to the µs; sums of up to 20 rounded values

const CHECKOUT = 'pg-pool.connect';
const SELECT = 'postgresql.SELECT';
const SET_UP = /connect|dns|tcp|lookup|tls/i;

let memcached: MemcachedServer;
let postgres: PostgresServer;
let redis: RedisServer;
let store: MemcacheStore;
const apps: ChildApp[] = [];

before(async () => {
  [memcached, postgres, redis] = await Promise.all([startMemcached(), startPostgres(), startRedis()]);
  store = new MemcacheStore(memcached.address);
  const db = new pg.Client({ connectionString: postgres.connectionString });
  await db.connect();
  await db.query(`
    CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, price int NOT NULL);
    CREATE TABLE reviews (id serial PRIMARY KEY, product_id int NOT NULL, body text NOT NULL);
    INSERT INTO products SELECT i, 'product ' || i, i * 100 FROM generate_series(1, 10) AS i;
    INSERT INTO reviews (product_id, body) SELECT i % 10 + 1, 'review ' || i FROM generate_series(1, 30) AS i;`);
  await db.end();
  const client = new Redis(redis.url);
  for (const name of ['ann', 'bob', 'cy', 'dee', 'eve', 'fay'])
    await client.hset(`player:${name}`, { name, level: '3' });
  await client.hset('user:12', { name: 'twelve' });
  await client.hset('user:7', { name: 'seven' });
  await client.quit();
});

after(async () => {
  await Promise.all(apps.map((app) => stopChildApp(app.child)));
  await store?.close();
  await Promise.all([memcached?.stop(), postgres?.stop(), redis?.stop()]);
});

async function startApp(args: string[], env: Record<string, string>, keyPrefix: string): Promise<number> {
  const app = await startChildApp(
    ['--import', 'tsx', ...args],
    { ...process.env, APPSTATS_MEMCACHE: memcached.address, APPSTATS_KEY_PREFIX: keyPrefix, ...env },
    /listening (\d+)/,
  );
  apps.push(app);
  return Number(app.ready[1]);
}

async function processorStats(port: number): Promise<Record<string, number>> {
  const response = await fetch(`http://127.0.0.1:${port}/_test/appstats-stats`);
  assert.equal(response.status, 200);
  return (await response.json()) as Record<string, number>;
}

/** The route a driven path belongs to, by the templates the test expects (`/product/3` -> `/product/:id`). */
function routeOf(path: string, templates: readonly string[]): string {
  const segments = path.split('/');
  const match = templates.find((template) => {
    const want = template.split('/');
    return want.length === segments.length && want.every((w, i) => w.startsWith(':') || w === segments[i]);
  });
  return match ?? path;
}

const names = (record: RequestRecord) => record.individual_stats.map((call) => call.service_call_name);
const callsNamed = (record: RequestRecord, name: string) =>
  record.individual_stats.filter((call) => call.service_call_name === name);

/** The first frame of a call's stack, as `file:line`. */
function topFrame(call: RpcCall): string {
  const frame = call.call_stack[0];
  return frame ? `${frame.class_or_file_name}:${frame.line_number}` : '(no stack)';
}

/** The checks every record of both apps must pass: calls vs context, nesting, totals, findings. */
function checkRecordShape(recorded: Recorded, sequential: boolean): void {
  const { part, full, path } = recorded;
  for (const call of full.individual_stats)
    assert.ok(
      call.span_kind === 'CLIENT' || call.span_kind === 'PRODUCER',
      `${path}: ${call.span_name} (${call.span_kind}) is not a call`,
    );
  const context = full.context_spans ?? [];
  const callIds = new Set(full.individual_stats.map((call) => call.span_id));
  const known = new Set([...callIds, ...context.map((span) => span.span_id)]);
  for (const span of context) {
    assert.ok(
      span.span_kind === 'INTERNAL' || span.span_kind === 'SERVER',
      `${path}: context ${span.name} is ${span.span_kind}`,
    );
    assert.ok(!callIds.has(span.span_id), `${path}: context span ${span.name} is also a call`);
    if (span.parent_span_id !== undefined)
      assert.ok(known.has(span.parent_span_id), `${path}: ${span.name}'s parent is kept`);
  }
  for (const call of full.individual_stats)
    if (call.parent_span_id !== undefined)
      assert.ok(
        known.has(call.parent_span_id),
        `${path}: ${call.service_call_name}'s parent ${call.parent_span_id} is in the record`,
      );

  const { total, inFlight, outermost } = expectedTotals(full);
  for (const [kind, record] of [
    ['part', part],
    ['full', full],
  ] as const) {
    assert.equal(
      typeof record.rpc_total_milliseconds,
      'number',
      `${path}: ${kind} has rpc_total_milliseconds`,
    );
    assert.equal(
      typeof record.rpc_in_flight_milliseconds,
      'number',
      `${path}: ${kind} has rpc_in_flight_milliseconds`,
    );
  }
  const rpcTotal = part.rpc_total_milliseconds ?? Number.NaN;
  const rpcInFlight = part.rpc_in_flight_milliseconds ?? Number.NaN;
  assert.equal(full.rpc_total_milliseconds, rpcTotal, `${path}: part and full agree`);
  assert.equal(full.rpc_in_flight_milliseconds, rpcInFlight, `${path}: part and full agree`);
  assert.ok(
    Math.abs(rpcTotal - total) <= EPS,
    `${path}: rpc_total ${rpcTotal} = sum of outermost calls ${total}`,
  );
  assert.ok(
    Math.abs(rpcInFlight - inFlight) <= EPS,
    `${path}: in flight ${rpcInFlight} = union of calls ${inFlight}`,
  );
  assert.ok(rpcInFlight <= rpcTotal + EPS, `${path}: in flight ${rpcInFlight} <= rpc_total ${rpcTotal}`);
  assert.ok(rpcInFlight <= part.duration_milliseconds + EPS, `${path}: in flight <= duration`);
  if (sequential)
    assert.ok(
      rpcTotal <= part.duration_milliseconds + EPS,
      `${path}: rpc_total ${rpcTotal} <= duration ${part.duration_milliseconds}`,
    );
  // rpc_stats count the outermost calls only, once each.
  const counted = part.rpc_stats.reduce((sum, stat) => sum + stat.total_amount_of_calls, 0);
  assert.equal(counted, outermost.length, `${path}: rpc_stats count the ${outermost.length} outermost calls`);

  for (const finding of recorded.findings) {
    assert.notEqual(finding.kind, 'duplicate', `${path}: no duplicate here (${finding.message})`);
    assert.doesNotMatch(finding.call_name, SET_UP, `${path}: a finding names connection set-up`);
    for (const index of finding.calls) {
      const call = full.individual_stats[index];
      assert.ok(call, `${path}: finding index ${index} is a call`);
      assert.doesNotMatch(
        call.service_call_name,
        SET_UP,
        `${path}: a finding counts ${call.service_call_name}`,
      );
    }
  }
}

/** The dashboard's hints (the part's counts) and the details JSON serve the pure function's findings. */
function checkServedFindings({ part, path, findings, detailsJson }: Recorded): void {
  assert.deepEqual(
    part.findings ?? [],
    findings.map((f) => ({ kind: f.kind, call_name: f.call_name, count: f.calls.length })),
    `${path}: the part's finding counts`,
  );
  if (findings.length > 0)
    assert.deepEqual(detailsJson.findings, findings, `${path}: the details JSON serves the findings`);
}

describe('App A: Express + pg + memjs + fetch, NodeSDK + auto-instrumentations + appstats beside', () => {
  const keyPrefix = 'otel-express-pg';
  const expected: Record<string, string[]> = {
    '/': [],
    '/products': [CHECKOUT, SELECT],
    '/product/:id': ['memcache.Get', CHECKOUT, SELECT, 'http.GET'],
    '/loop': Array.from({ length: 10 }, () => [CHECKOUT, SELECT]).flat(),
    '/batched': [CHECKOUT, SELECT],
    '/parallel': [CHECKOUT, CHECKOUT, CHECKOUT, SELECT, SELECT, SELECT],
    // The first query of a cold pool: the connection is opened inside the checkout.
    '/report': [CHECKOUT, 'pg.connect', SELECT],
  };
  // /report once: only its first query opens a connection.
  const paths = ['/', '/products', '/product/3', '/loop', '/batched', '/parallel', '/report'];
  const again = ['/', '/products', '/product/5', '/loop', '/batched', '/parallel'];
  let port: number;
  let reader: RecordReader;
  let sink: Awaited<ReturnType<typeof startOtlpSink>>;
  let stock: Awaited<ReturnType<typeof startStockServer>>;
  const byRoute = new Map<string, Recorded[]>();
  const lines = markedLines(A_APP);

  before(async () => {
    [sink, stock] = await Promise.all([startOtlpSink(), startStockServer()]);
    port = await startApp(
      ['--import', fixture('express-pg-tracing.mjs'), A_APP],
      {
        APP_MEMCACHE: memcached.address,
        DATABASE_URL: postgres.connectionString,
        PRICES_URL: stock.url,
        OTLP_TRACES_URL: sink.url,
        OTEL_SERVICE_NAME: keyPrefix,
      },
      keyPrefix,
    );
    reader = new RecordReader(store, keyPrefix);
    for (const path of [...paths, ...again]) {
      const recorded = await reader.drive(port, path);
      const route = routeOf(path, Object.keys(expected));
      byRoute.set(route, [...(byRoute.get(route) ?? []), recorded]);
    }
  });
  after(async () => {
    await Promise.all([sink?.close(), stock?.close()]);
  });

  const only = (route: string) => {
    const list = byRoute.get(route);
    assert.ok(list?.length, `${route} was recorded`);
    return list;
  };

  it('records per route exactly its calls, in start order: CLIENT spans, no middleware or handler', () => {
    for (const [route, calls] of Object.entries(expected))
      for (const { full } of only(route)) assert.deepEqual(names(full), calls, `${route}: its calls`);
    for (const { full } of only('/products'))
      for (const call of callsNamed(full, SELECT)) assert.match(call.span_name, /^pg\.query:SELECT/);
    const fetchCall = callsNamed(only('/product/:id')[0].full, 'http.GET')[0];
    assert.match(String(fetchCall.attributes['url.full']), /\/stock\/3$/);
  });

  it('holds on every record: calls vs context, nesting, honest totals, no false finding', () => {
    for (const [route, recordedList] of byRoute)
      for (const recorded of recordedList) checkRecordShape(recorded, route !== '/parallel');
  });

  it('keeps middleware and handlers as context: the handler span is the parent of its calls', () => {
    for (const [route, recordedList] of byRoute) {
      for (const recorded of recordedList) {
        const context = recorded.full.context_spans ?? [];
        const handler = context.find((span) => span.name === `request handler - ${route}`);
        assert.ok(
          handler,
          `${route}: its request handler is a context span (${context.map((s) => s.name).join(', ')})`,
        );
        assert.ok(
          context.some((span) => span.name === 'middleware - query'),
          `${route}: middleware kept as context`,
        );
        const nested = nestedCalls(recorded.full);
        for (const call of recorded.full.individual_stats)
          if (!nested.has(call.span_id))
            assert.equal(
              call.parent_span_id,
              handler.span_id,
              `${route}: ${call.service_call_name} was made by the handler`,
            );
      }
    }
  });

  it('shows a connection opened inside a pool checkout under it, counted once', () => {
    const { full } = only('/report')[0];
    const [checkout, connect, select] = full.individual_stats;
    assert.equal(connect.service_call_name, 'pg.connect');
    assert.equal(connect.parent_span_id, checkout.span_id, 'pg.connect is nested in pg-pool.connect');
    assert.deepEqual([...nestedCalls(full)], [connect.span_id]);
    assert.deepEqual(
      full.rpc_stats.map((stat) => [stat.service_call_name, stat.total_amount_of_calls]).sort(),
      [
        [CHECKOUT, 1],
        [SELECT, 1],
      ],
      'rpc_stats: pg.connect is not counted again',
    );
    const outer = checkout.duration_milliseconds + select.duration_milliseconds;
    assert.ok(
      Math.abs((full.rpc_total_milliseconds ?? Number.NaN) - outer) <= EPS,
      'RPC Total: outermost calls only',
    );
  });

  it('finds the N+1 on /loop, and nothing on /batched or /parallel, no duplicate of a $1 query', () => {
    for (const { full, findings } of only('/loop')) {
      const nPlusOne = findings.filter((finding) => finding.kind === 'n_plus_one');
      assert.equal(nPlusOne.length, 1, `one N+1 on /loop: ${JSON.stringify(findings)}`);
      assert.equal(nPlusOne[0].call_name, SELECT);
      const selects = full.individual_stats.flatMap((call, i) =>
        call.service_call_name === SELECT ? [i] : [],
      );
      assert.deepEqual(nPlusOne[0].calls, selects, 'the ten queries, not the checkouts');
      assert.ok(nPlusOne[0].message.length > 0);
    }
    for (const route of ['/batched', '/parallel', '/products', '/'])
      for (const { findings } of only(route)) assert.deepEqual(findings, [], `${route}: no finding`);
  });

  it('serves those findings in the details JSON, and counts them in the part for the dashboard', () => {
    for (const recordedList of byRoute.values())
      for (const recorded of recordedList) checkServedFindings(recorded);
  });

  it("starts the stacks of pool.query, fetch and memjs calls at the app's line", () => {
    const at = (marker: string) => `${A_APP}:${lines.get(marker)}`;
    assert.equal(lines.size, 5, 'the fixture marks its calls');
    for (const { full } of only('/products'))
      assert.equal(topFrame(callsNamed(full, SELECT)[0]), at('products'));
    for (const { full } of only('/product/:id')) {
      assert.equal(topFrame(callsNamed(full, 'memcache.Get')[0]), at('memcache.Get'));
      assert.equal(topFrame(callsNamed(full, SELECT)[0]), at('product.query'), 'pool.query: the app line');
      assert.equal(topFrame(callsNamed(full, 'http.GET')[0]), at('product.fetch'), 'fetch: the app line');
    }
    for (const { full } of only('/loop'))
      for (const call of callsNamed(full, SELECT)) assert.equal(topFrame(call), at('loop.query'));
  });

  it('makes no record of start-up spans (dns.lookup, fs, the pool warm-up), and counts them', async () => {
    const drivenPaths = new Set([...paths, ...again]);
    const others = (await reader.allParts())
      .filter((part) => part.http_method !== 'GET' || !drivenPaths.has(part.http_path))
      .map((part) => `${part.http_method || '(no method)'} ${part.http_path}`);
    assert.deepEqual(others, [], 'records that are not requests');
    const stats = await processorStats(port);
    assert.equal(stats.recorded, reader.driven.length, `one record per request: ${JSON.stringify(stats)}`);
    assert.ok(stats.rootsWithoutCalls > 0, `start-up roots counted: ${JSON.stringify(stats)}`);
  });

  it("groups /product/3 and /product/5 under Express's /product/:id", async () => {
    assert.deepEqual(
      only('/product/:id').map(({ full }) => [full.http_path, full.http_route]),
      [
        ['/product/3', '/product/:id'],
        ['/product/5', '/product/:id'],
      ],
    );
    const row = (await reader.dashboard()).path_stats.find((r) => r.path === 'GET /product/:id');
    assert.equal(row?.requests, 2);
  });

  it("leaves the user's own exporter every span: each recorded span reached their OTLP sink", async () => {
    const ids = reader.driven.flatMap(({ full }) => [
      full.span_id,
      ...full.individual_stats.map((call) => call.span_id),
      ...(full.context_spans ?? []).map((span) => span.span_id),
    ]);
    const deadline = Date.now() + 10_000;
    while (ids.some((id) => !sink.holds(id)) && Date.now() < deadline) await sleep(50);
    const missing = ids.filter((id) => !sink.holds(id));
    assert.deepEqual(missing, [], `${missing.length} of ${ids.length} spans never reached the OTLP sink`);
    assert.ok(sink.holdsText('pg.query:SELECT') && sink.holdsText('pg-pool.connect'), 'pg spans exported');
  });
});

describe('App B: Fastify + ioredis under the register entry, with the user’s ioredis instrumentation', () => {
  const keyPrefix = 'otel-fastify-redis';
  const expected: Record<string, string[]> = {
    '/score/:name/:points': ['redis.ZINCRBY'],
    '/leaderboard': Array(6).fill('redis.HGETALL'),
    '/pipelined': Array(6).fill('redis.PIPELINE hgetall'),
    '/user/:id': ['redis.HGETALL'],
  };
  const paths = [
    '/score/ann/10',
    '/score/bob/7',
    '/leaderboard',
    '/pipelined',
    '/user/12',
    '/user/7',
    '/leaderboard',
    '/pipelined',
  ];
  let port: number;
  let reader: RecordReader;
  const byRoute = new Map<string, Recorded[]>();
  const lines = markedLines(B_APP);

  before(async () => {
    port = await startApp(
      ['--import', REGISTER, '--import', fixture('fastify-redis-tracing.mjs'), B_APP],
      {
        REDIS_URL: redis.url,
        OTEL_SERVICE_NAME: keyPrefix,
        APPSTATS_IGNORE_PATHS: '/_ah/stats,/_test',
        APPSTATS_NORMALIZE_PATHS: '/score/:name/:points',
      },
      keyPrefix,
    );
    reader = new RecordReader(store, keyPrefix);
    for (const path of paths) {
      const recorded = await reader.drive(port, path);
      const route = routeOf(path, Object.keys(expected));
      byRoute.set(route, [...(byRoute.get(route) ?? []), recorded]);
    }
  });

  const only = (route: string) => {
    const list = byRoute.get(route);
    assert.ok(list?.length, `${route} was recorded (routes seen: ${[...byRoute.keys()].join(', ')})`);
    return list;
  };

  it('records per route exactly its redis calls, named from the semantic conventions', () => {
    for (const [route, calls] of Object.entries(expected))
      for (const { full } of only(route)) assert.deepEqual(names(full), calls, `${route}: its calls`);
  });

  it('holds on every record: calls only, honest totals, no false finding', () => {
    for (const [route, recordedList] of byRoute)
      for (const recorded of recordedList) checkRecordShape(recorded, route !== '/pipelined');
  });

  it('finds the N+1 over different keys on /leaderboard, none on /pipelined, no duplicate', () => {
    for (const { findings } of only('/leaderboard')) {
      const nPlusOne = findings.filter((finding) => finding.kind === 'n_plus_one');
      assert.equal(nPlusOne.length, 1, `one N+1 on /leaderboard: ${JSON.stringify(findings)}`);
      assert.equal(nPlusOne[0].call_name, 'redis.HGETALL');
      assert.deepEqual(nPlusOne[0].calls, [0, 1, 2, 3, 4, 5]);
    }
    for (const { findings } of only('/pipelined')) assert.deepEqual(findings, [], '/pipelined: no finding');
  });

  it('serves those findings in the details JSON, and counts them in the part for the dashboard', () => {
    for (const recordedList of byRoute.values())
      for (const recorded of recordedList) checkServedFindings(recorded);
  });

  it("names the app's line first among the app frames, and no frame after another command", () => {
    const appLine = (call: RpcCall) => {
      const frame = call.call_stack.find((f) => !/[\\/]node_modules[\\/]/.test(f.class_or_file_name));
      return frame ? `${frame.class_or_file_name}:${frame.line_number}` : '(no app frame)';
    };
    for (const { full } of only('/score/:name/:points'))
      assert.equal(appLine(full.individual_stats[0]), `${B_APP}:${lines.get('score.zincrby')}`);
    for (const { full } of only('/leaderboard'))
      for (const call of full.individual_stats) {
        assert.equal(appLine(call), `${B_APP}:${lines.get('leaderboard.hgetall')}`);
        const misnamed = call.call_stack.filter((frame) => /zincrby/i.test(frame.function_name));
        assert.deepEqual(misnamed, [], 'no frame of an hgetall call is named after zincrby');
      }
  });

  it('groups paths without http.route: the default :id, and APPSTATS_NORMALIZE_PATHS templates', async () => {
    assert.deepEqual(
      [...only('/user/:id'), ...only('/score/:name/:points')].map(({ full }) => [
        full.http_path,
        full.http_route,
      ]),
      [
        ['/user/12', '/user/:id'],
        ['/user/7', '/user/:id'],
        ['/score/ann/10', '/score/:name/:points'],
        ['/score/bob/7', '/score/:name/:points'],
      ],
    );
    const rows = (await reader.dashboard()).path_stats;
    assert.equal(rows.find((r) => r.path === 'GET /user/:id')?.requests, 2);
    assert.equal(rows.find((r) => r.path === 'GET /score/:name/:points')?.requests, 2);
  });

  it('makes one record per request and none else', async () => {
    const others = (await reader.allParts())
      .filter((part) => part.http_method !== 'GET' || !paths.includes(part.http_path))
      .map((part) => `${part.http_method || '(no method)'} ${part.http_path}`);
    assert.deepEqual(others, [], 'records that are not requests');
    const stats = await processorStats(port);
    assert.equal(stats.recorded, paths.length, `one record per request: ${JSON.stringify(stats)}`);
  });
});
