import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeRecord, isFullRecord } from '../core/codec.js';
import { fitRecord } from '../core/fit-record.js';
import { sampleRecord } from './helpers/records.js';

/**
 * Hex that deflate cannot squeeze, from a fixed seed (xorshift32): as incompressible for this test
 * as randomBytes, whose 200,000 calls spent 3.6 s of set-up, and the same bytes on every run.
 */
function hexNoise(seed: number): (chars: number) => string {
  let x = seed >>> 0 || 1;
  return (chars) => {
    let text = '';
    while (text.length < chars) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      text += (x >>> 0).toString(16).padStart(8, '0');
    }
    return text.slice(0, chars);
  };
}

describe('fitRecord: the size ladder', () => {
  it('leaves a record that fits untouched', () => {
    const record = sampleRecord({ calls: 20 });
    const fitted = fitRecord(record, 1_000_000);
    assert.ok(fitted);
    assert.deepEqual(decodeRecord(fitted.full), record);
    assert.equal(fitted.record.incomplete, undefined);
  });

  it('keeps a 10,000-call request under the limit, stacks dropped first, noting each cut', () => {
    const record = sampleRecord({ calls: 10_000, stackFrames: 20 });
    // Noise: deflate must not be able to squeeze the stacks under the limit by itself.
    const noise = hexNoise(42);
    for (const call of record.individual_stats) {
      call.request_data_summary = `key="greeting:${noise(12)}"`;
      for (const frame of call.call_stack) frame.class_or_file_name = `/srv/app/${noise(16)}.js`;
    }
    assert.ok(JSON.stringify(record).length > 3_000_000);
    const fitted = fitRecord(record, 1_000_000);
    assert.ok(fitted);
    assert.ok(fitted.full.length <= 1_000_000, `full is ${fitted.full.length} bytes`);
    assert.ok(fitted.part.length <= 1_000_000);
    const stored = decodeRecord(fitted.full);
    assert.ok(isFullRecord(stored));
    assert.equal(stored.incomplete?.stacks_dropped, true);
    assert.equal(stored.individual_stats.length + (stored.incomplete?.calls_clipped ?? 0), 10_000);
    assert.deepEqual(stored.rpc_stats, record.rpc_stats, 'the totals still count every call');
    assert.deepEqual(
      decodeRecord(fitted.part).incomplete,
      stored.incomplete,
      'the part says what the full lost',
    );
  });

  it('clips calls when even stackless calls do not fit, keeping the first ones', () => {
    const record = sampleRecord({ calls: 3000, stackFrames: 0 });
    const fitted = fitRecord(record, 20_000);
    assert.ok(fitted);
    assert.ok(fitted.full.length <= 20_000);
    const stored = decodeRecord(fitted.full);
    assert.ok(isFullRecord(stored));
    assert.ok(stored.individual_stats.length > 0 && stored.individual_stats.length < 3000);
    assert.equal(stored.individual_stats[0].span_id, record.individual_stats[0].span_id);
    assert.equal(stored.incomplete?.calls_clipped, 3000 - stored.individual_stats.length);
    assert.equal(stored.incomplete?.stacks_dropped, undefined, 'there were no stacks to drop');
  });

  it('clips a megabyte-long summary rather than losing the request', () => {
    const record = sampleRecord({ calls: 2 });
    record.individual_stats[0].request_data_summary = randomBytes(500_000).toString('base64');
    const fitted = fitRecord(record, 100_000);
    assert.ok(fitted);
    const stored = decodeRecord(fitted.full);
    assert.ok(isFullRecord(stored));
    assert.equal(stored.individual_stats.length, 2);
    assert.equal(stored.incomplete?.details_clipped, true);
    assert.ok(stored.individual_stats[0].request_data_summary.length <= 100);
  });

  it('drops the environment when nothing else is left to cut, and says so', () => {
    const noise = hexNoise(7);
    const record = sampleRecord({ calls: 2 });
    // 3000 incompressible headers: still ~150 KB deflated once each value is clipped to 100 characters.
    record.cgi_env = Array.from({ length: 3000 }, (_, i) => ({ key: `HTTP_X_${i}`, value: noise(200) }));
    const fitted = fitRecord(record, 100_000);
    assert.ok(fitted);
    const stored = decodeRecord(fitted.full);
    assert.ok(isFullRecord(stored));
    assert.deepEqual(stored.cgi_env, []);
    assert.equal(stored.incomplete?.env_dropped, true);
  });

  it('gives up (undefined, never a throw) only when not even an empty record fits', () => {
    assert.equal(fitRecord(sampleRecord({ calls: 5 }), 50), undefined);
  });
});
