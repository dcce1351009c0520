import assert from 'node:assert/strict';
import {
  type ClusterBalancer,
  createClusterBalancer,
  createDefaultRegistry,
  formatLbError,
  type Host,
  HostSet,
  hashKey,
  type LoadBalancerFactory,
  NO_HASH,
  NO_HOSTS,
  parseClusterLb,
  registeredPolicies,
  registerLoadBalancer,
} from '../../../src/proxy/lb/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { countPicks, type FakeLocality, makeCla, requestHashes, seededRandom } from './fakes.js';

/**
 * A Cluster whose lb_policy is any name or number: a registered plugin's name, or a number,
 * as the decoder leaves an enum value the protos do not name (the generated type lists names).
 */
const withPolicy = (lb_policy: string | number, name?: string): envoy.Cluster => ({
  ...(name ? { name } : {}),
  lb_policy: lb_policy as envoy.Cluster['lb_policy'],
});

const POLICIES = ['LEAST_REQUEST', 'MAGLEV', 'RANDOM', 'RING_HASH', 'ROUND_ROBIN'];

function hostSet(localities: readonly FakeLocality[]): HostSet {
  const set = new HostSet('svc');
  const result = set.update(makeCla(localities));
  assert.ok(result.ok);
  return set;
}

function build(cluster: envoy.Cluster, set: HostSet, seed = 1): ClusterBalancer {
  const result = createClusterBalancer({ name: 'svc', ...cluster }, set, seededRandom(seed));
  if (!result.ok) assert.fail(result.errors.map(formatLbError).join('\n'));
  return result.value;
}

function ips(n: number, from = 1, health?: 'HEALTHY' | 'UNHEALTHY'): FakeLocality['endpoints'] {
  return Array.from({ length: n }, (_, i) => ({ ip: `10.0.0.${from + i}`, health }));
}

/** Picks 10,000 times (hashed requests for hashing policies) and counts per host key. */
function spread(b: ClusterBalancer): Map<string | undefined, number> {
  const hashes = requestHashes(10_000, (s) => hashKey(s));
  return countPicks(b.balancer, 10_000, (i) => ({ hash: hashes[i] }));
}

function share(counts: Map<string | undefined, number>, keys: (k: string) => boolean): number {
  let n = 0;
  for (const [k, c] of counts) if (k !== undefined && keys(k)) n += c;
  return n / 10_000;
}

describe('lb: cluster balancer', () => {
  it('registers the five Envoy policies', () => {
    assert.deepEqual(createDefaultRegistry().policies(), POLICIES);
    for (const p of POLICIES) assert.ok(registeredPolicies().includes(p));
  });

  it('rejects an unknown lb_policy with an error naming it', () => {
    const set = hostSet([{ endpoints: ['10.0.0.1'] }]);
    for (const lb_policy of ['CLUSTER_PROVIDED', 6, 'WEIGHTED_FANCY']) {
      const result = createClusterBalancer(withPolicy(lb_policy, 'svc'), set, seededRandom(1));
      assert.ok(!result.ok);
      const [error] = result.errors;
      assert.equal(error!.code, 'FERRY_LB_UNKNOWN_POLICY');
      assert.equal(error!.field, 'lb_policy');
      const name = lb_policy === 6 ? 'CLUSTER_PROVIDED' : String(lb_policy);
      assert.equal(
        error!.message,
        `cluster "svc": lb_policy ${name} is not supported (supported: ${POLICIES.join(', ')})`,
      );
    }
  });

  it('collects every configuration error at once', () => {
    const result = parseClusterLb({
      lb_policy: 'RING_HASH',
      ring_hash_lb_config: { minimum_ring_size: { value: 0 } },
      common_lb_config: { healthy_panic_threshold: { value: 150 } },
    });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => e.field),
      ['common_lb_config.healthy_panic_threshold.value', 'ring_hash_lb_config.minimum_ring_size'],
    );
  });

  it('defaults to ROUND_ROBIN and a 50% panic threshold', () => {
    const plan = parseClusterLb({});
    assert.ok(plan.ok);
    assert.equal(plan.value.policy, 'ROUND_ROBIN');
    assert.equal(plan.value.panicThreshold, 50);
    const numeric = parseClusterLb(withPolicy(5));
    assert.ok(numeric.ok);
    assert.equal(numeric.value.policy, 'MAGLEV');
  });

  for (const policy of POLICIES) {
    it(`${policy}: skips unhealthy, draining and ejected hosts`, () => {
      const set = hostSet([
        {
          endpoints: [
            ...ips(7),
            { ip: '10.0.0.8', health: 'UNHEALTHY' },
            { ip: '10.0.0.9', health: 'DRAINING' },
            '10.0.0.10',
          ],
        },
      ]);
      set.get('10.0.0.10:80')!.ejected = true; // outlier detection, then a rebuild
      const b = build(withPolicy(policy), set);
      assert.deepEqual(b.priorityLoad.panic, [false]);
      const counts = spread(b);
      for (const bad of ['10.0.0.8:80', '10.0.0.9:80', '10.0.0.10:80']) {
        assert.equal(counts.get(bad), undefined, `${bad} was picked`);
      }
      assert.equal(counts.size, 7);
    });
  }

  it('fails over to P=1 when all of P=0 is unhealthy', () => {
    const set = hostSet([
      { endpoints: ips(2, 1, 'UNHEALTHY') },
      { priority: 1, endpoints: ips(2, 11) },
    ]);
    const b = build({}, set);
    assert.deepEqual(b.priorityLoad.load, [0, 100]);
    const counts = spread(b);
    assert.deepEqual([...counts.keys()].sort(), ['10.0.0.11:80', '10.0.0.12:80']);
  });

  for (const policy of ['ROUND_ROBIN', 'RING_HASH'] as const) {
    it(`${policy}: splits 70/30 when half of P=0 is healthy (overprovisioning 1.4)`, () => {
      const set = hostSet([
        { endpoints: [...ips(5, 1, 'HEALTHY'), ...ips(5, 6, 'UNHEALTHY')] },
        { priority: 1, endpoints: ips(5, 21) },
      ]);
      const b = build(withPolicy(policy), set);
      assert.deepEqual(b.priorityLoad.load, [70, 30]);
      const counts = spread(b);
      const p0 = share(counts, (k) => set.get(k)!.priority === 0);
      assert.ok(Math.abs(p0 - 0.7) < 0.02, `P=0 took ${p0}`);
      assert.ok(
        [...counts.keys()].every((k) => set.get(k!)!.healthy),
        'an unhealthy host was picked',
      );
    });
  }

  it('keeps a hashed request on one host across priorities', () => {
    const set = hostSet([
      { endpoints: [...ips(5, 1, 'HEALTHY'), ...ips(5, 6, 'UNHEALTHY')] },
      { priority: 1, endpoints: ips(5, 21) },
    ]);
    const b = build({ lb_policy: 'MAGLEV' }, set);
    for (const hash of requestHashes(100, (s) => hashKey(s))) {
      const first = b.balancer.pick({ hash });
      assert.equal(b.balancer.pick({ hash }), first);
      assert.equal(b.balancer.pick({ hash: BigInt(hash) }), first);
    }
  });

  it('panics below the threshold: balances over all hosts of the level', () => {
    const set = hostSet([{ endpoints: [...ips(3, 1, 'HEALTHY'), ...ips(7, 4, 'UNHEALTHY')] }]);
    const b = build({}, set);
    assert.deepEqual(b.priorityLoad.panic, [true]);
    const counts = spread(b);
    assert.equal(counts.size, 10);
    for (const n of counts.values()) assert.equal(n, 1000);
  });

  it('follows a configured panic threshold, and 0 disables panic', () => {
    const set = hostSet([{ endpoints: [...ips(3, 1, 'HEALTHY'), ...ips(7, 4, 'UNHEALTHY')] }]);
    const low = build({ common_lb_config: { healthy_panic_threshold: { value: 20 } } }, set);
    assert.deepEqual(low.priorityLoad.panic, [false]);
    assert.equal(spread(low).size, 3);

    const dead = hostSet([{ endpoints: ips(3, 1, 'UNHEALTHY') }]);
    const off = build({ common_lb_config: { healthy_panic_threshold: { value: 0 } } }, dead);
    assert.equal(off.balancer.pick(NO_HASH), undefined);
    const on = build({}, dead);
    assert.ok(on.balancer.pick(NO_HASH), 'panic mode routes to unhealthy hosts');
  });

  it('finds no host in an empty cluster', () => {
    const b = build({}, new HostSet('svc'));
    assert.equal(b.balancer.pick(NO_HASH), undefined);
  });

  it('applies locality weights when locality_weighted_lb_config is set', () => {
    const set = hostSet([
      { zone: 'a', weight: 1, endpoints: ips(2, 1) },
      { zone: 'b', weight: 3, endpoints: ips(2, 11) },
    ]);
    const inA = (k: string) => set.get(k)!.locality.zone === 'a';
    const weighted = { common_lb_config: { locality_weighted_lb_config: {} } };
    assert.ok(Math.abs(share(spread(build(weighted, set)), inA) - 0.25) < 0.01);
    // Without the option, hosts are balanced as one list.
    assert.ok(Math.abs(share(spread(build({}, set)), inA) - 0.5) < 0.01);

    // b at half health keeps 3 × min(1, 1.4 × 0.5) = 2.1 against a's 1.
    set.get('10.0.0.12:80')!.health = 'UNHEALTHY';
    assert.ok(Math.abs(share(spread(build(weighted, set)), inA) - 1 / 3.1) < 0.01);
  });

  it('does not apply locality weights to consistent hashing, and says so', () => {
    const plan = parseClusterLb({
      name: 'svc',
      lb_policy: 'RING_HASH',
      common_lb_config: { locality_weighted_lb_config: {} },
    });
    assert.ok(plan.ok);
    assert.equal(plan.value.localityWeighted, false);
    assert.deepEqual(plan.warnings, [
      'cluster "svc": locality_weighted_lb_config is not applied to RING_HASH',
    ]);
  });

  it('takes plugin policies from a registry', () => {
    const firstHost: LoadBalancerFactory<string> = {
      policy: 'FERRY_TEST_FIRST',
      consistentHashing: false,
      parseConfig: () => ({ ok: true, config: 'cfg', warnings: [] }),
      create: (hosts: readonly Host[], config: string) => {
        assert.equal(config, 'cfg');
        return hosts.length === 0 ? NO_HOSTS : { pick: () => hosts[0] };
      },
    };
    const registry = createDefaultRegistry();
    registry.register(firstHost);
    assert.deepEqual(registry.policies(), [...POLICIES, 'FERRY_TEST_FIRST'].sort());
    const set = hostSet([{ endpoints: ips(3) }]);
    const result = createClusterBalancer(withPolicy('FERRY_TEST_FIRST'), set, seededRandom(1), {
      registry,
    });
    assert.ok(result.ok);
    assert.equal(result.value.balancer.pick(NO_HASH)?.key, '10.0.0.1:80');

    assert.ok(!createClusterBalancer(withPolicy('FERRY_TEST_GLOBAL'), set, seededRandom(1)).ok);
    registerLoadBalancer({ ...firstHost, policy: 'FERRY_TEST_GLOBAL' });
    assert.ok(createClusterBalancer(withPolicy('FERRY_TEST_GLOBAL'), set, seededRandom(1)).ok);
  });
});
