import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { serve } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import { recordKey } from '../core/record-key.js';
import { MemoryStore } from '../stores/memory-store.js';
import { isLoopbackAddress, isLoopbackHost } from '../viewer/auth.js';
import { createViewer } from '../viewer/index.js';
import { limitWrongCredentials } from '../viewer/wrong-credentials.js';
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

  test('DNS rebinding: a loopback client must name loopback in the Host, with or without a port', async () => {
    const viewer = createViewer({ store, remoteAddress: () => '127.0.0.1' });
    for (const host of [
      'localhost',
      'LOCALHOST:8080',
      '127.0.0.1',
      '127.0.0.1:9',
      '127.8.9.10:80',
      '[::1]',
      '[::1]:8080',
    ]) {
      for (const path of PAGES) {
        const res = await viewer.request(path, { headers: { Host: host } });
        assert.notEqual(res.status, 403, `${host} ${path}`);
        await res.text();
      }
    }
    for (const host of [
      'attacker.example',
      'attacker.example:8080',
      '127.0.0.1.nip.io',
      'localhost.',
      'app.localhost',
      '127.0.0.256',
      '[::2]',
      '10.0.0.5:8080',
      '',
    ]) {
      for (const path of PAGES) {
        const res = await viewer.request(path, { headers: { Host: host } });
        assert.equal(res.status, 403, `${JSON.stringify(host)} ${path}`);
        const text = await res.text();
        assert.match(text, /DNS rebinding/);
        assert.match(text, /loopback name/);
      }
    }
    // The URL's own host counts too (an absolute-form request target, HTTP/2's :authority).
    const absolute = await viewer.request('http://attacker.example:8080/?type=json');
    assert.equal(absolute.status, 403);
  });

  test('a request that came through a proxy is refused, and told to configure auth', async () => {
    const viewer = createViewer({ store, remoteAddress: () => '127.0.0.1' });
    for (const headers of [
      { Forwarded: 'for=198.51.100.1;proto=https' },
      { 'X-Forwarded-For': '198.51.100.1' },
      { 'X-Forwarded-For': '127.0.0.1' },
      { Via: '1.1 nginx' },
      { 'X-Forwarded-Host': 'localhost' },
      { 'X-Forwarded-Proto': 'https' },
      { 'X-Real-IP': '198.51.100.1' },
    ] as Record<string, string>[]) {
      for (const path of PAGES) {
        const res = await viewer.request(path, { headers });
        assert.equal(res.status, 403, `${JSON.stringify(headers)} ${path}`);
        const text = await res.text();
        assert.match(text, /came through a proxy/);
        assert.match(text, new RegExp(Object.keys(headers)[0].toLowerCase()));
        assert.match(text, /configure auth/i);
      }
    }
    // With auth configured, a proxy in front is fine: the credentials decide.
    const authed = createViewer({ store, auth: { token: 't' }, remoteAddress: () => '127.0.0.1' });
    const res = await authed.request('/', {
      headers: { Authorization: 'Bearer t', 'X-Forwarded-For': '198.51.100.1', Host: 'stats.example.com' },
    });
    assert.equal(res.status, 200);
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

    test('a client on 127.0.0.1 is answered; the same client through a proxy header is not', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(res.status, 200);
      await res.text();
      const proxied = await fetch(`http://127.0.0.1:${port}/`, {
        headers: { 'X-Forwarded-For': '198.51.100.1' },
      });
      assert.equal(proxied.status, 403);
      assert.match(await proxied.text(), /x-forwarded-for/);
    });

    test('DNS rebinding over a real socket: a loopback peer with a foreign Host is refused', async () => {
      const get = (host: string) =>
        new Promise<{ status: number; text: string }>((resolve, reject) => {
          const req = httpRequest(
            { host: '127.0.0.1', port, path: '/?type=json', headers: { Host: host } },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk) => {
                text += chunk;
              });
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('error', reject);
          req.end();
        });
      const rebound = await get(`attacker.example:${port}`);
      assert.equal(rebound.status, 403);
      assert.match(rebound.text, /"attacker\.example:\d+"/);
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`]) {
        assert.equal((await get(host)).status, 200, host);
      }
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
    for (const authorization of ['Bearer tok-123', 'Bearer tok-123_abcd']) {
      const wrong = await viewer.request('/', { headers: { Authorization: authorization } });
      assert.equal(wrong.status, 401, authorization);
      assert.match(wrong.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
    // Not a bearer header at all: 400 (RFC 6750 invalid_request), as hono's bearerAuth answers.
    for (const authorization of ['tok-123_abc', basic('x', 'tok-123_abc'), 'Bearer ']) {
      const malformed = await viewer.request('/', { headers: { Authorization: authorization } });
      assert.equal(malformed.status, 400, authorization);
      assert.match(malformed.headers.get('www-authenticate') ?? '', /invalid_request/);
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

describe('wrong credentials are throttled per client address', () => {
  const viewerFor = (auth: { token: string } | { username: string; password: string }) =>
    createViewer({ store, auth, remoteAddress: (c) => c.req.header('x-test-peer') });
  const from = (peer: string, authorization?: string) => ({
    headers: { 'x-test-peer': peer, ...(authorization ? { Authorization: authorization } : {}) },
  });

  for (const [kind, auth, wrong, right] of [
    ['basic', { username: 'ops', password: 'pw' }, basic('ops', 'guess'), basic('ops', 'pw')],
    ['bearer', { token: 'tok-123' }, 'Bearer guess', 'Bearer tok-123'],
  ] as const) {
    test(`${kind}: the 21st wrong guess in a minute is answered 429, even with the right credentials; other addresses and requests without credentials are not`, async () => {
      const viewer = viewerFor(auth);
      for (let i = 0; i < 30; i++)
        assert.equal((await viewer.request('/', from('198.51.100.1'))).status, 401);
      for (let i = 0; i < 20; i++)
        assert.equal((await viewer.request('/', from('198.51.100.1', wrong))).status, 401, `guess ${i + 1}`);
      for (const authorization of [wrong, right]) {
        const res = await viewer.request('/', from('198.51.100.1', authorization));
        assert.equal(res.status, 429, authorization);
        const retryAfter = Number(res.headers.get('retry-after'));
        assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${retryAfter}`);
        assert.match(await res.text(), /more than 20 wrong credentials from this address in a minute/);
      }
      assert.equal((await viewer.request('/', from('198.51.100.2', right))).status, 200);
    });
  }

  test('the minute passes: the address may try again; the option is checked at set-up', async () => {
    let clock = 0;
    const app = new Hono();
    app.use(
      limitWrongCredentials(
        basicAuth({ username: 'ops', password: 'pw' }),
        () => '198.51.100.3',
        2,
        () => clock,
      ),
    );
    app.get('/', (c) => c.text('in'));
    const ask = async (authorization: string) =>
      (await app.request('/', { headers: { Authorization: authorization } })).status;
    assert.deepEqual(
      [await ask(basic('a', 'b')), await ask(basic('a', 'b')), await ask(basic('ops', 'pw'))],
      [401, 401, 429],
    );
    clock = 59_999;
    assert.equal(await ask(basic('ops', 'pw')), 429);
    clock = 60_000;
    assert.equal(await ask(basic('ops', 'pw')), 200);
    assert.equal(
      (await viewerFor({ token: 't' }).request('/', from('198.51.100.1', 'Bearer t'))).status,
      200,
    );
    for (const bad of [0, 1.5, -1, Number.NaN, '20'])
      assert.throws(
        () => createViewer({ store, auth: { token: 't' }, wrongCredentialsPerMinute: bad as number }),
        /wrongCredentialsPerMinute must be a whole number of at least 1, or Infinity/,
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

test('loopback detection: addresses and Host names', () => {
  assert.equal(isLoopbackAddress('127.0.0.1'), true);
  assert.equal(isLoopbackAddress('::ffff:127.1.2.3'), true);
  assert.equal(isLoopbackAddress('127.0.0.1.evil.com'), false);
  assert.equal(isLoopbackAddress(undefined), false);
  for (const host of ['localhost', 'Localhost:1', '127.0.0.1', '127.255.255.255:65535', '[::1]', '[::1]:80'])
    assert.equal(isLoopbackHost(host), true, host);
  for (const host of [
    undefined,
    '',
    'localhost.',
    'x.localhost',
    'localhost.attacker.example',
    '127.0.0.1.nip.io',
    '127.1',
    '128.0.0.1',
    '[::1',
    '::1',
    '[::ffff:7f00:1]',
    'localhost:80:80',
  ])
    assert.equal(isLoopbackHost(host), false, String(host));
});

test('auth options are checked at set-up: a bearer token must be a b64token (what hono accepts)', () => {
  assert.throws(() => createViewer({ store, auth: { token: 'has space' } }), /auth\.token/);
  assert.throws(() => createViewer({ store, auth: { token: 'p@ss' } }), /auth\.token/);
  assert.throws(() => createViewer({ store, auth: { token: '' } }), /auth\.token/);
  createViewer({ store, auth: { token: 'aZ0-._~+/==' } });
});

test('a mounting app whose onError turns every error into a 500 still gets the 401', async () => {
  const { Hono } = await import('hono');
  const app = new Hono();
  app.onError((_error, c) => c.text('app error', 500));
  app.route('/_ah/stats', createViewer({ store, auth: { username: 'ops', password: 'pw' } }));
  const res = await app.request('/_ah/stats/');
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="appstats"/);
});
