import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { buildRecord, summarize } from '../core/build-record.js';
import { encodeRecord } from '../core/codec.js';
import type { RequestRecord } from '../core/record.js';
import { recordKey } from '../core/record-key.js';
import { createRedactor, isSecretName, REDACTED } from '../core/redact.js';
import { MemoryStore } from '../stores/memory-store.js';
import { createViewer } from '../viewer/index.js';
import { textOf } from './helpers/html-text.js';
import { sampleRecord } from './helpers/records.js';
import { CollectingProcessor, testProvider } from './helpers/tracing.js';

/**
 * One redactor (core/redact.ts), used when the record is built and again when the viewer shows it
 * (HTML and both JSON views): names matched normalised against patterns, URLs in header values
 * redacted too. Issue 12 items 6 and 7.
 */

describe('names: normalised, matched against patterns', () => {
  test('the spellings that got through before are secret', () => {
    for (const name of [
      'api-key',
      'API_KEY',
      'apiKey',
      'x-api-key',
      'access-token',
      'X-Access-Token',
      'X-Refresh-Token',
      'token[]',
      'user[password]',
      'user[pwd]',
      'jwt',
      'private_key',
      'pwd',
      'X-Goog-IAP-JWT-Assertion',
      'Authorization',
      'Proxy-Authorization',
      'Cookie',
      'Set-Cookie',
      'client_secret',
      'X-Amz-Security-Token',
      'X-Amz-Signature',
      'PHPSESSID',
      'code',
      'key',
      'sig',
      'user[code]',
    ])
      assert.equal(isSecretName(name), true, name);
  });
  test('ordinary names are not', () => {
    for (const name of [
      'content-type',
      'user-agent',
      'accept',
      'referer',
      'location',
      'host',
      'page',
      'status_code',
      'sort_key',
      'country_code',
      'Sec-WebSocket-Key',
      'code.function',
      'db.statement',
      'http.route',
      'user[name]',
    ])
      assert.equal(isSecretName(name), false, name);
  });
  test('options add names, matched the same way', () => {
    const redactor = createRedactor({ redactHeaders: ['X-Tenant-Pass'], redactQueryParams: ['ticket'] });
    assert.equal(redactor.header('x_tenant_pass', 'v'), REDACTED);
    assert.equal(redactor.header('X-Tenant', 'v'), 'v');
    assert.equal(
      redactor.query('a=1&Ticket=t&order[ticket]=u'),
      `a=1&Ticket=${REDACTED}&order[ticket]=${REDACTED}`,
    );
    assert.equal(createRedactor().query('ticket=t'), 'ticket=t');
  });
});

describe('values', () => {
  const redactor = createRedactor();
  test('queries keep every other byte; names are read decoded (Express brackets)', () => {
    assert.equal(
      redactor.query('user%5Bpassword%5D=s1&token%5B%5D=s2&api-key=s3&page=2&flag'),
      `user%5Bpassword%5D=${REDACTED}&token%5B%5D=${REDACTED}&api-key=${REDACTED}&page=2&flag`,
    );
  });
  test('URLs inside Referer and Location: query, fragment and password redacted', () => {
    assert.equal(
      redactor.header('Referer', 'https://app.example/cb?code=s1&state=xyz'),
      `https://app.example/cb?code=${REDACTED}&state=xyz`,
    );
    assert.equal(
      redactor.header('Location', '/cb#access_token=s2&token_type=bearer&expires_in=3600'),
      `/cb#access_token=${REDACTED}&token_type=${REDACTED}&expires_in=3600`,
    );
    assert.equal(
      redactor.header('Location', 'https://u:s3@h.example/x'),
      `https://u:${REDACTED}@h.example/x`,
    );
    assert.equal(redactor.header('Accept', 'text/html'), 'text/html');
    assert.equal(
      redactor.attribute('db.connection_string', 'postgres://app:s4@db/x'),
      `postgres://app:${REDACTED}@db/x`,
    );
    assert.equal(
      redactor.attribute('http.request.header.referer', 'https://a/?jwt=s5'),
      `https://a/?jwt=${REDACTED}`,
    );
  });
});

const SECRETS = [
  's1-password',
  's2-token',
  's3-apikey',
  's4-access',
  's5-refresh',
  's6-code',
  's7-iap',
  's8-out',
  's9-jwt',
];

describe('at write: buildRecord with the default redactor', () => {
  test('the stored record holds none of the spellings', () => {
    const collector = new CollectingProcessor();
    const tracer = testProvider([collector]).getTracer('t');
    const root = tracer.startSpan('GET', {
      kind: SpanKind.SERVER,
      attributes: {
        'http.request.method': 'GET',
        'url.path': '/login',
        'url.query': `user%5Bpassword%5D=${SECRETS[0]}&token[]=${SECRETS[1]}&api-key=${SECRETS[2]}&page=2`,
        'http.request.header.x-access-token': SECRETS[3],
        'http.request.header.x-refresh-token': SECRETS[4],
        'http.request.header.referer': `https://idp.example/cb?code=${SECRETS[5]}&state=ok`,
        'http.request.header.x-goog-iap-jwt-assertion': SECRETS[6],
        'http.request.header.accept': 'text/html',
      },
    });
    tracer
      .startSpan(
        'GET',
        {
          kind: SpanKind.CLIENT,
          attributes: {
            'http.request.method': 'GET',
            'url.full': `https://api.example/v1?access-token=${SECRETS[7]}&jwt=${SECRETS[8]}&q=1`,
          },
        },
        trace.setSpan(context.active(), root),
      )
      .end();
    root.end();
    const [client, server] = collector.ended;
    const record = buildRecord({ root: server, descendants: [client] });
    const stored = JSON.stringify(record);
    for (const secret of SECRETS) assert.ok(!stored.includes(secret), `${secret} reached the record`);
    const env = Object.fromEntries(record.cgi_env.map((e) => [e.key, e.value]));
    assert.equal(env.HTTP_X_ACCESS_TOKEN, REDACTED);
    assert.equal(env.HTTP_X_REFRESH_TOKEN, REDACTED);
    assert.equal(env.HTTP_X_GOOG_IAP_JWT_ASSERTION, REDACTED);
    assert.equal(env.HTTP_REFERER, `https://idp.example/cb?code=${REDACTED}&state=ok`);
    assert.equal(env.HTTP_ACCEPT, 'text/html');
    assert.match(record.http_query, /&page=2$/);
    assert.match(record.individual_stats[0].request_data_summary, /&q=1$/);
  });
});

describe('at display: a record from an older or foreign writer, raw', () => {
  const START = 1700000054321;
  const RAW = { auth: 'Bearer RAW-AUTH', cookie: 'sid=RAW-COOKIE', token: 'RAW-QUERY-TOKEN', out: 'RAW-OUT' };
  const store = new MemoryStore();
  const raw: RequestRecord = {
    ...sampleRecord({ start: START }),
    http_query: `token=${RAW.token}&page=1`,
    cgi_env: [
      { key: 'QUERY_STRING', value: `token=${RAW.token}&page=1` },
      { key: 'HTTP_AUTHORIZATION', value: RAW.auth },
      { key: 'HTTP_COOKIE', value: RAW.cookie },
      { key: 'HTTP_X_ACCESS_TOKEN', value: 'RAW-HEADER-TOKEN' },
      { key: 'HTTP_ACCEPT', value: 'text/html' },
    ],
  };
  raw.individual_stats[0] = {
    ...raw.individual_stats[0],
    request_data_summary: `https://api.example/x?api_key=${RAW.out}`,
    attributes: {
      'http.request.header.authorization': RAW.auth,
      'url.full': `https://api.example/x?api_key=${RAW.out}`,
    },
  };
  const leaks = (text: string) =>
    ['RAW-AUTH', 'RAW-COOKIE', 'RAW-QUERY-TOKEN', 'RAW-OUT', 'RAW-HEADER-TOKEN'].filter((s) =>
      text.includes(s),
    );

  test('details HTML, details JSON, dashboard HTML and dashboard JSON hide them all', async () => {
    await store.putRecord(
      { part: recordKey(START, 'part'), full: recordKey(START, 'full') },
      { part: encodeRecord(summarize(raw)), full: encodeRecord(raw) },
      0,
    );
    const viewer = createViewer({ store, remoteAddress: () => '127.0.0.1' });
    for (const path of [`/details?time=${START}`, `/details?time=${START}&type=json`, '/', '/?type=json']) {
      const res = await viewer.request(path);
      assert.equal(res.status, 200, path);
      const text = await res.text();
      assert.deepEqual(leaks(text), [], path);
      assert.ok(text.includes(REDACTED), `${path} shows that something was redacted`);
    }
    const json = (await (await viewer.request(`/details?time=${START}&type=json`)).json()) as RequestRecord;
    const env = Object.fromEntries(json.cgi_env.map((e) => [e.key, e.value]));
    assert.equal(env.HTTP_AUTHORIZATION, REDACTED);
    assert.equal(env.HTTP_ACCEPT, 'text/html');
    assert.equal(json.http_query, `token=${REDACTED}&page=1`);
    const html = textOf(await (await viewer.request(`/details?time=${START}`)).text());
    assert.match(html, /text\/html/, 'the rest still shows');
  });
});
