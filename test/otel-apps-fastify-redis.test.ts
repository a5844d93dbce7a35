import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { MemcacheStore } from '../stores/memcache-store.js';
import { type ChildApp, startChildApp, stopChildApp } from './helpers/child-app.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import {
  checkDashboardHints,
  checkRecordShape,
  checkServedFindings,
  firstAppFrame,
  names,
  notDriven,
  processorStats,
  routeOf,
} from './helpers/otel-app-checks.js';
import { markedLines, type Recorded, RecordReader } from './helpers/otel-app-records.js';
import { type RedisServer, startRedis } from './helpers/redis.js';

// Issue 10, app B: a Fastify app (no OTel plugin, so no `http.route`) started with
// `--import otel-appstats/register` plus the user's own ioredis instrumentation in a second
// `--import`, against a real redis-server. Each route is driven and its record read back: only the
// redis calls, honest totals, the N+1 over different keys and no false duplicate, the app's lines,
// paths grouped by the default normaliser and by APPSTATS_NORMALIZE_PATHS.

const B_APP = fileURLToPath(new URL('./fixtures/otel-apps/fastify-redis.mjs', import.meta.url));
const B_TRACING = fileURLToPath(new URL('./fixtures/otel-apps/fastify-redis-tracing.mjs', import.meta.url));
const REGISTER = fileURLToPath(new URL('../register.ts', import.meta.url));

let memcached: MemcachedServer;
let redis: RedisServer;
let store: MemcacheStore;
let app: ChildApp | undefined;

before(async () => {
  [memcached, redis] = await Promise.all([startMemcached(), startRedis()]);
  store = new MemcacheStore(memcached.address);
  const client = new Redis(redis.url);
  for (const name of ['ann', 'bob', 'cy', 'dee', 'eve', 'fay'])
    await client.hset(`player:${name}`, { name, level: '3' });
  await client.hset('user:12', { name: 'twelve' });
  await client.hset('user:7', { name: 'seven' });
  await client.quit();
});

after(async () => {
  if (app) await stopChildApp(app.child);
  await store?.close();
  await Promise.all([memcached?.stop(), redis?.stop()]);
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
    // The user's instrumentation is imported after the register entry: by then the global tracer
    // provider and the ESM hook are set (the register entry awaits its set-up).
    app = await startChildApp(
      ['--import', 'tsx', '--import', REGISTER, '--import', B_TRACING, B_APP],
      {
        ...process.env,
        APPSTATS_MEMCACHE: memcached.address,
        APPSTATS_KEY_PREFIX: keyPrefix,
        OTEL_SERVICE_NAME: keyPrefix,
        REDIS_URL: redis.url,
        APPSTATS_IGNORE_PATHS: '/_ah/stats,/_test',
        APPSTATS_NORMALIZE_PATHS: '/score/:name/:points',
      },
      /listening (\d+)/,
    );
    port = Number(app.ready[1]);
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
    const at = (marker: string) => `${B_APP}:${lines.get(marker)}`;
    const seen: [string, string, string][] = [];
    for (const { full } of only('/score/:name/:points'))
      seen.push(['/score zincrby', firstAppFrame(full.individual_stats[0]), at('score.zincrby')]);
    for (const { full } of only('/leaderboard'))
      for (const call of full.individual_stats)
        seen.push(['/leaderboard hgetall', firstAppFrame(call), at('leaderboard.hgetall')]);
    assert.deepEqual(
      seen.map(([label, actual]) => [label, actual]),
      seen.map(([label, , expected]) => [label, expected]),
    );
    // ioredis' generic command function is named after the first command V8 saw (`zincrby`).
    const misnamed = only('/leaderboard').flatMap(({ full }) =>
      full.individual_stats.flatMap((call) =>
        call.call_stack
          .filter((frame) => /zincrby/i.test(frame.function_name))
          .map((frame) => frame.function_name),
      ),
    );
    assert.deepEqual(misnamed, [], 'frames of hgetall calls named after zincrby');
  });

  it('hints on the dashboard only what the findings say', async () => {
    checkDashboardHints((await reader.dashboard()).path_stats, byRoute);
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
    assert.deepEqual(notDriven(await reader.allParts(), paths), [], 'records that are not requests');
    const stats = await processorStats(port);
    assert.equal(stats.recorded, paths.length, `one record per request: ${JSON.stringify(stats)}`);
  });
});
