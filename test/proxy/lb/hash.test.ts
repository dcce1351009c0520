import assert from 'node:assert/strict';
import { combineHashes, HASH_SPACE, hashKey, toHash53 } from '../../../src/proxy/lb/index.js';

describe('lb: hashKey', () => {
  it('is deterministic, a safe integer below 2^53, and seeded', () => {
    assert.equal(hashKey('10.0.0.1:8080_0'), hashKey('10.0.0.1:8080_0'));
    for (const s of ['', 'a', 'ab', 'abc', '10.0.0.1:8080', 'ünïcødé ✓']) {
      const h = hashKey(s);
      assert.ok(Number.isSafeInteger(h) && h >= 0 && h < HASH_SPACE, `${s}: ${h}`);
      assert.notEqual(hashKey(s, 1), h, `seed 1 differs for ${JSON.stringify(s)}`);
    }
  });

  it('has no collisions over 100,000 similar keys', () => {
    const seen = new Set<number>();
    for (let i = 0; i < 100_000; i++) seen.add(hashKey(`10.0.${i >> 8}.${i & 255}:80_${i % 7}`));
    assert.equal(seen.size, 100_000);
  });

  it('sets every output bit about half the time for keys that differ in one character', () => {
    const n = 20_000;
    const ones = new Array<number>(53).fill(0);
    for (let i = 0; i < n; i++) {
      let h = hashKey(`host_${i}`);
      for (let b = 0; b < 53; b++) {
        ones[b] += h % 2;
        h = Math.floor(h / 2);
      }
    }
    for (let b = 0; b < 53; b++) {
      const share = ones[b]! / n;
      assert.ok(share > 0.47 && share < 0.53, `bit ${b} set in ${share}`);
    }
  });

  it('spreads evenly over small moduli (priority choice uses hash % 100)', () => {
    const buckets = new Array<number>(100).fill(0);
    for (let i = 0; i < 100_000; i++) buckets[hashKey(`user-${i}`) % 100]!++;
    for (const b of buckets) assert.ok(b > 850 && b < 1150, `bucket of ${b}`);
  });
});

describe('lb: combineHashes and toHash53', () => {
  it('combines in order, within range', () => {
    const a = hashKey('x-user: alice');
    const b = hashKey('cookie: s=1');
    const ab = combineHashes(a, b);
    assert.ok(Number.isSafeInteger(ab) && ab >= 0 && ab < HASH_SPACE);
    assert.notEqual(ab, combineHashes(b, a));
    assert.equal(ab, combineHashes(a, b));
    assert.equal(combineHashes(0, b), b);
  });

  it('keeps 53-bit numbers and folds 64-bit hashes and odd input deterministically', () => {
    assert.equal(toHash53(12345), 12345);
    assert.equal(toHash53(HASH_SPACE - 1), HASH_SPACE - 1);
    const big = 0xfedcba9876543210n;
    const folded = toHash53(big);
    assert.ok(Number.isSafeInteger(folded) && folded < HASH_SPACE);
    assert.equal(toHash53(big), folded);
    assert.equal(toHash53(2 ** 60), 2 ** 49);
    assert.equal(toHash53(-5), 5);
    assert.equal(toHash53(7.9), 7);
    assert.equal(toHash53(Number.NaN), 0);
    assert.equal(toHash53(Number.POSITIVE_INFINITY), 0);
  });
});
