// Smoke tests of the example apps in examples/: each is started as a user would start it (a child
// process, its tracing set up by --import), against a real memcached; a real HTTP request that makes
// memcache calls must leave its record in memcache, and the viewer mounted in the app must list it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { decodeRecord, isFullRecord } from '../core/codec.js';
import type { RequestRecord, RequestSummary } from '../core/record.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { startChildApp, stopChildApp } from './helpers/child-app.js';
import { textOf } from './helpers/html-text.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';

interface Example {
  name: string;
  /** The `--import` that sets tracing up, relative to the repository root. */
  setup: string;
  /** The path of the greeting page for a name (the Express app takes it as a route parameter). */
  greet(name: string): string;
  /** What else its command line sets (the register entry takes the service name from the environment). */
  env?: Record<string, string>;
}

const EXAMPLES: Example[] = [
  {
    name: 'hono-app',
    setup: './register.ts',
    greet: (name) => `/greet?name=${name}`,
    env: { OTEL_SERVICE_NAME: 'hono-app' },
  },
  {
    name: 'express-app',
    setup: './examples/express-app/tracing.ts',
    greet: (name) => `/greet/${name}`,
  },
  {
    name: 'nodesdk-app',
    setup: './examples/nodesdk-app/tracing.ts',
    greet: (name) => `/greet?name=${name}`,
  },
];

let memcached: MemcachedServer;
let store: MemcacheStore;
const children = new Set<ChildProcess>();

before(async () => {
  memcached = await startMemcached();
  store = new MemcacheStore(memcached.address);
});

after(async () => {
  await Promise.all([...children].map(stop));
  await store?.close();
  await memcached?.stop();
});

async function stop(child: ChildProcess): Promise<void> {
  await stopChildApp(child);
  children.delete(child);
}

/** The environment a user would give: no APPSTATS_* / OTEL_* of ours leak in. */
function childEnv(example: Example): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env))
    if (!/^(APPSTATS_|OTEL_|MEMCACHE_SERVERS$)/.test(key)) env[key] = value;
  return { ...env, ...example.env, APPSTATS_MEMCACHE: memcached.address, PORT: '0', HOST: '127.0.0.1' };
}

/** Starts an example; resolves with its URL once it prints it. */
async function startExample(example: Example): Promise<{ child: ChildProcess; url: string }> {
  const app = await startChildApp(
    ['--import', 'tsx', '--import', example.setup, `examples/${example.name}/app.ts`],
    childEnv(example),
    new RegExp(`${example.name} listening on (http://[^/\\s]+)/`),
  );
  children.add(app.child);
  return { child: app.child, url: app.ready[1] };
}

/** All parts in memcache, decoded. */
async function allParts(): Promise<RequestSummary[]> {
  const { values } = await store.getParts(allPartKeys());
  return [...values.values()].map((bytes) => decodeRecord(bytes));
}

/** The part matching `match`, waiting (bounded) for it: records are written after the response. */
async function partWritten(match: (part: RequestSummary) => boolean, what: string): Promise<RequestSummary> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const part = (await allParts()).find(match);
    if (part) return part;
    if (Date.now() > deadline) assert.fail(`no record of ${what} in memcache`);
    await sleep(50);
  }
}

async function fullOf(part: RequestSummary): Promise<RequestRecord> {
  const bytes = await store.getFull(recordKey(part.start_timestamp_milliseconds, 'full'));
  assert.ok(bytes, 'the full record is there beside its part');
  const record = decodeRecord(bytes);
  assert.ok(isFullRecord(record));
  return record;
}

for (const example of EXAMPLES) {
  describe(`examples/${example.name}`, () => {
    const file = fileURLToPath(new URL(`../examples/${example.name}/app.ts`, import.meta.url));
    // A name of its own: the first request is a miss, and its record is told from the others'.
    const name = `${example.name}-${process.pid}`;
    const [path, query = ''] = example.greet(name).split('?');
    let child: ChildProcess;
    let url: string;
    let part: RequestSummary;

    before(async () => {
      ({ child, url } = await startExample(example));
    });
    after(() => stop(child));

    it('serves a request making memcache calls, and its record is in memcache with those calls', async () => {
      const response = await fetch(`${url}${example.greet(name)}`);
      assert.equal(response.status, 200);
      const body = (await response.json()) as { text: string; cached: boolean; visits: number };
      assert.deepEqual([body.text, body.cached], [`Hello, ${name}!`, false]);

      part = await partWritten(
        (p) => p.http_path === path && p.http_query === query,
        `GET ${example.greet(name)}`,
      );
      assert.equal(part.http_method, 'GET');
      assert.equal(part.http_status, 200);
      assert.equal(part.service_name, example.name);
      assert.deepEqual(
        part.rpc_stats.map((s) => [s.service_call_name, s.total_amount_of_calls]),
        [
          ['memcache.Get', 1],
          ['memcache.Increment', 1],
          ['memcache.Set', 1],
        ],
      );

      const record = await fullOf(part);
      assert.deepEqual(
        record.individual_stats.map((call) => [
          call.service_call_name,
          call.request_data_summary,
          call.response_data_summary,
        ]),
        [
          ['memcache.Get', `key="greeting:${name}"`, 'miss'],
          ['memcache.Increment', 'key="visits" amount=1 initial=1', `value=${body.visits}`],
          ['memcache.Set', `key="greeting:${name}" bytes=${`Hello, ${name}!`.length} expires=60`, 'stored'],
        ],
      );
      for (const call of record.individual_stats) {
        assert.equal(call.was_successful, true);
        assert.equal(
          call.call_stack[0]?.class_or_file_name,
          file,
          `${call.service_call_name}: the stack starts at the example's own line`,
        );
        assert.equal(call.call_stack[0]?.function_name, 'greeting');
      }
    });

    it('the viewer mounted at /_ah/stats lists the request, and its details page shows the calls', async () => {
      assert.ok(part, 'the record of the first test');
      const dashboard = await fetch(`${url}/_ah/stats`);
      assert.equal(dashboard.status, 200, 'loopback clients are answered when no auth is configured');
      const html = await dashboard.text();
      assert.match(textOf(html), new RegExp(`GET ${path}`));
      const link = `/_ah/stats/details?time=${part.start_timestamp_milliseconds}`;
      assert.ok(html.includes(`href="${link}"`), `the dashboard links to ${link}`);

      const details = await fetch(`${url}${link}`);
      assert.equal(details.status, 200);
      const text = textOf(await details.text());
      for (const call of ['memcache.Get', 'memcache.Increment', 'memcache.Set'])
        assert.ok(text.includes(call), `the details page shows ${call}`);
      assert.ok(text.includes(`key="greeting:${name}"`));

      // A second request (a hit), in a later 100 ms slot; once its record is there, the viewer's
      // own two requests, made before it, would have been written too: they must not be.
      await sleep(150);
      const hit = await fetch(`${url}${example.greet(name)}`);
      assert.equal(((await hit.json()) as { cached: boolean }).cached, true);
      await partWritten(
        (p) =>
          p.http_path === path &&
          p.start_timestamp_milliseconds > part.start_timestamp_milliseconds &&
          p.rpc_stats.length === 2,
        'the second request',
      );
      const viewerRecords = (await allParts()).filter((p) => p.http_path.startsWith('/_ah/stats'));
      assert.deepEqual(viewerRecords, [], "the viewer's own requests are not recorded");
    });

    it('stops cleanly on SIGTERM', async () => {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      assert.deepEqual([code, signal], [0, null]);
    });
  });
}
