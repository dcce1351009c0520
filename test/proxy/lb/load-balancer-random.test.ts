import assert from 'node:assert/strict';
import { NO_HASH } from '../../../src/proxy/lb/index.js';
import { randomFactory } from '../../../src/proxy/lb/load-balancer-random.js';
import { countPicks, makeHosts, scriptedRandom, seededRandom } from './fakes.js';

describe('lb: RANDOM', () => {
  it('spreads picks evenly over equal hosts', () => {
    const hosts = makeHosts(4);
    const counts = countPicks(randomFactory.create(hosts, undefined, seededRandom(11)), 10_000);
    for (const h of hosts) {
      const n = counts.get(h.key)!;
      assert.ok(n > 2300 && n < 2700, `${h.key} took ${n}`);
    }
  });

  it('honours unequal weights', () => {
    const hosts = makeHosts(2, (i) => ({ weight: i === 0 ? 90 : 10 }));
    const counts = countPicks(randomFactory.create(hosts, undefined, seededRandom(12)), 10_000);
    const heavy = counts.get(hosts[0]!.key)!;
    assert.ok(Math.abs(heavy / 10_000 - 0.9) < 0.01, `heavy took ${heavy}`);
  });

  it('maps the draw onto cumulative weights, edges included', () => {
    const hosts = makeHosts(3, (i) => ({ weight: [1, 2, 1][i] }));
    const draws = [0, 0.2499, 0.25, 0.7499, 0.75, 0.9999];
    const lb = randomFactory.create(hosts, undefined, scriptedRandom(draws));
    const picked = draws.map(() => hosts.indexOf(lb.pick(NO_HASH)!));
    assert.deepEqual(picked, [0, 0, 1, 1, 2, 2]);
  });

  it('returns no host when there are none', () => {
    assert.equal(randomFactory.create([], undefined, seededRandom(1)).pick(NO_HASH), undefined);
  });
});
