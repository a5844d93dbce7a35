import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { summarize } from '../exporter/build-record.js';
import {
  COMPRESS_FROM_BYTES,
  decodeRecord,
  encodeRecord,
  isFullRecord,
  RecordDecodeError,
  VALUE_MARKER,
} from '../exporter/codec.js';
import { sampleRecord } from './helpers/records.js';

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
    const plainLength = 3 + Buffer.byteLength(JSON.stringify(part));
    assert.ok(plainLength - 3 < COMPRESS_FROM_BYTES, 'a part is below the threshold');
    assert.equal(String.fromCharCode(small[2]), 'j', 'a part stays plain: cheap to read 1000 at a time');
    assert.equal(small.length, plainLength);
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
    const other = { ...sampleRecord({ calls: 1 }), v: 2 };
    rejects(
      Buffer.concat([Buffer.from([VALUE_MARKER, 1, 0x6a]), Buffer.from(JSON.stringify(other))]),
      'version',
      /format version 2/,
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
    rejects(Buffer.concat([Buffer.from([VALUE_MARKER, 1, 0x7a]), bomb]), 'corrupt', /does not inflate/);
  });
});
