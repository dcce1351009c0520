/** Fakes for load-balancer tests: seeded randomness, hosts, assignments, pick counting. */
import {
  Host,
  type HostHealth,
  type HostInit,
  type LoadBalancer,
  type PickContext,
  type Random,
} from '../../../src/proxy/lb/index.js';
import type { envoy } from '../../../src/xds/index.js';

/** Marsaglia's xorshift32, scrambled on output: deterministic per seed, good enough for tests. */
export function seededRandom(seed: number): Random {
  let state = seed | 0 || 0x2545f491;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    const out = Math.imul(state ^ (state >>> 16), 0x45d9f3b);
    return ((out ^ (out >>> 16)) >>> 0) / 4294967296;
  };
}

/** A Random that always returns the given values in turn (then repeats them). */
export function scriptedRandom(values: readonly number[]): Random {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** Hosts 10.0.0.1:8080, 10.0.0.2:8080, … */
export function makeHosts(n: number, init: (i: number) => HostInit = () => ({})): Host[] {
  return Array.from({ length: n }, (_, i) => new Host(`10.0.0.${i + 1}`, 8080, init(i)));
}

/** Picks `n` times and counts picks per host key (`undefined` for no host). */
export function countPicks(
  lb: LoadBalancer,
  n: number,
  ctx: (i: number) => PickContext = () => ({}),
): Map<string | undefined, number> {
  const counts = new Map<string | undefined, number>();
  for (let i = 0; i < n; i++) {
    const key = lb.pick(ctx(i))?.key;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

export interface FakeEndpoint {
  readonly ip: string;
  readonly port?: number;
  readonly health?: HostHealth;
  readonly weight?: number;
}

export interface FakeLocality {
  readonly priority?: number;
  readonly zone?: string;
  readonly weight?: number;
  readonly endpoints: readonly (string | FakeEndpoint)[];
}

/** A ClusterLoadAssignment in the decoded-object form. */
export function makeCla(
  localities: readonly FakeLocality[],
  name = 'svc',
): envoy.ClusterLoadAssignment {
  return {
    cluster_name: name,
    endpoints: localities.map((l) => ({
      locality: { region: 'r1', zone: l.zone ?? 'z1' },
      ...(l.priority !== undefined ? { priority: l.priority } : {}),
      ...(l.weight !== undefined ? { load_balancing_weight: { value: l.weight } } : {}),
      lb_endpoints: l.endpoints.map((e) => {
        const ep = typeof e === 'string' ? { ip: e } : e;
        return {
          endpoint: { address: { socket_address: { address: ep.ip, port_value: ep.port ?? 80 } } },
          ...(ep.health !== undefined ? { health_status: ep.health } : {}),
          ...(ep.weight !== undefined ? { load_balancing_weight: { value: ep.weight } } : {}),
        };
      }),
    })),
  };
}

/** `count` request hashes, as the data path would compute them from distinct keys. */
export function requestHashes(count: number, hash: (s: string) => number): number[] {
  return Array.from({ length: count }, (_, i) => hash(`request-${i}`));
}
