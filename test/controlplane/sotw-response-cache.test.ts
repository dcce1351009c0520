/** The shared SotW response cache: reused bodies, and a bound on entries and bytes (LRU). */
import assert from 'node:assert/strict';
import type { TypeSet } from '../../src/controlplane/index.js';
import { SotwResponseCache, subscriptionKey } from '../../src/controlplane/sotw-response-cache.js';
import { types } from '../../src/xds/index.js';

const EMPTY_SET: TypeSet = { byName: new Map(), wildcard: new Set() };

function evictionCounter() {
  const seen = { evictions: 0, entries: 0, bytes: 0 };
  return {
    seen,
    metrics: {
      evictions: { inc: () => seen.evictions++ },
      entries: { set: (n: number) => (seen.entries = n) },
      bytes: { set: (n: number) => (seen.bytes = n) },
    },
  };
}

function ask(cache: SotwResponseCache, names: string[]) {
  return cache.body(EMPTY_SET, types.CLUSTER, '1', subscriptionKey(false, names), names);
}

describe('SotwResponseCache', () => {
  it('reuses the body of a subscription it has, and keeps the most recently used', () => {
    const { seen, metrics } = evictionCounter();
    const cache = new SotwResponseCache('ferry', { maxEntries: 2, maxBytes: 1 << 20, metrics });
    const a = ask(cache, ['a']);
    assert.equal(ask(cache, ['a']), a);
    ask(cache, ['b']);
    ask(cache, ['a']); // used again: b is now the oldest
    ask(cache, ['c']);
    assert.equal(cache.size, 2);
    assert.equal(seen.evictions, 1);
    assert.equal(ask(cache, ['a']), a, 'a survived');
    assert.notEqual(ask(cache, ['b']), undefined);
    assert.equal(seen.entries, 2);
  });

  it('stays within its byte bound, and never keeps a body bigger than the bound', () => {
    const { seen, metrics } = evictionCounter();
    const cache = new SotwResponseCache('ferry', { maxEntries: 1000, maxBytes: 4096, metrics });
    for (let i = 0; i < 200; i++) ask(cache, [`name-${i}-${'x'.repeat(40)}`]);
    assert.ok(cache.byteSize <= 4096, `${cache.byteSize} bytes`);
    assert.equal(seen.bytes, cache.byteSize);
    assert.ok(seen.evictions > 100);
    const huge = Array.from({ length: 1000 }, (_, i) => `n${i}`);
    const before = cache.size;
    ask(cache, huge);
    assert.ok(cache.size <= before, 'an over-large body is served but not kept');
  });
});
