import assert from 'node:assert/strict';
import { type Host, hashKey, NO_HASH } from '../../../src/proxy/lb/index.js';
import {
  RingHashBalancer,
  type RingHashConfig,
  ringEntries,
  ringHashFactory,
} from '../../../src/proxy/lb/load-balancer-ring-hash.js';
import { makeHosts, requestHashes, seededRandom } from './fakes.js';

const DEFAULTS: RingHashConfig = { minRingSize: 1024, maxRingSize: 8 * 1024 * 1024 };
const HASHES = requestHashes(10_000, (s) => hashKey(s));

function mapping(hosts: readonly Host[], config = DEFAULTS): (string | undefined)[] {
  const lb = ringHashFactory.create(hosts, config, seededRandom(1));
  return HASHES.map((hash) => lb.pick({ hash })?.key);
}

function shares(keys: readonly (string | undefined)[]): Map<string | undefined, number> {
  const m = new Map<string | undefined, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
}

describe('lb: RING_HASH', () => {
  it('maps the same hash to the same host, whatever the host order', () => {
    const hosts = makeHosts(5);
    const first = mapping(hosts);
    assert.deepEqual(mapping(hosts), first);
    assert.deepEqual(mapping([...hosts].reverse()), first);
    const lb = ringHashFactory.create(hosts, DEFAULTS, seededRandom(1));
    assert.equal(lb.pick({ hash: HASHES[42]! })?.key, first[42]);
    assert.equal(lb.pick({ hash: BigInt(HASHES[42]!) })?.key, first[42]);
  });

  it('spreads keys over equal hosts', () => {
    const hosts = makeHosts(5);
    const counts = shares(mapping(hosts));
    for (const h of hosts) {
      const n = counts.get(h.key)!;
      assert.ok(n > 1500 && n < 2500, `${h.key} took ${n}`);
    }
  });

  it('honours weights', () => {
    const hosts = makeHosts(2, (i) => ({ weight: i === 0 ? 1 : 3 }));
    const heavy = shares(mapping(hosts)).get(hosts[1]!.key)!;
    assert.ok(heavy > 7000 && heavy < 8000, `heavy host took ${heavy}`);
  });

  it('moves only the removed host’s keys when one of ten leaves', () => {
    const hosts = makeHosts(10);
    const before = mapping(hosts);
    const gone = hosts[3]!.key;
    const after = mapping(hosts.filter((h) => h.key !== gone));
    let moved = 0;
    for (let i = 0; i < HASHES.length; i++) {
      if (before[i] === after[i]) continue;
      moved++;
      assert.equal(before[i], gone, `key ${i} moved from ${before[i]} to ${after[i]}`);
    }
    assert.ok(moved > 500 && moved < 1500, `${moved} of 10,000 keys moved`);
  });

  it('moves keys only onto a host that joins', () => {
    const hosts = makeHosts(9);
    const before = mapping(hosts.slice(0, 8));
    const after = mapping(hosts);
    for (let i = 0; i < HASHES.length; i++) {
      if (before[i] !== after[i]) assert.equal(after[i], hosts[8]!.key);
    }
  });

  it('sizes the ring: at least the minimum, in powers of two per unit of weight', () => {
    const three = makeHosts(3);
    const size = (hosts: readonly Host[], config: RingHashConfig) =>
      new RingHashBalancer(hosts, config, seededRandom(1)).size;
    assert.equal(size(three, DEFAULTS), 3 * 512);
    assert.equal(size(makeHosts(1), DEFAULTS), 1024);
    assert.equal(size(three, { minRingSize: 100, maxRingSize: 200 }), 3 * 64);
    assert.equal(size(three, { minRingSize: 100, maxRingSize: 150 }), 150);
    const weighted = makeHosts(2, (i) => ({ weight: i === 0 ? 1 : 1000 }));
    assert.equal(size(weighted, DEFAULTS), 2 * 1001);
  });

  it('regression: an endpoint weight of 2^32−1 builds a ring sized by shares, not an 8M-entry one', () => {
    const MAX_WEIGHT = 2 ** 32 - 1; // the largest load_balancing_weight (a uint32) xDS can send
    const size = (hosts: readonly Host[], config = DEFAULTS) =>
      new RingHashBalancer(hosts, config, seededRandom(1)).size;
    // One host: the ring of one host of weight 1 (Envoy builds the same 1024).
    assert.equal(size(makeHosts(1, () => ({ weight: MAX_WEIGHT }))), 1024);
    // Skewed: the light host keeps one entry of its own rather than growing the ring to 8M.
    const skewed = makeHosts(2, (i) => ({ weight: i === 0 ? MAX_WEIGHT : 1 }));
    assert.deepEqual(ringEntries(skewed, DEFAULTS), [1024, 1]);
    const lb = ringHashFactory.create(skewed, DEFAULTS, seededRandom(1));
    const heavy = shares(HASHES.map((hash) => lb.pick({ hash })?.key)).get(skewed[0]!.key)!;
    assert.ok(heavy > 9900, `the heavy host took ${heavy} of 10,000 keys`);
    // Every host at the maximum: as if all weighed 1.
    assert.equal(size(makeHosts(3, () => ({ weight: MAX_WEIGHT }))), 3 * 512);
    // A smaller configured maximum is honoured.
    const capped = makeHosts(3, (i) => ({ weight: [MAX_WEIGHT, 3, 2 ** 31][i] }));
    assert.deepEqual(ringEntries(capped, { minRingSize: 100, maxRingSize: 120 }), [79, 1, 39]);
  });

  it('bounds the ring by min(2 × minimum, maximum) + hosts for any weights and sizes', () => {
    const random = seededRandom(7);
    for (let round = 0; round < 200; round++) {
      const n = 1 + Math.floor(random() * 50);
      const hosts = makeHosts(n, () => ({
        weight: random() < 0.3 ? 2 ** 32 - 1 : 1 + Math.floor(random() * 2 ** (random() * 32)),
      }));
      const minRingSize = 1 + Math.floor(random() * 4096);
      const maxRingSize = minRingSize + Math.floor(random() * 8192);
      const config = { minRingSize, maxRingSize };
      const length = ringEntries(hosts, config).reduce((a, b) => a + b, 0);
      const what = `${n} hosts, ${JSON.stringify(config)}: ${length} entries`;
      assert.ok(length <= Math.min(2 * minRingSize, maxRingSize) + n, what);
      assert.ok(length >= Math.min(minRingSize, maxRingSize - n), what);
    }
  });

  it('picks a random point when the request has no hash', () => {
    const hosts = makeHosts(4);
    const lb = ringHashFactory.create(hosts, DEFAULTS, seededRandom(9));
    const seen = new Set(Array.from({ length: 200 }, () => lb.pick(NO_HASH)?.key));
    assert.equal(seen.size, 4);
  });

  it('validates ring sizes like Envoy', () => {
    const ok = ringHashFactory.parseConfig({});
    assert.ok(ok.ok);
    assert.deepEqual(ok.config, DEFAULTS);

    const inverted = ringHashFactory.parseConfig({
      name: 'c',
      ring_hash_lb_config: {
        minimum_ring_size: { value: 2048 },
        maximum_ring_size: { value: 1024 },
      },
    });
    assert.ok(!inverted.ok);
    assert.equal(inverted.errors[0]!.code, 'FERRY_LB_INVALID_CONFIG');
    assert.match(inverted.errors[0]!.message, /minimum_ring_size \(2048\) > maximum_ring_size/);

    const huge = ringHashFactory.parseConfig({
      ring_hash_lb_config: { maximum_ring_size: { value: 8 * 1024 * 1024 + 1 } },
    });
    assert.ok(!huge.ok);
    assert.equal(huge.errors[0]!.field, 'ring_hash_lb_config.maximum_ring_size');

    const murmur = ringHashFactory.parseConfig({
      ring_hash_lb_config: { hash_function: 'MURMUR_HASH_2' },
    });
    assert.ok(murmur.ok);
    assert.match(murmur.warnings[0]!, /MURMUR_HASH_2 is not supported/);
  });
});
