import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fingerprint, isCompleteSummary } from '../core/call-names.js';
import { findFindings, flaggedCalls } from '../core/findings.js';
import type { RequestRecord, RpcCall, StackFrame } from '../core/record.js';
import { sampleRecord } from './helpers/records.js';

const APP_FILE = '/srv/app/routes.js';

function frames(line: number, fn = 'handler'): StackFrame[] {
  return [
    { class_or_file_name: '/srv/app/node_modules/pg-pool/index.js', line_number: 40, function_name: 'query' },
    { class_or_file_name: APP_FILE, line_number: line, function_name: fn },
  ];
}

let nextId = 1;
function call(
  name: string,
  offset: number,
  duration: number,
  request = '',
  extra: Partial<RpcCall> = {},
): RpcCall {
  const base = sampleRecord({ calls: 1 }).individual_stats[0];
  return {
    ...base,
    service_call_name: name,
    span_name: name,
    start_offset_milliseconds: offset,
    duration_milliseconds: duration,
    request_data_summary: request,
    call_stack: frames(10),
    span_id: (nextId++).toString(16).padStart(16, '0'),
    ...extra,
  };
}

function record(
  calls: RpcCall[],
  context: RequestRecord['context_spans'] = [],
): Pick<RequestRecord, 'individual_stats' | 'context_spans'> {
  return { individual_stats: calls, context_spans: context };
}

const SELECT_ONE = 'SELECT name FROM reviews WHERE product_id = $1';

test('N+1: five sequential calls of one name, shape and line are one finding, with the calls involved', () => {
  const calls = [0, 1, 2, 3, 4].map((i) => call('postgresql.SELECT', i * 2, 1.5, SELECT_ONE));
  const findings = findFindings(record(calls));
  assert.deepEqual(
    findings.map((f) => [f.kind, f.call_name, f.calls, f.total_duration_milliseconds]),
    [['n_plus_one', 'postgresql.SELECT', [0, 1, 2, 3, 4], 7.5]],
    'no duplicate either: $1 hides which row each asked for',
  );
  assert.match(findings[0].message, /5 sequential postgresql\.SELECT/);
});

test('N+1: literals are normalised; four calls are not enough, and the threshold is an option', () => {
  const calls = [0, 1, 2, 3].map((i) => call('memcache.Get', i * 2, 1, `key="user:${i}"`));
  assert.deepEqual(findFindings(record(calls)), []);
  assert.equal(findFindings(record(calls), { minRun: 4 })[0].kind, 'n_plus_one');
});

test('N+1: other calls between them do not break the run (the get-then-cache loop)', () => {
  const calls: RpcCall[] = [];
  for (let i = 0; i < 5; i++) {
    calls.push(call('datastore.Lookup', i * 10, 4, `key=A:${i}`, { call_stack: frames(20) }));
    calls.push(call('memcache.Get', i * 10 + 5, 1, `key="a${i}"`, { call_stack: frames(21) }));
  }
  assert.deepEqual(
    findFindings(record(calls)).map((f) => [f.call_name, f.calls]),
    [
      ['datastore.Lookup', [0, 2, 4, 6, 8]],
      ['memcache.Get', [1, 3, 5, 7, 9]],
    ],
  );
});

test('N+1: overlapping calls (Promise.all, a pipeline) are already parallel', () => {
  const calls = [0, 1, 2, 3, 4, 5].map((i) =>
    call('redis.HGETALL', i * 0.1, 3, 'hgetall [1 other arguments]'),
  );
  assert.deepEqual(findFindings(record(calls)), []);
});

test('N+1: different lines or different statements are different loops', () => {
  const lines = [0, 1, 2, 3, 4].map((i) =>
    call('postgresql.SELECT', i * 2, 1, SELECT_ONE, { call_stack: frames(10 + i) }),
  );
  assert.deepEqual(findFindings(record(lines)), []);
  const tables = ['a', 'b', 'c', 'd', 'e'].map((t, i) =>
    call('postgresql.SELECT', i * 2, 1, `SELECT * FROM ${t} WHERE id = 1`),
  );
  assert.deepEqual(
    findFindings(record(tables)).filter((f) => f.kind === 'n_plus_one'),
    [],
  );
});

test('connection set-up never counts: pool checkouts, connects, dns', () => {
  const calls: RpcCall[] = [];
  for (let i = 0; i < 11; i++) calls.push(call('pg-pool.connect', i * 3, 1, ''));
  for (let i = 0; i < 6; i++) calls.push(call('dns.lookup', 40 + i * 3, 1, 'db.internal'));
  for (let i = 0; i < 6; i++) calls.push(call('redis.CONNECT', 80 + i * 3, 1, 'connect'));
  assert.deepEqual(findFindings(record(calls)), []);
});

test('a call nested in another is part of it: not counted again', () => {
  const calls: RpcCall[] = [];
  for (let i = 0; i < 5; i++) {
    const outer = call('datastore.Lookup', i * 10, 5, `key=K:${i}`);
    calls.push(
      outer,
      call('http.POST', i * 10 + 1, 3, 'https://datastore/v1:lookup', { parent_span_id: outer.span_id }),
    );
  }
  const findings = findFindings(record(calls));
  assert.deepEqual(
    findings.map((f) => [f.kind, f.call_name]),
    [['n_plus_one', 'datastore.Lookup']],
    'the nested http.POST calls are neither an N+1 nor duplicates',
  );
});

test('duplicate: only when the whole request is known', () => {
  const same = [call('memcache.Get', 0, 1, 'key="a"'), call('memcache.Get', 5, 1, 'key="a"')];
  assert.deepEqual(
    findFindings(record(same)).map((f) => [f.kind, f.calls, f.request_data_summary]),
    [['duplicate', [0, 1], 'key="a"']],
  );
  for (const summary of [
    SELECT_ONE,
    'hgetall [1 other arguments]',
    'GET /x?token=[redacted]',
    'SELECT * FROM t WHERE id = ?',
  ]) {
    const calls = [call('x.CALL', 0, 1, summary), call('x.CALL', 5, 1, summary)];
    assert.deepEqual(findFindings(record(calls)), [], `not a duplicate: ${summary}`);
  }
});

test('parallelizable: back-to-back calls of different shapes from one function, worth the saving', () => {
  const slow = [
    call('postgresql.SELECT', 0, 30, 'SELECT * FROM a'),
    call('http.GET', 30, 40, 'http://pricing/'),
    call('redis.GET', 70, 30, 'get [1 other arguments]'),
  ];
  assert.deepEqual(
    findFindings(record(slow)).map((f) => [f.kind, f.calls]),
    [['parallelizable', [0, 1, 2]]],
  );
  assert.match(findFindings(record(slow))[0].message, /if independent, saving up to 60 ms/);
  const quick = slow.map((c, i) => ({ ...c, start_offset_milliseconds: i, duration_milliseconds: 1 }));
  assert.deepEqual(findFindings(record(quick)), [], 'saving under minSavedMs');
  const overlapping = [...slow, call('http.GET', 5, 90, 'http://other/')];
  overlapping.sort((a, b) => a.start_offset_milliseconds - b.start_offset_milliseconds);
  assert.deepEqual(findFindings(record(overlapping)), [], 'something else was in flight: not back to back');
  const otherFunctions = slow.map((c, i) => ({ ...c, call_stack: frames(10 + i, `fn${i}`) }));
  assert.deepEqual(findFindings(record(otherFunctions)), [], 'made from different functions');
});

test('flaggedCalls maps each call to the kinds that flag it', () => {
  const calls = [0, 1, 2, 3, 4].map((i) =>
    call('memcache.Get', i * 2, 1, i === 4 ? 'key="k0"' : `key="k${i}"`),
  );
  const findings = findFindings(record(calls));
  const flagged = flaggedCalls(findings);
  assert.deepEqual([...(flagged.get(0) ?? [])].sort(), ['duplicate', 'n_plus_one']);
  assert.deepEqual([...(flagged.get(1) ?? [])], ['n_plus_one']);
});

test('fingerprint and isCompleteSummary', () => {
  assert.equal(
    fingerprint(`SELECT * FROM t WHERE id = 42 AND name = 'x'`),
    'SELECT * FROM t WHERE id = ? AND name = ?',
  );
  assert.equal(fingerprint('key="user:17"'), 'key=?');
  assert.equal(fingerprint('hgetall [1 other arguments]'), 'hgetall [1 other arguments]');
  assert.equal(fingerprint('GET /items/3f2a9c1e-8b7d-4e6f-9a0b-1c2d3e4f5a6b'), 'GET /items/?');
  assert.equal(isCompleteSummary('https://api.example/x?page=2'), true, 'a URL query is not a placeholder');
  assert.equal(isCompleteSummary('SELECT 1 FROM t WHERE a = :name'), false);
  assert.equal(isCompleteSummary(''), false);
});
