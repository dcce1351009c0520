import assert from 'node:assert/strict';
import { type Host, hashKey, NO_HASH } from '../../../src/proxy/lb/index.js';
import {
  isPrime,
  type MaglevConfig,
  maglevFactory,
} from '../../../src/proxy/lb/load-balancer-maglev.js';
import { makeHosts, requestHashes, seededRandom } from './fakes.js';

const DEFAULTS: MaglevConfig = { tableSize: 65537 };
const HASHES = requestHashes(20_000, (s) => hashKey(s));

function mapping(hosts: readonly Host[], config = DEFAULTS): (string | undefined)[] {
  const lb = maglevFactory.create(hosts, config, seededRandom(1));
  return HASHES.map((hash) => lb.pick({ hash })?.key);
}

function count(keys: readonly (string | undefined)[], key: string): number {
  return keys.filter((k) => k === key).length;
}

describe('lb: MAGLEV', () => {
  it('maps the same hash to the same host, whatever the host order', () => {
    const hosts = makeHosts(6);
    const first = mapping(hosts);
    assert.deepEqual(mapping(hosts), first);
    assert.deepEqual(mapping([...hosts].reverse()), first);
  });

  it('spreads keys evenly over equal hosts', () => {
    const hosts = makeHosts(5);
    const keys = mapping(hosts);
    for (const h of hosts) {
      const n = count(keys, h.key);
      assert.ok(n > 3600 && n < 4400, `${h.key} took ${n}`);
    }
  });

  it('honours weights', () => {
    const hosts = makeHosts(3, (i) => ({ weight: [1, 3, 6][i] }));
    const keys = mapping(hosts);
    const expected = [0.1, 0.3, 0.6];
    hosts.forEach((h, i) => {
      const share = count(keys, h.key) / keys.length;
      assert.ok(Math.abs(share - expected[i]!) < 0.02, `${h.key} took ${share}`);
    });
  });

  it('moves few keys besides the removed host’s when one of ten leaves', () => {
    const hosts = makeHosts(10);
    const before = mapping(hosts);
    const gone = hosts[6]!.key;
    const after = mapping(hosts.filter((h) => h.key !== gone));
    let stayed = 0;
    let others = 0;
    for (let i = 0; i < HASHES.length; i++) {
      if (before[i] === gone) continue;
      others++;
      if (before[i] === after[i]) stayed++;
    }
    assert.ok(stayed / others > 0.99, `only ${stayed} of ${others} keys stayed`);
  });

  it('picks a random slot when the request has no hash', () => {
    const lb = maglevFactory.create(makeHosts(4), DEFAULTS, seededRandom(5));
    const seen = new Set(Array.from({ length: 200 }, () => lb.pick(NO_HASH)?.key));
    assert.equal(seen.size, 4);
  });

  it('works with a small prime table and more hosts than fit', () => {
    const hosts = makeHosts(20);
    const lb = maglevFactory.create(hosts, { tableSize: 13 }, seededRandom(1));
    const seen = new Set(HASHES.map((hash) => lb.pick({ hash })?.key));
    assert.equal(seen.size, 13);
  });

  it('requires a prime table size up to 5000011', () => {
    const ok = maglevFactory.parseConfig({});
    assert.ok(ok.ok);
    assert.deepEqual(ok.config, DEFAULTS);
    const small = maglevFactory.parseConfig({ maglev_lb_config: { table_size: { value: 1009 } } });
    assert.ok(small.ok);
    assert.deepEqual(small.config, { tableSize: 1009 });
    for (const value of [65536, 5000012, 0]) {
      const bad = maglevFactory.parseConfig({
        name: 'c',
        maglev_lb_config: { table_size: { value } },
      });
      assert.ok(!bad.ok, `${value}`);
      assert.equal(bad.errors[0]!.field, 'maglev_lb_config.table_size');
    }
    assert.ok(isPrime(65537) && isPrime(5000011) && !isPrime(1) && !isPrime(65535));
  });
});
