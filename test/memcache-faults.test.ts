import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import memjs from 'memjs';
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { allPartKeys, recordKey } from '../core/record-key.js';
import { MemcacheStore } from '../stores/memcache-store.js';
import { MAX_ANSWER_BYTES } from '../stores/memjs-guard.js';
import {
  cuttingProxy,
  NEVER_ACCEPTS,
  STREAMING_ENDPOINT,
  startChildEndpoint,
  stopChild,
} from './helpers/hostile-endpoint.js';
import { type MemcachedServer, startMemcached } from './helpers/memcached.js';
import { eventually } from './helpers/pipeline.js';
import { sampleRecord } from './helpers/records.js';

/**
 * What a broken or hostile memcache endpoint, or a dead server among several, does to our stores
 * (issue 12: items 4 and 11, split records, failover, the stray socket of the flaky memory test).
 * Real memcached throughout; fake endpoints only for what memcached will not do on purpose.
 */
const quiet = { log: () => {} };
const keysOf = (start: number, keyPrefix?: string) => ({
  part: recordKey(start, 'part', keyPrefix ? { keyPrefix } : undefined),
  full: recordKey(start, 'full', keyPrefix ? { keyPrefix } : undefined),
});
const valuesOf = (start: number, calls = 3) => {
  const record = sampleRecord({ start, calls, stackFrames: 8 });
  return { part: encodeRecord(summarize(record)), full: encodeRecord(record) };
};

describe('memcache faults', () => {
  let memcached: MemcachedServer;
  before(async () => {
    memcached = await startMemcached();
  });
  after(async () => {
    await memcached?.stop();
  });

  it('an answer cut mid-way does not wedge later reads: our batches and memjs’s own get, owned and passed-in clients', async () => {
    const start = 1_950_000_000_000;
    const writer = new MemcacheStore(memcached.address);
    // Random bytes: an answer long enough to cut (a record's bytes would deflate to little).
    const values = { part: randomBytes(100), full: randomBytes(100_000) };
    await writer.putRecord(keysOf(start), values, 600);
    await writer.close();
    for (const kind of ['owned', 'passed-in'] as const) {
      const proxy = await cuttingProxy(memcached, 10_000);
      const address = `127.0.0.1:${proxy.port}`;
      const client = memjs.Client.create(address, { logger: quiet, retries: 1 });
      const store = kind === 'owned' ? new MemcacheStore(address) : new MemcacheStore(client);
      await assert.rejects(store.getFull(keysOf(start).full), /connection closed|memcached/, kind);
      assert.equal(proxy.cuts(), 1, kind);
      for (let i = 0; i < 3; i++) {
        const full = await store.getFull(keysOf(start).full);
        assert.ok(full && values.full.equals(full), `${kind}: read ${i + 1} after the cut`);
      }
      if (kind === 'passed-in') {
        const { value } = await client.get(keysOf(start).full);
        assert.equal(value?.length, values.full.length, 'memjs’s own get reads after the cut too');
        client.close();
      }
      await store.close();
      await proxy.close();
    }
  });

  it('an endpoint streaming bytes: dropped at the answer bound, the app answers all its requests meanwhile', async () => {
    const { port, child } = await startChildEndpoint(STREAMING_ENDPOINT);
    const store = new MemcacheStore(`127.0.0.1:${port}`);
    const failures: string[] = [];
    // The app: each request fires a record write (as the exporter does) and answers at once.
    const app = createServer((_req, res) => {
      store
        .putRecord(keysOf(Date.now()), valuesOf(1), 60)
        .catch((error: Error) => failures.push(error.message));
      res.end('ok');
    });
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    const { port: appPort } = app.address() as { port: number };
    try {
      let answered = 0;
      const deadline = Date.now() + 30_000;
      for (let batch = 0; batch < 20 && Date.now() < deadline; batch++) {
        const results = await Promise.all(
          Array.from({ length: 10 }, () => fetch(`http://127.0.0.1:${appPort}/`).then((r) => r.text())),
        );
        answered += results.filter((text) => text === 'ok').length;
      }
      assert.equal(answered, 200, 'every request answered while the endpoint streams');
      await eventually(() => failures.length > 0, 'a write failed');
      assert.match(failures[0], new RegExp(`more than ${MAX_ANSWER_BYTES}\\).*connection dropped`));
    } finally {
      app.close();
      await store.close();
      await stopChild(child);
    }
  });

  it('a server that never accepts (memjs times out and forgets the socket): close() ends it, the process exits', async () => {
    const { port, child: blocker } = await startChildEndpoint(NEVER_ACCEPTS);
    // Fill its backlog: the next connection stays pending in the kernel.
    const fillers: Socket[] = [];
    for (let i = 0; i < 3; i++) fillers.push(connect(port, '127.0.0.1').on('error', () => {}));
    await delay(200);
    const app = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import { MemcacheStore } from './stores/memcache-store.ts';
         const store = new MemcacheStore('127.0.0.1:${port}', { timeoutSeconds: 0.2 });
         await store.getFull('k').then(() => console.log('answered'), (e) => console.log('failed: ' + e.message));
         await store.close();`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    app.stdout?.on('data', (d: Buffer) => (out += d));
    try {
      const exited = await Promise.race([
        once(app, 'exit').then(() => true),
        delay(20_000).then(() => false),
      ]);
      assert.ok(exited, `the app exited by itself after close() (printed ${JSON.stringify(out)})`);
      assert.match(out, /failed: .*timed out/);
    } finally {
      if (app.exitCode === null) app.kill('SIGKILL');
      for (const socket of fillers) socket.destroy();
      await stopChild(blocker);
    }
  });
});

describe('several memcached servers', () => {
  let servers: MemcachedServer[];
  before(async () => {
    servers = await Promise.all([startMemcached(), startMemcached(), startMemcached()]);
  });
  after(async () => {
    await Promise.all(servers.map((server) => server?.stop()));
  });

  it('both values of a record live on one server: with one of 3 dead, every part read has its full', async () => {
    const prefix = 'split';
    const base = 1_960_000_000_000;
    const store = new MemcacheStore(servers.map((s) => s.address).join(','));
    const records = Array.from({ length: 300 }, (_, i) => ({
      keys: keysOf(base + i * 100, prefix),
      values: valuesOf(base + i * 100, 1),
    }));
    assert.deepEqual(await store.putRecords(records, 600), { failed: 0 });
    // Each server holds whole records: for every slot, both keys or neither.
    for (const server of servers) {
      const alone = new MemcacheStore(server.address);
      const { values } = await alone.getParts(records.flatMap(({ keys }) => [keys.part, keys.full]));
      for (const { keys } of records) assert.equal(values.has(keys.part), values.has(keys.full), keys.part);
      assert.ok(values.size > 0 && values.size < 600, `${server.address}: ${values.size / 2} records`);
      await alone.close();
    }
    await servers[1].stop();
    const { values: parts, errors } = await store.getParts(allPartKeys({ keyPrefix: prefix }));
    assert.equal(errors, 1, 'the dead server is named');
    assert.ok(parts.size > 100 && parts.size < 300, `${parts.size} parts on the live servers`);
    for (const key of parts.keys()) assert.ok(await store.getFull(key.replace(/:part$/, ':full')), key);
    await store.close();
  });

  it('memjs failover: true: a dead server is marked down, its writes go to the next server, reads name it', async () => {
    const [a, b] = await Promise.all([startMemcached(), startMemcached()]);
    const client = memjs.Client.create(`${a.address},${b.address}`, {
      failover: true,
      logger: quiet,
      retries: 1,
    });
    const store = new MemcacheStore(client);
    await b.stop();
    const base = 1_970_000_000_000;
    const records = Array.from({ length: 20 }, (_, i) => ({
      keys: keysOf(base + i * 100, 'failover'),
      values: valuesOf(base + i * 100, 1),
    }));
    assert.deepEqual(
      await store.putRecords(records, 600),
      { failed: 0 },
      'all written, half of them failed over',
    );
    for (const { keys } of records) assert.ok(await store.getFull(keys.full), keys.full);
    const { values, errors, errorMessages } = await store.getParts(records.map(({ keys }) => keys.part));
    assert.equal(values.size, 20);
    assert.equal(errors, 1);
    assert.match(errorMessages?.[0] ?? '', new RegExp(`${b.port}: marked down \\(memjs failover\\)`));
    await store.close();
    client.close();
    await a.stop();
  });
});
