import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allPartKeys, recordKey, resolveKeyOptions, slotIndex } from '../core/record-key.js';

describe('recordKey: the original bucketed key', () => {
  it('computes the worked example of REFERENCE.md', () => {
    // 1700000012.345 s -> 1700000012345 ms -> //100 = 17000000123 -> %1000 = 123 -> *100 = 12300
    assert.equal(recordKey(1700000012345, 'part'), '__appstats__:012300:part');
    assert.equal(recordKey(1700000012345, 'full'), '__appstats__:012300:full');
  });

  it('matches the formula over a sweep of start times, float ms included', () => {
    for (let ms = 1_700_000_000_000; ms < 1_700_000_000_000 + 250_000; ms += 37.125) {
      const index = (Math.floor(ms / 100) % 1000) * 100;
      assert.equal(recordKey(ms, 'part'), `__appstats__:${String(index).padStart(6, '0')}:part`);
    }
  });

  it('puts requests of one 100 ms window in one slot (a later one overwrites), the next window in the next', () => {
    assert.equal(recordKey(1700000012300, 'part'), recordKey(1700000012399.999, 'part'));
    assert.equal(recordKey(1700000012400, 'part'), '__appstats__:012400:part');
    // 1000 slots cycle every 100 seconds: the same slot again 100 s later.
    assert.equal(recordKey(1700000012345 + 100_000, 'part'), recordKey(1700000012345, 'part'));
    assert.notEqual(recordKey(1700000012345 + 99_900, 'part'), recordKey(1700000012345, 'part'));
  });

  it('wraps at the modulus: the last slot is 099900', () => {
    assert.equal(recordKey(99_999, 'part'), '__appstats__:099900:part');
    assert.equal(recordKey(100_000, 'part'), '__appstats__:000000:part');
  });

  it('keeps a negative clock in range, where JS % would not', () => {
    assert.equal(slotIndex(-50), 99_900);
    assert.match(recordKey(-1, 'full'), /^__appstats__:\d{6}:full$/);
  });

  it('honours prefix, distance and modulus', () => {
    const options = { keyPrefix: 'shop', keyDistance: 1000, keyModulus: 60 };
    // 1700000012345 // 1000 = 1700000012 % 60 = 32 -> 32000
    assert.equal(recordKey(1700000012345, 'part', options), 'shop:032000:part');
  });

  it('rejects options that would make keys memcached refuses, at set-up', () => {
    assert.throws(() => resolveKeyOptions({ keyPrefix: 'has space' }), /keyPrefix/);
    assert.throws(() => resolveKeyOptions({ keyPrefix: '' }), /keyPrefix/);
    assert.throws(() => resolveKeyOptions({ keyDistance: 0 }), /keyDistance/);
    assert.throws(() => resolveKeyOptions({ keyModulus: 2.5 }), /keyModulus/);
  });
});

describe('allPartKeys', () => {
  it('lists every slot once, the same keys recordKey writes', () => {
    const keys = allPartKeys();
    assert.equal(keys.length, 1000);
    assert.equal(new Set(keys).size, 1000);
    assert.equal(keys[0], '__appstats__:000000:part');
    assert.equal(keys[999], '__appstats__:099900:part');
    for (let ms = 0; ms < 100_000; ms += 100)
      assert.ok(keys.includes(recordKey(ms + 1_700_000_000_000, 'part')));
  });

  it('follows custom options', () => {
    const keys = allPartKeys({ keyPrefix: 'app2', keyModulus: 10 });
    assert.deepEqual(keys.slice(0, 2), ['app2:000000:part', 'app2:000100:part']);
    assert.equal(keys.length, 10);
  });
});
