import assert from 'node:assert/strict';
import { NO_HASH } from '../../../src/proxy/lb/index.js';
import {
  type LeastRequestConfig,
  leastRequestFactory,
} from '../../../src/proxy/lb/load-balancer-least-request.js';
import { countPicks, makeHosts, seededRandom } from './fakes.js';

const P2C: LeastRequestConfig = { choiceCount: 2, activeRequestBias: 1 };

describe('lb: LEAST_REQUEST', () => {
  it('prefers the idle host (power of two choices)', () => {
    const hosts = makeHosts(5);
    for (const h of hosts.slice(1)) h.active = 10;
    const counts = countPicks(leastRequestFactory.create(hosts, P2C, seededRandom(1)), 10_000);
    // The idle host wins whenever it is one of the two samples: 1 - (4/5)^2 = 36%.
    const idle = counts.get(hosts[0]!.key)!;
    assert.ok(idle > 3300 && idle < 3900, `idle host took ${idle}`);
  });

  it('samples choice_count hosts', () => {
    const hosts = makeHosts(5);
    for (const h of hosts.slice(1)) h.active = 10;
    const config = { choiceCount: 5, activeRequestBias: 1 };
    const counts = countPicks(leastRequestFactory.create(hosts, config, seededRandom(2)), 10_000);
    // 1 - (4/5)^5 = 67%.
    const idle = counts.get(hosts[0]!.key)!;
    assert.ok(idle > 6400 && idle < 7000, `idle host took ${idle}`);
  });

  it('spreads evenly when loads are equal', () => {
    const hosts = makeHosts(4);
    const counts = countPicks(leastRequestFactory.create(hosts, P2C, seededRandom(3)), 10_000);
    for (const h of hosts) {
      const n = counts.get(h.key)!;
      assert.ok(n > 2300 && n < 2700, `${h.key} took ${n}`);
    }
  });

  it('steers away from a host whose requests pile up', () => {
    const hosts = makeHosts(4);
    const slow = hosts[3]!;
    const lb = leastRequestFactory.create(hosts, P2C, seededRandom(4));
    let slowPicks = 0;
    for (let i = 0; i < 10_000; i++) {
      const h = lb.pick(NO_HASH)!;
      h.active++;
      if (h === slow) slowPicks++;
      else h.active--; // the fast hosts answer at once
    }
    // The slow host only wins when it is both samples: ~1/16.
    assert.ok(slowPicks < 900, `slow host took ${slowPicks}`);
  });

  it('with unequal weights, schedules by weight / (active + 1)', () => {
    const hosts = makeHosts(2, (i) => ({ weight: i === 0 ? 1 : 3 }));
    let counts = countPicks(leastRequestFactory.create(hosts, P2C, seededRandom(5)), 10_000);
    assert.ok(Math.abs(counts.get(hosts[1]!.key)! - 7500) <= 10, `${[...counts]}`);

    hosts[1]!.active = 5; // effective weight 3 / 6 = 0.5 against 1
    counts = countPicks(leastRequestFactory.create(hosts, P2C, seededRandom(5)), 9000);
    assert.ok(Math.abs(counts.get(hosts[0]!.key)! - 6000) <= 10, `${[...counts]}`);

    const noBias = { choiceCount: 2, activeRequestBias: 0 };
    counts = countPicks(leastRequestFactory.create(hosts, noBias, seededRandom(5)), 10_000);
    assert.ok(Math.abs(counts.get(hosts[1]!.key)! - 7500) <= 10, `${[...counts]}`);
  });

  it('reads choice_count and active_request_bias, and rejects bad values', () => {
    const ok = leastRequestFactory.parseConfig({ name: 'c' });
    assert.ok(ok.ok);
    assert.deepEqual(ok.config, { choiceCount: 2, activeRequestBias: 1 });

    const set = leastRequestFactory.parseConfig({
      least_request_lb_config: {
        choice_count: { value: 3 },
        active_request_bias: { default_value: 0.5 },
      },
    });
    assert.ok(set.ok);
    assert.deepEqual(set.config, { choiceCount: 3, activeRequestBias: 0.5 });

    const bad = leastRequestFactory.parseConfig({
      name: 'c',
      least_request_lb_config: {
        choice_count: { value: 1 },
        active_request_bias: { default_value: -1 },
      },
    });
    assert.ok(!bad.ok);
    assert.deepEqual(
      bad.errors.map((e) => e.field),
      [
        'least_request_lb_config.choice_count',
        'least_request_lb_config.active_request_bias.default_value',
      ],
    );
    assert.match(bad.errors[0]!.message, /^cluster "c": choice_count must be an integer >= 2/);
  });
});
