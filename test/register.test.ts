import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Datastore } from '@google-cloud/datastore';
import { decodeRecord, isFullRecord } from '../core/codec.js';
import type { RequestRecord, RequestSummary } from '../core/record.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { settingsFromEnv } from '../exporter/register-settings.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { startChildApp, stopChildApp } from './helpers/child-app.js';
import { type DatastoreEmulator, startDatastoreEmulator } from './helpers/datastore-emulator.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { markedLines } from './helpers/otel-app-records.js';

const REGISTER = fileURLToPath(new URL('../register.ts', import.meta.url));

let memcached: MemcachedServer;
let emulator: DatastoreEmulator;
let store: MemcacheStore;
const children = new Set<ChildProcess>();

before(async () => {
  [memcached, emulator] = await Promise.all([startMemcached(), startDatastoreEmulator('datastore')]);
  store = new MemcacheStore(memcached.address);
  // Seed with a client of our own: this process is not instrumented.
  const datastore = new Datastore({ projectId: 'appstats-test', apiEndpoint: emulator.host });
  await datastore.save([
    { key: datastore.key(['User', 42]), data: { name: 'ann' } },
    { key: datastore.key(['User', 7]), data: { name: 'bob' } },
  ]);
  for (const client of (
    datastore as unknown as { clients_: Map<string, { close(): Promise<void> }> }
  ).clients_.values())
    await client.close();
});

after(async () => {
  await Promise.all([...children].map(stopApp));
  await store?.close();
  await Promise.all([memcached?.stop(), emulator?.stop()]);
});

async function stopApp(child: ChildProcess): Promise<void> {
  await stopChildApp(child);
  children.delete(child);
}

/** Starts a fixture app with the register entry; resolves with its port once it listens. */
async function startApp(
  fixture: string,
  keyPrefix: string,
  extraEnv: Record<string, string> = {},
): Promise<{ child: ChildProcess; port: number; stderr: () => string }> {
  const app = await startChildApp(
    ['--import', 'tsx', '--import', REGISTER, fixture],
    {
      ...process.env,
      ...emulator.env,
      APP_MEMCACHE: memcached.address,
      APPSTATS_MEMCACHE: memcached.address,
      APPSTATS_KEY_PREFIX: keyPrefix,
      OTEL_SERVICE_NAME: keyPrefix,
      ...extraEnv,
    },
    /listening (\d+)/,
  );
  children.add(app.child);
  return { child: app.child, port: Number(app.ready[1]), stderr: app.output };
}

/** The parts written under a prefix, waiting (bounded) until `count` are there: writes are async. */
async function partsWritten(keyPrefix: string, count: number): Promise<RequestSummary[]> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { values } = await store.getParts(allPartKeys({ keyPrefix }));
    const parts = [...values.values()].map((bytes) => decodeRecord(bytes));
    if (parts.length >= count)
      return parts.sort((a, b) => a.start_timestamp_milliseconds - b.start_timestamp_milliseconds);
    if (Date.now() > deadline)
      assert.fail(`expected ${count} records under ${keyPrefix}, found ${parts.length}`);
    await sleep(100);
  }
}

async function full(part: RequestSummary, keyPrefix: string): Promise<RequestRecord> {
  const bytes = await store.getFull(recordKey(part.start_timestamp_milliseconds, 'full', { keyPrefix }));
  assert.ok(bytes, 'the full record is there beside its part');
  const record = decodeRecord(bytes);
  assert.ok(isFullRecord(record));
  return record;
}

// Each app reads its own user: the memcache is shared, and each must see a miss first.
for (const [name, file, id, user] of [
  ['ESM', 'app-esm.mjs', 42, 'ann'],
  ['CommonJS', 'app-cjs.cjs', 7, 'bob'],
] as const) {
  describe(`register entry: a ${name} app started with --import`, () => {
    const fixture = fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));
    const keyPrefix = `fixture-${file.replace('.', '-')}`;

    it('records each request with its memcache and Datastore calls, stacks at the app lines', async () => {
      const { child, port } = await startApp(fixture, keyPrefix);
      let parts: RequestSummary[];
      try {
        const first = await fetch(`http://127.0.0.1:${port}/user?id=${id}`);
        assert.deepEqual(await first.json(), { name: user });
        // Requests one after the other, over 100 ms apart: each has a slot of its own.
        await sleep(150);
        const second = await fetch(`http://127.0.0.1:${port}/user?id=${id}`);
        assert.deepEqual(await second.json(), { name: user });
        await sleep(150);
        const list = await fetch(`http://127.0.0.1:${port}/users`);
        assert.deepEqual(await list.json(), ['ann', 'bob']);
        parts = await partsWritten(keyPrefix, 3);
      } finally {
        await stopApp(child);
      }
      assert.equal(parts.length, 3, 'one record per request, none for the exporter itself');
      const [miss, hit, query] = await Promise.all(parts.map((part) => full(part, keyPrefix)));
      const lines = markedLines(fixture);
      assert.equal(lines.size, 4, 'the fixture marks its four calls');

      assert.equal(miss.service_name, keyPrefix);
      assert.equal(miss.http_method, 'GET');
      assert.equal(miss.http_path, '/user');
      assert.equal(miss.http_query, `id=${id}`);
      assert.equal(miss.http_status, 200);
      assert.deepEqual(
        miss.individual_stats.map((call) => [
          call.service_call_name,
          call.request_data_summary,
          call.response_data_summary,
        ]),
        [
          ['memcache.Get', `key="user:${id}"`, 'miss'],
          ['datastore.Lookup', `1 key: User:${id}`, '1 found, 0 missing'],
          ['memcache.Set', `key="user:${id}" bytes=14 expires=60`, 'stored'],
        ],
      );
      assert.deepEqual(
        hit.individual_stats.map((call) => [call.service_call_name, call.response_data_summary]),
        [['memcache.Get', 'hit 14 bytes']],
      );
      assert.deepEqual(
        query.individual_stats.map((call) => [call.service_call_name, call.request_data_summary]),
        [['datastore.RunQuery', 'User ORDER BY name LIMIT 10']],
      );
      assert.equal(query.http_path, '/users');
      assert.deepEqual(query.rpc_stats[0]?.total_billed_ops, [{ op: 'DATASTORE_READ', num_ops: 3 }]);

      for (const call of [...miss.individual_stats, ...query.individual_stats]) {
        const top = call.call_stack[0];
        assert.ok(top, `${call.service_call_name} has a stack`);
        assert.equal(top.class_or_file_name, fixture, `${call.service_call_name}: the app's own file first`);
        assert.equal(
          top.line_number,
          lines.get(call.service_call_name),
          `${call.service_call_name}: its line`,
        );
        assert.ok(call.duration_milliseconds > 0);
        assert.equal(call.was_successful, true);
      }
    });
  });
}

describe('register entry: never in the way', () => {
  const fixture = fileURLToPath(new URL('./fixtures/app-esm.mjs', import.meta.url));

  it('a set-up that fails (a key prefix memcached cannot take) leaves the app serving, untraced', async () => {
    const { child, port, stderr } = await startApp(fixture, 'unused', {
      APPSTATS_KEY_PREFIX: 'has a space',
      OTEL_LOG_LEVEL: 'error',
    });
    try {
      const response = await fetch(`http://127.0.0.1:${port}/users`);
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), ['ann', 'bob']);
      assert.match(stderr(), /appstats: set-up failed; the app runs without appstats/);
    } finally {
      await stopApp(child);
    }
  });

  it('APPSTATS_DISABLED: the app serves and nothing is recorded', async () => {
    const keyPrefix = 'disabled-app';
    const { child, port } = await startApp(fixture, keyPrefix, { APPSTATS_DISABLED: 'true' });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${port}/users`)).status, 200);
      // Time for a write that must not come (the enabled apps above write within milliseconds).
      await sleep(500);
    } finally {
      await stopApp(child);
    }
    const { values } = await store.getParts(allPartKeys({ keyPrefix }));
    assert.equal(values.size, 0);
  });
});

describe('register entry: speaks up', () => {
  const fixture = fileURLToPath(new URL('./fixtures/app-esm.mjs', import.meta.url));

  it('a fetch the app makes while serving is a call of its request (undici instrumentation)', async () => {
    const keyPrefix = 'fetching-app';
    const target = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    const fetchUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/upstream`;
    const { child, port } = await startApp(fixture, keyPrefix, { FETCH_URL: fetchUrl });
    let parts: RequestSummary[];
    try {
      const response = await fetch(`http://127.0.0.1:${port}/fetch`);
      assert.deepEqual(await response.json(), { fetched: 200 });
      parts = await partsWritten(keyPrefix, 1);
    } finally {
      await stopApp(child);
      target.close();
    }
    const record = await full(parts[0], keyPrefix);
    assert.equal(record.http_path, '/fetch');
    assert.equal(record.individual_stats.length, 1, 'the fetch, and nothing else');
    const [call] = record.individual_stats;
    assert.match(call.service_call_name, /^(http\.)?GET$/);
    assert.equal(call.was_successful, true);
  });

  it('without OTEL_LOG_LEVEL, wrong settings are warned about on stderr, once each; the app serves', async () => {
    const { child, port, stderr } = await startApp(fixture, 'noisy-app', {
      APPSTATS_MEMCACHE: 'memcache://localhost:11211',
      APPSTATS_RECORD_FRACTION: 'half',
      APPSTATS_MAX_STACK: 'deep',
      OTEL_LOG_LEVEL: '',
    });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${port}/users`)).status, 200);
    } finally {
      await stopApp(child);
    }
    const lines = stderr().split('\n');
    for (const pattern of [
      /^appstats: APPSTATS_MEMCACHE=memcache:\/\/localhost:11211 is not a list of host:port/,
      /^appstats: APPSTATS_RECORD_FRACTION=half is not a number; ignored$/,
      /^appstats: APPSTATS_MAX_STACK=deep is not a number; ignored$/,
    ]) {
      assert.equal(lines.filter((line) => pattern.test(line)).length, 1, `${pattern} once in:\n${stderr()}`);
    }
  });
});

describe('settingsFromEnv', () => {
  it('reads the APPSTATS_* variables, with defaults left to the classes', () => {
    assert.deepEqual(settingsFromEnv({}), {
      disabled: false,
      processor: {},
      exporter: {},
      instrumentations: { http: true, undici: true, memjs: true, datastore: true },
      warnings: [],
    });
    const settings = settingsFromEnv({
      APPSTATS_MEMCACHE: 'a:11211,b:11211',
      APPSTATS_RECORD_FRACTION: '0.25',
      APPSTATS_KEY_PREFIX: 'shop',
      APPSTATS_MAX_STACK: '30',
      APPSTATS_IGNORE_PATHS: '/_ah/stats, /healthz',
      APPSTATS_INSTRUMENTATIONS: 'http,memjs',
      APPSTATS_KEY_DISTANCE: '50',
      APPSTATS_KEY_MODULUS: '2000',
      OTEL_LOG_LEVEL: 'debug',
    });
    assert.deepEqual(settings.warnings, []);
    assert.deepEqual(settings.exporter, {
      memcache: 'a:11211,b:11211',
      keyPrefix: 'shop',
      keyDistance: 50,
      keyModulus: 2000,
    });
    assert.deepEqual(settings.processor, {
      recordFraction: 0.25,
      maxStack: 30,
      ignorePaths: ['/_ah/stats', '/healthz'],
    });
    assert.deepEqual(settings.instrumentations, { http: true, undici: false, memjs: true, datastore: false });
    assert.equal(settings.logLevel, 70);
  });

  it('MEMCACHE_SERVERS as a fallback; OTEL_SDK_DISABLED or APPSTATS_DISABLED turn it off', () => {
    assert.equal(settingsFromEnv({ MEMCACHE_SERVERS: 'm:1' }).exporter.memcache, 'm:1');
    assert.equal(settingsFromEnv({ OTEL_SDK_DISABLED: 'true' }).disabled, true);
    assert.equal(settingsFromEnv({ APPSTATS_DISABLED: '1' }).disabled, true);
    assert.equal(settingsFromEnv({ APPSTATS_RECORD_FRACTION: 'lots' }).processor.recordFraction, undefined);
  });

  it('collects what is wrong as warnings instead of logging (no logger exists yet)', () => {
    const { warnings, processor, exporter } = settingsFromEnv({
      APPSTATS_MEMCACHE: 'cache:11211,host:abc,:11211,h:70000,user:pw@ok:1,[::1]:11211',
      APPSTATS_RECORD_FRACTION: 'lots',
      APPSTATS_KEY_MODULUS: 'many',
      APPSTATS_INSTRUMENTATIONS: 'http,pg',
      OTEL_LOG_LEVEL: 'loud',
    });
    assert.deepEqual(warnings, [
      'appstats: APPSTATS_RECORD_FRACTION=lots is not a number; ignored',
      'appstats: APPSTATS_MEMCACHE=cache:11211,host:abc,:11211,h:70000,user:pw@ok:1,[::1]:11211 is not a list of ' +
        'host:port (bad: "host:abc", ":11211", "h:70000", "[::1]:11211"); writes to it will fail',
      'appstats: APPSTATS_KEY_MODULUS=many is not a number; ignored',
      'appstats: APPSTATS_INSTRUMENTATIONS names pg, not one of http,undici,memjs,datastore; ignored',
      'appstats: OTEL_LOG_LEVEL=loud is not a log level; ignored',
    ]);
    assert.deepEqual(processor, {});
    assert.equal(exporter.keyModulus, undefined);
    assert.deepEqual(settingsFromEnv({ MEMCACHE_SERVERS: 'localhost' }).warnings, []);
  });
});
