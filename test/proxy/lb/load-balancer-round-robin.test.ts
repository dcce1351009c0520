import assert from 'node:assert/strict';
import { NO_HASH } from '../../../src/proxy/lb/index.js';
import { roundRobinFactory } from '../../../src/proxy/lb/load-balancer-round-robin.js';
import { countPicks, makeHosts, scriptedRandom, seededRandom } from './fakes.js';

describe('lb: ROUND_ROBIN', () => {
  it('cycles through equal-weight hosts evenly, from a random start', () => {
    const hosts = makeHosts(3);
    const lb = roundRobinFactory.create(hosts, undefined, scriptedRandom([0.5]));
    const order = Array.from({ length: 6 }, () => lb.pick(NO_HASH)?.key);
    assert.deepEqual(
      order,
      [1, 2, 0, 1, 2, 0].map((i) => hosts[i]!.key),
    );

    const counts = countPicks(roundRobinFactory.create(hosts, undefined, seededRandom(1)), 9999);
    assert.deepEqual([...counts.values()], [3333, 3333, 3333]);
  });

  it('starts different sidecars at different hosts', () => {
    const hosts = makeHosts(10);
    const firsts = new Set<string | undefined>();
    for (let seed = 1; seed <= 20; seed++) {
      firsts.add(roundRobinFactory.create(hosts, undefined, seededRandom(seed)).pick(NO_HASH)?.key);
    }
    assert.ok(firsts.size >= 5, `only ${firsts.size} distinct first hosts`);
  });

  it('splits 90:10 weights 90/10 within 1% over 10,000 picks, interleaved', () => {
    const hosts = makeHosts(2, (i) => ({ weight: i === 0 ? 90 : 10 }));
    const lb = roundRobinFactory.create(hosts, undefined, seededRandom(7));
    const picks = Array.from({ length: 10_000 }, () => lb.pick(NO_HASH)!);
    const heavy = picks.filter((h) => h === hosts[0]).length;
    assert.ok(Math.abs(heavy / 10_000 - 0.9) <= 0.01, `heavy took ${heavy}`);
    let streak = 0;
    for (let i = 1; i < picks.length; i++) {
      if (picks[i] === hosts[1]) {
        assert.notEqual(picks[i - 1], hosts[1], `light host twice in a row at ${i}`);
        streak = 0;
      } else {
        streak++;
        assert.ok(streak <= 10, `heavy host ${streak} times in a row at ${i}`);
      }
    }
  });

  it('honours several weights', () => {
    const hosts = makeHosts(3, (i) => ({ weight: [5, 3, 2][i] }));
    const counts = countPicks(roundRobinFactory.create(hosts, undefined, seededRandom(3)), 10_000);
    assert.deepEqual(
      hosts.map((h) => counts.get(h.key)),
      [5000, 3000, 2000],
    );
  });

  it('is a snapshot: a weight changed after create waits for the next build', () => {
    const hosts = makeHosts(2);
    const lb = roundRobinFactory.create(hosts, undefined, seededRandom(1));
    hosts[0]!.weight = 100;
    const counts = countPicks(lb, 100);
    assert.deepEqual([...counts.values()], [50, 50]);
  });

  it('returns no host when there are none', () => {
    assert.equal(roundRobinFactory.create([], undefined, seededRandom(1)).pick(NO_HASH), undefined);
  });
});
