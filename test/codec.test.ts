import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { summarize } from '../core/build-record.js';
import {
  COMPRESS_FROM_BYTES,
  decodeRecord,
  encodeRecord,
  isFullRecord,
  RecordDecodeError,
  VALUE_MARKER,
} from '../core/codec.js';
import type { RequestRecord } from '../core/record.js';
import { sampleRecord } from './helpers/records.js';

function plainValue(record: object): Buffer {
  return Buffer.concat([Buffer.from([VALUE_MARKER, 1, 0x6a]), Buffer.from(JSON.stringify(record))]);
}

function rejects(bytes: Uint8Array, reason: string, message: RegExp) {
  assert.throws(
    () => decodeRecord(bytes),
    (error: unknown) =>
      error instanceof RecordDecodeError && error.reason === reason && message.test(error.message),
  );
}

describe('encodeRecord / decodeRecord', () => {
  it('round-trips a full record and its part, keeping microsecond times', () => {
    const full = sampleRecord({ calls: 3 });
    const decoded = decodeRecord(encodeRecord(full));
    assert.deepEqual(decoded, full);
    assert.ok(isFullRecord(decoded));
    const part = decodeRecord(encodeRecord(summarize(full)));
    assert.equal(isFullRecord(part), false);
    assert.equal('individual_stats' in part, false);
    assert.equal(
      decoded.individual_stats[1].duration_milliseconds,
      full.individual_stats[1].duration_milliseconds,
    );
  });

  it('marks every value, and deflates only when that is smaller', () => {
    const part = summarize(sampleRecord({ calls: 0 }));
    const small = encodeRecord(part);
    assert.equal(small[0], VALUE_MARKER);
    assert.ok(small.length - 3 < COMPRESS_FROM_BYTES, 'a part is below the threshold');
    assert.equal(String.fromCharCode(small[2]), 'j', 'a part stays plain: cheap to read 1000 at a time');
    assert.equal(small.length, 3 + Buffer.byteLength(small.subarray(3).toString()));
    const tiny = {
      v: 1,
      start_timestamp_milliseconds: 1,
      duration_milliseconds: 0,
      http_path: '/',
      http_method: '',
      rpc_stats: [],
    };
    // biome-ignore lint/suspicious/noExplicitAny: a deliberately minimal record
    assert.equal(String.fromCharCode(encodeRecord(tiny as any)[2]), 'j');
    const big = sampleRecord({ calls: 200 });
    const encoded = encodeRecord(big);
    assert.equal(encoded[0], VALUE_MARKER);
    assert.equal(String.fromCharCode(encoded[2]), 'z');
    assert.ok(
      encoded.length < Buffer.byteLength(JSON.stringify(big)) / 3,
      'deflate should shrink repetitive JSON',
    );
  });

  it('stores a call without its default-valued fields and reads it back whole (format 2)', () => {
    const full = sampleRecord({ calls: 3, stackFrames: 0 });
    const failed = full.individual_stats[2];
    Object.assign(failed, {
      was_successful: false,
      namespace: 'tenant-a',
      span_name: 'GET /x',
      span_kind: 'INTERNAL',
      status: { code: 'ERROR', message: 'boom' },
      pending: true,
      parent_span_id: 'aaaaaaaaaaaaaaaa',
      attributes: {},
    });
    const encoded = encodeRecord(full);
    const stored = JSON.parse(inflateRawSync(encoded.subarray(3)).toString('utf8'));
    const plain = stored.individual_stats[1]; // a memcache.Get: every optional field at its default
    for (const field of [
      'namespace',
      'was_successful',
      'call_stack',
      'call_cost_microdollars',
      'billed_ops',
      'span_name',
      'span_kind',
      'status',
    ])
      assert.equal(field in plain, false, `${field} left out at its default`);
    assert.deepEqual(
      Object.keys(stored.individual_stats[2]).sort(),
      [
        'call_stack',
        'duration_milliseconds',
        'namespace',
        'parent_span_id',
        'pending',
        'request_data_summary',
        'response_data_summary',
        'service_call_name',
        'span_id',
        'span_kind',
        'span_name',
        'start_offset_milliseconds',
        'status',
        'was_successful',
      ].filter((field) => field !== 'call_stack'),
    );
    assert.deepEqual(decodeRecord(encoded), full);
  });

  it('stores a stack once: later calls with the same frames name the first (an N+1 loop costs one stack)', () => {
    const full = sampleRecord({ calls: 4, stackFrames: 3 });
    // Call 2 comes from another line; calls 1 and 3 repeat call 0's frames (equal copies, not the same objects).
    full.individual_stats[2].call_stack = full.individual_stats[2].call_stack.map((frame) => ({
      ...frame,
      line_number: frame.line_number + 100,
    }));
    full.individual_stats[3].call_stack = full.individual_stats[0].call_stack.map((frame) => ({ ...frame }));
    const encoded = encodeRecord(full);
    const stored = JSON.parse(inflateRawSync(encoded.subarray(3)).toString('utf8')).individual_stats;
    assert.deepEqual(
      stored.map((call: Record<string, unknown>) => [Array.isArray(call.call_stack), call.same_stack_as]),
      [
        [true, undefined],
        [false, 0],
        [true, undefined],
        [false, 0],
      ],
    );
    const decoded = decodeRecord(encoded) as RequestRecord;
    assert.deepEqual(decoded, full);
    assert.equal(
      decoded.individual_stats[3].call_stack,
      decoded.individual_stats[0].call_stack,
      'shared, not copied',
    );
    // A reference that is not to an earlier call (itself, later, nonsense) reads as no stack.
    const odd = {
      ...full,
      individual_stats: stored.map((call: object, i: number) => ({
        ...call,
        same_stack_as: [i, 3, -1, 'x'][i],
      })),
    };
    const refs = (decodeRecord(plainValue(odd)) as RequestRecord).individual_stats;
    assert.deepEqual(
      refs.map((call) => call.call_stack.length),
      [3, 0, 3, 0],
    );
  });

  it('compares a bounded number of stacks per key: past eight alike at both ends, a stack is stored whole', () => {
    const full = sampleRecord({ calls: 12, stackFrames: 5 });
    const base = full.individual_stats[0].call_stack;
    // Calls 0-9: the same first and last frames, a different middle; 10 repeats 0, 11 repeats 9.
    for (let i = 0; i < 10; i++)
      full.individual_stats[i].call_stack = base.map((frame, f) =>
        f === 2 ? { ...frame, line_number: 500 + i } : frame,
      );
    full.individual_stats[10].call_stack = full.individual_stats[0].call_stack;
    full.individual_stats[11].call_stack = full.individual_stats[9].call_stack;
    const encoded = encodeRecord(full);
    const stored = JSON.parse(inflateRawSync(encoded.subarray(3)).toString('utf8')).individual_stats;
    assert.equal(stored[10].same_stack_as, 0, 'one of the first eight: found');
    assert.equal(stored[11].same_stack_as, undefined, 'past the bound: stored whole');
    assert.equal(stored[11].call_stack.length, 5);
    assert.deepEqual(decodeRecord(encoded), full);
  });

  it('stores a part of format 2 as a positional array, a third of the object, and reads it back whole', () => {
    const full = sampleRecord({ calls: 10 });
    Object.assign(full, {
      http_route: '/user/:id',
      rpc_total_milliseconds: 12.5,
      rpc_in_flight_milliseconds: 10.25,
      findings: [{ kind: 'n_plus_one', call_name: 'memcache.Get', count: 6 }],
      incomplete: { stacks_skipped: true },
    });
    const part = summarize(full);
    assert.equal(part.v, 2);
    assert.equal(full.v, 2, 'the record keeps its own version');
    const bytes = encodeRecord(part);
    assert.equal(bytes.subarray(3, 4).toString(), '[', 'an array, not an object');
    const asObject = plainValue(part);
    assert.ok(
      bytes.length * 2 < asObject.length,
      `${bytes.length} B against ${asObject.length} B as an object`,
    );
    assert.deepEqual(decodeRecord(bytes, 'part'), part);
    const bare = summarize(sampleRecord({ calls: 0 }));
    assert.deepEqual(decodeRecord(encodeRecord(bare), 'part'), bare, 'absent fields stay absent');
    const idle = { ...bare, rpc_total_milliseconds: 0, rpc_in_flight_milliseconds: 0 };
    assert.deepEqual(decodeRecord(encodeRecord(idle), 'part'), idle, 'a request with no call: 0 is kept');
  });

  it('reads parts of format 1 (an object) and refuses a crafted array like any bad part', () => {
    const v1 = { ...summarize(sampleRecord({ calls: 2 })), v: 1 };
    assert.deepEqual(decodeRecord(plainValue(v1), 'part'), v1);
    rejects(plainValue([2, 'not a time', 'GET']), 'shape', /start_timestamp_milliseconds/);
    rejects(plainValue([7, 1, 2]), 'shape', /not an object/);
  });

  it('refuses absurd call counts', () => {
    const full = sampleRecord({ calls: 1 });
    const crafted = { ...full, individual_stats: Array.from({ length: 5001 }, () => ({})) };
    rejects(plainValue(crafted), 'size', /5001 calls, more than this reader reads in a full record \(5000\)/);
  });

  it('reads format 1 (every field stored) and fills what a call lacks or mistypes with the default', () => {
    const v1 = { ...sampleRecord({ calls: 2 }), v: 1 };
    assert.deepEqual(decodeRecord(plainValue(v1)), v1);
    const odd = {
      ...v1,
      individual_stats: [{ service_call_name: 'memcache.Get', call_stack: 'x', status: 7 }, {}],
    };
    const [first, second] = (decodeRecord(plainValue(odd)) as RequestRecord).individual_stats;
    assert.deepEqual(first.call_stack, []);
    assert.deepEqual(first.status, { code: 'UNSET' });
    assert.equal(first.span_name, 'memcache.Get');
    assert.equal(second.service_call_name, '(unnamed)');
    assert.equal(second.was_successful, true);
    // A call that is not an object at all is no call: the record is refused, not padded.
    rejects(plainValue({ ...v1, individual_stats: [null, 7] }), 'shape', /individual_stats/);
  });

  it('rejects foreign bytes (plain JSON, text) with a clear reason', () => {
    rejects(Buffer.from(JSON.stringify(sampleRecord({ calls: 1 }))), 'foreign', /not an appstats value/);
    rejects(Buffer.from('hello'), 'foreign', /first byte 0x68/);
  });

  it('rejects empty, truncated and corrupt values', () => {
    const good = encodeRecord(sampleRecord({ calls: 50 }));
    rejects(Buffer.alloc(0), 'truncated', /empty/);
    rejects(good.subarray(0, 2), 'truncated', /no header/);
    rejects(good.subarray(0, good.length >> 1), 'corrupt', /does not inflate/);
    rejects(Buffer.from([VALUE_MARKER, 1, 0x6a, 0x7b, 0x22]), 'truncated', /not complete JSON/);
    rejects(Buffer.from([VALUE_MARKER, 1, 0x71, 1, 2]), 'corrupt', /unknown encoding/);
    rejects(Buffer.from([VALUE_MARKER, 1, 0x7a, 0xff, 0xfe, 0xfd]), 'corrupt', /does not inflate/);
  });

  it('rejects other format versions and wrong shapes, naming the fields', () => {
    const other = { ...sampleRecord({ calls: 1 }), v: 3 };
    rejects(
      Buffer.concat([Buffer.from([VALUE_MARKER, 1, 0x6a]), Buffer.from(JSON.stringify(other))]),
      'version',
      /format version 3 is not one this reader knows \(1, 2\)/,
    );
    rejects(Buffer.from([VALUE_MARKER, 9, 0x6a, 0x7b, 0x7d]), 'version', /envelope version 9/);
    const broken = { ...sampleRecord({ calls: 1 }), http_path: 7, rpc_stats: 'x' };
    rejects(
      Buffer.concat([Buffer.from([VALUE_MARKER, 1, 0x6a]), Buffer.from(JSON.stringify(broken))]),
      'shape',
      /http_path, rpc_stats/,
    );
    rejects(
      Buffer.concat([Buffer.from([VALUE_MARKER, 1, 0x6a]), Buffer.from('[1,2]')]),
      'shape',
      /not an object/,
    );
  });

  it('refuses to inflate a value past the bound (a deflate bomb is bad input, not a crash)', () => {
    const bomb = deflateRawSync(Buffer.alloc(80 * 1024 * 1024, 0x20));
    rejects(
      Buffer.concat([Buffer.from([VALUE_MARKER, 1, 0x7a]), bomb]),
      'size',
      /inflating past 16777216 bytes/,
    );
  });
});
