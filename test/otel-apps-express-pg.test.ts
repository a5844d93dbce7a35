import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { MemcacheStore } from '../stores/memcache-store.js';
import { type ChildApp, startChildApp, stopChildApp } from './helpers/child-app.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import {
  callsNamed,
  checkDashboardHints,
  checkRecordShape,
  checkServedFindings,
  EPS,
  firstAppFrame,
  names,
  notDriven,
  processorStats,
  routeOf,
  topFrame,
} from './helpers/otel-app-checks.js';
import {
  markedLines,
  nestedCalls,
  type Recorded,
  RecordReader,
  startOtlpSink,
  startStockServer,
} from './helpers/otel-app-records.js';
import { type PostgresServer, startPostgres } from './helpers/postgres.js';

// Issue 10, app A: an Express app traced the way most OpenTelemetry users trace (NodeSDK +
// getNodeAutoInstrumentations() defaults, fs on, + their own BatchSpanProcessor and OTLP exporter),
// with appstats added beside; pg against a real PostgreSQL, memjs against a real memcached, fetch
// to a local server. Each route is driven, its record read back with the project's reader, and
// checked: only real calls, honest totals, true findings, the app's lines, no start-up records.

const A_APP = fileURLToPath(new URL('./fixtures/otel-apps/express-pg.mjs', import.meta.url));
const A_TRACING = fileURLToPath(new URL('./fixtures/otel-apps/express-pg-tracing.mjs', import.meta.url));
const CHECKOUT = 'pg-pool.connect';
const SELECT = 'postgresql.SELECT';

let memcached: MemcachedServer;
let postgres: PostgresServer;
let store: MemcacheStore;
let app: ChildApp | undefined;

before(async () => {
  [memcached, postgres] = await Promise.all([startMemcached(), startPostgres()]);
  store = new MemcacheStore(memcached.address);
  const db = new pg.Client({ connectionString: postgres.connectionString });
  await db.connect();
  await db.query(`
    CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, price int NOT NULL);
    CREATE TABLE reviews (id serial PRIMARY KEY, product_id int NOT NULL, body text NOT NULL);
    INSERT INTO products SELECT i, 'product ' || i, i * 100 FROM generate_series(1, 10) AS i;
    INSERT INTO reviews (product_id, body) SELECT i % 10 + 1, 'review ' || i FROM generate_series(1, 30) AS i;`);
  await db.end();
});

after(async () => {
  if (app) await stopChildApp(app.child);
  await store?.close();
  await Promise.all([memcached?.stop(), postgres?.stop()]);
});

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
    app = await startChildApp(
      ['--import', 'tsx', '--import', A_TRACING, A_APP],
      {
        ...process.env,
        APPSTATS_MEMCACHE: memcached.address,
        APPSTATS_KEY_PREFIX: keyPrefix,
        OTEL_SERVICE_NAME: keyPrefix,
        APP_MEMCACHE: memcached.address,
        DATABASE_URL: postgres.connectionString,
        PRICES_URL: stock.url,
        OTLP_TRACES_URL: sink.url,
      },
      /listening (\d+)/,
    );
    port = Number(app.ready[1]);
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
    // [call, first frame, expected]: every call at once, so a failure shows them all.
    const seen: [string, string, string][] = [];
    const expect = (label: string, call: Parameters<typeof topFrame>[0], marker: string) =>
      seen.push([label, topFrame(call), at(marker)]);
    for (const { full } of only('/products'))
      expect('/products pool.query', callsNamed(full, SELECT)[0], 'products');
    for (const { full } of only('/product/:id')) {
      expect('/product memjs get', callsNamed(full, 'memcache.Get')[0], 'memcache.Get');
      expect('/product pool.query', callsNamed(full, SELECT)[0], 'product.query');
      expect('/product fetch', callsNamed(full, 'http.GET')[0], 'product.fetch');
    }
    for (const { full } of only('/loop'))
      for (const call of callsNamed(full, SELECT)) expect('/loop pool.query', call, 'loop.query');
    assert.deepEqual(
      seen.map(([label, actual]) => [label, actual]),
      seen.map(([label, , expected]) => [label, expected]),
    );
    // The checkout starts inside pool.query: library frames first, then the app's line.
    for (const { full } of only('/products'))
      assert.equal(firstAppFrame(callsNamed(full, CHECKOUT)[0]), at('products'));
  });

  it('makes no record of start-up spans (dns.lookup, fs, the pool warm-up), and counts them', async () => {
    const others = notDriven(await reader.allParts(), [...paths, ...again]);
    assert.deepEqual(others, [], 'records that are not requests');
    const stats = await processorStats(port);
    assert.equal(stats.recorded, reader.driven.length, `one record per request: ${JSON.stringify(stats)}`);
    assert.ok(stats.rootsWithoutCalls > 0, `start-up roots counted: ${JSON.stringify(stats)}`);
  });

  it('hints on the dashboard only what the findings say', async () => {
    checkDashboardHints((await reader.dashboard()).path_stats, byRoute);
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
