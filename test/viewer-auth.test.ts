import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import type { Context } from 'hono';
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { MemoryStore } from '../stores/memory-store.js';
import { isLoopbackAddress, parseBasicAuth, parseBearerToken } from '../viewer/auth.js';
import { createViewer } from '../viewer/index.js';
import { sampleRecord } from './helpers/records.js';

const START = 1700000012345;
const store = new MemoryStore();

before(async () => {
  const record = sampleRecord({ start: START });
  await store.putRecord(
    { part: recordKey(START, 'part'), full: recordKey(START, 'full') },
    { part: encodeRecord(summarize(record)), full: encodeRecord(record) },
    0,
  );
});

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

const PAGES = ['/', `/details?time=${START}`, `/details?time=${START}&type=json`, '/?type=json', '/file?f=x'];

describe('no auth configured: loopback clients only', () => {
  test('app.request() has no socket: refused with the reason (403)', async () => {
    const viewer = createViewer({ store });
    const res = await viewer.request('/');
    assert.equal(res.status, 403);
    const text = await res.text();
    assert.match(text, /no auth configured/);
    assert.match(text, /loopback/);
    assert.match(text, /unknown address/);
  });

  test('decided by the remoteAddress resolver: loopback v4, v6 and v4-mapped pass, others do not', async () => {
    for (const [address, status] of [
      ['127.0.0.1', 200],
      ['127.8.9.10', 200],
      ['::1', 200],
      ['::ffff:127.0.0.1', 200],
      ['10.0.0.5', 403],
      ['::ffff:10.0.0.5', 403],
      ['128.0.0.1', 403],
      ['fe80::1', 403],
      ['', 403],
    ] as const) {
      const viewer = createViewer({ store, remoteAddress: () => address });
      for (const path of PAGES) {
        const res = await viewer.request(path);
        assert.equal(res.status === 403, status === 403, `${address} ${path}: ${res.status}`);
      }
    }
  });

  test('X-Forwarded-For is never trusted', async () => {
    const viewer = createViewer({ store, remoteAddress: () => '203.0.113.9' });
    const res = await viewer.request('/', {
      headers: { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1' },
    });
    assert.equal(res.status, 403);
  });

  describe('over real sockets (@hono/node-server): the TCP peer decides', () => {
    let server: ReturnType<typeof serve>;
    let port: number;
    before(async () => {
      const viewer = createViewer({ store });
      server = serve({ fetch: viewer.fetch, hostname: '0.0.0.0', port: 0 });
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      port = (server.address() as AddressInfo).port;
    });
    after(() => new Promise<void>((resolve) => server.close(() => resolve())));

    test('a client on 127.0.0.1 is answered, whatever it claims in headers', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        headers: { 'X-Forwarded-For': '198.51.100.1' },
      });
      assert.equal(res.status, 200);
      await res.text();
    });

    test('a client reaching a non-loopback address is refused, X-Forwarded-For: 127.0.0.1 or not', async () => {
      const external = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && !a.internal && a.family === 'IPv4')?.address;
      assert.ok(
        external,
        'this test needs a non-loopback IPv4 interface on the machine (to connect from a non-loopback address)',
      );
      for (const headers of [{}, { 'X-Forwarded-For': '127.0.0.1' }] as Record<string, string>[]) {
        const res: Response = await fetch(`http://${external}:${port}/`, { headers });
        assert.equal(res.status, 403);
        assert.match(await res.text(), new RegExp(`came from ${external.replaceAll('.', '\\.')}`));
      }
    });
  });
});

describe('basic auth', () => {
  const viewer = createViewer({ store, auth: { username: 'ops', password: 'p@ss:word' } });
  test('no or wrong credentials: 401 with a Basic challenge, on every page', async () => {
    for (const path of PAGES) {
      const res = await viewer.request(path);
      assert.equal(res.status, 401, path);
      assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="appstats"/);
    }
    for (const authorization of [
      basic('ops', 'wrong'),
      basic('other', 'p@ss:word'),
      basic('ops', ''),
      'Basic !!!',
      'Bearer p@ss:word',
      basic('OPS', 'p@ss:word'),
    ]) {
      assert.equal(
        (await viewer.request('/', { headers: { Authorization: authorization } })).status,
        401,
        authorization,
      );
    }
  });
  test('right credentials (a colon in the password is fine)', async () => {
    for (const path of PAGES.slice(0, 4)) {
      const res = await viewer.request(path, { headers: { Authorization: basic('ops', 'p@ss:word') } });
      assert.equal(res.status, 200, path);
    }
  });
  test('credentials win over the loopback default: a remote client with them is let in', async () => {
    const remote = createViewer({
      store,
      auth: { username: 'ops', password: 'x' },
      remoteAddress: () => '203.0.113.9',
    });
    assert.equal((await remote.request('/', { headers: { Authorization: basic('ops', 'x') } })).status, 200);
  });
});

describe('bearer token', () => {
  const viewer = createViewer({ store, auth: { token: 'tok-123_abc' } });
  test('missing or wrong token: 401 with a Bearer challenge', async () => {
    const res = await viewer.request('/?type=json');
    assert.equal(res.status, 401);
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="appstats"/);
    for (const authorization of [
      'Bearer tok-123',
      'Bearer tok-123_abcd',
      'tok-123_abc',
      basic('x', 'tok-123_abc'),
      'Bearer ',
    ]) {
      assert.equal(
        (await viewer.request('/', { headers: { Authorization: authorization } })).status,
        401,
        authorization,
      );
    }
  });
  test('the right token opens every page', async () => {
    for (const path of PAGES.slice(0, 4)) {
      const res = await viewer.request(path, { headers: { Authorization: 'Bearer tok-123_abc' } });
      assert.equal(res.status, 200, path);
    }
    assert.equal(
      (await viewer.request('/', { headers: { Authorization: 'bearer tok-123_abc' } })).status,
      200,
    );
  });
});

describe('auth function', () => {
  test('true lets in, false and throwing refuse (403); it gets the request context', async () => {
    const seen: string[] = [];
    const viewer = createViewer({
      store,
      auth: async (c: Context) => {
        const user = c.req.header('x-user') ?? '';
        seen.push(user);
        if (user === 'boom') throw new Error('session store down');
        return user === 'admin';
      },
    });
    assert.equal((await viewer.request('/', { headers: { 'x-user': 'admin' } })).status, 200);
    assert.equal(
      (await viewer.request(`/details?time=${START}`, { headers: { 'x-user': 'admin' } })).status,
      200,
    );
    const refused = await viewer.request('/', { headers: { 'x-user': 'guest' } });
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /auth function refused/);
    assert.equal((await viewer.request('/', { headers: { 'x-user': 'boom' } })).status, 403);
    assert.deepEqual(seen, ['admin', 'admin', 'guest', 'boom']);
  });
  test('a synchronous function, and only a strict true opens', async () => {
    assert.equal((await createViewer({ store, auth: () => true }).request('/')).status, 200);
    assert.equal(
      (await createViewer({ store, auth: () => 'yes' as unknown as boolean }).request('/')).status,
      403,
    );
  });
});

test('header parsing and loopback detection', () => {
  assert.deepEqual(parseBasicAuth(basic('a', 'b:c')), { username: 'a', password: 'b:c' });
  assert.equal(parseBasicAuth('Basic bm9jb2xvbg=='), undefined, 'no colon');
  assert.equal(parseBasicAuth(undefined), undefined);
  assert.equal(parseBearerToken('Bearer abc'), 'abc');
  assert.equal(parseBearerToken('Bearer a b'), undefined);
  assert.equal(isLoopbackAddress('127.0.0.1'), true);
  assert.equal(isLoopbackAddress('::ffff:127.1.2.3'), true);
  assert.equal(isLoopbackAddress('127.0.0.1.evil.com'), false);
  assert.equal(isLoopbackAddress(undefined), false);
});
