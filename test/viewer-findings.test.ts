import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RpcCall } from '../core/record.js';
import {
  findCallFindings,
  findDuplicateCalls,
  findNPlusOne,
  flaggedCalls,
  repeatedCallNames,
} from '../viewer/findings.js';
import { sampleRecord } from './helpers/records.js';

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
    start_offset_milliseconds: offset,
    duration_milliseconds: duration,
    request_data_summary: request,
    ...extra,
  };
}

test('N+1: five sequential calls of one name are flagged, with the calls involved', () => {
  const calls = [0, 1, 2, 3, 4].map((i) => call('datastore.Lookup', i * 2, 1.5, `key=${i}`));
  const findings = findNPlusOne(calls);
  assert.equal(findings.length, 1);
  assert.equal(findings[0].kind, 'n-plus-one');
  assert.equal(findings[0].service_call_name, 'datastore.Lookup');
  assert.deepEqual(findings[0].calls, [0, 1, 2, 3, 4]);
  assert.equal(findings[0].total_duration_milliseconds, 7.5);
});

test('N+1: four are not enough; the threshold is an argument', () => {
  const calls = [0, 1, 2, 3].map((i) => call('memcache.Get', i * 2, 1));
  assert.deepEqual(findNPlusOne(calls), []);
  assert.equal(findNPlusOne(calls, 4).length, 1);
});

test('N+1: other calls between them do not break the run (the get-then-cache loop)', () => {
  const calls: RpcCall[] = [];
  for (let i = 0; i < 5; i++) {
    calls.push(call('datastore.Lookup', i * 10, 4, `key=A:${i}`));
    calls.push(call('memcache.Get', i * 10 + 5, 1, `key=a${i}`));
  }
  const findings = findNPlusOne(calls);
  assert.deepEqual(
    findings.map((f) => [f.service_call_name, f.calls]),
    [
      ['datastore.Lookup', [0, 2, 4, 6, 8]],
      ['memcache.Get', [1, 3, 5, 7, 9]],
    ],
  );
});

test('N+1: overlapping (parallel) calls break the run; a pending call too', () => {
  const parallel = [0, 1, 2, 3, 4, 5].map((i) => call('memcache.Get', i * 0.1, 1));
  assert.deepEqual(findNPlusOne(parallel), []);
  const withPending = [0, 1, 2, 3, 4, 5].map((i) =>
    call('memcache.Get', i * 2, i === 2 ? 0 : 1, '', i === 2 ? { pending: true } : {}),
  );
  // 0,1,2 | 3,4,5: the pending one ends its run.
  assert.deepEqual(findNPlusOne(withPending), []);
  // Back-to-back calls (next starts exactly as the previous ends) are sequential.
  assert.equal(findNPlusOne([0, 1, 2, 3, 4].map((i) => call('x.Y', i, 1))).length, 1);
});

test('duplicates: same name and same request summary, twice or more; empty summaries never match', () => {
  const calls = [
    call('memcache.Get', 0, 1, 'key="a"'),
    call('memcache.Get', 2, 1, 'key="b"'),
    call('memcache.Get', 4, 1, 'key="a"'),
    call('memcache.Set', 6, 1, 'key="a"'),
    call('http.GET', 8, 1, ''),
    call('http.GET', 10, 1, ''),
    call('memcache.Get', 12, 1, 'key="a"'),
  ];
  const findings = findDuplicateCalls(calls);
  assert.equal(findings.length, 1);
  assert.deepEqual(findings[0], {
    kind: 'duplicate',
    service_call_name: 'memcache.Get',
    request_data_summary: 'key="a"',
    calls: [0, 2, 6],
    total_duration_milliseconds: 3,
  });
});

test('findCallFindings lists N+1 first; flaggedCalls maps each call to its kinds', () => {
  const calls = [0, 1, 2, 3, 4].map((i) => call('memcache.Get', i * 2, 1, 'key="same"'));
  const findings = findCallFindings(calls);
  assert.deepEqual(
    findings.map((f) => f.kind),
    ['n-plus-one', 'duplicate'],
  );
  const flagged = flaggedCalls(findings);
  assert.deepEqual([...(flagged.get(3) ?? [])].sort(), ['duplicate', 'n-plus-one']);
  assert.equal(flagged.get(5), undefined);
});

test('repeatedCallNames: the per-path hint from a part (counts only)', () => {
  const record = sampleRecord({ calls: 15 });
  assert.deepEqual(repeatedCallNames(record), [
    { service_call_name: 'memcache.Get', count: 10 },
    { service_call_name: 'datastore.Lookup', count: 5 },
  ]);
  assert.deepEqual(repeatedCallNames(sampleRecord({ calls: 4 })), []);
});

test('details page: incompleteness notes say what each cut means, the stack budget included', async () => {
  const { incompletenessNotes } = await import('../viewer/pages/details.js');
  assert.deepEqual(incompletenessNotes(undefined), []);
  const notes = incompletenessNotes({ pending_calls: 2, stacks_skipped: true, calls_clipped: 5 });
  assert.equal(notes.length, 3);
  assert.ok(notes.some((n) => n.includes('2 call(s) were still pending')));
  assert.ok(notes.some((n) => n.includes('maxStackCapturesPerSecond')));
  assert.ok(notes.some((n) => n.includes('5 call(s) were cut')));
});
