/**
 * MAGLEV: consistent hashing through a lookup table of prime size M (default 65537). Each host
 * has a permutation of the table's slots, `(offset + skip × j) mod M`, with offset and skip from
 * two independent hashes of its key; hosts take turns claiming their next free slot until the
 * table is full. A host of weight w takes turns in proportion to w / max weight, so weights are
 * honoured. A pick is one modulo and two array reads.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#maglev
 * https://research.google/pubs/maglev-a-fast-and-reliable-software-network-load-balancer/
 */
import type { envoy } from '../../xds/index.js';
import { HASH_SPACE, hashKey, toHash53 } from './hash.js';
import type { Host } from './host.js';
import { lbError } from './lb-error.js';
import {
  clusterPrefix,
  type LoadBalancer,
  type LoadBalancerFactory,
  NO_HOSTS,
  type ParseResult,
  type PickContext,
  type Random,
} from './load-balancer.js';
import { wrappedUint } from './wrapped-uint.js';

export const DEFAULT_TABLE_SIZE = 65537;
/** Envoy's upper bound for `maglev_lb_config.table_size`. */
export const MAX_TABLE_SIZE = 5000011;

export interface MaglevConfig {
  /** A prime. */
  readonly tableSize: number;
}

export function isPrime(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

const EMPTY = 0xffffffff;

export class MaglevBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  /** Host index per slot. */
  private readonly table: Uint32Array;
  private readonly random: Random;

  constructor(unordered: readonly Host[], config: MaglevConfig, random: Random) {
    // Hosts take turns in key order, so the table does not depend on the assignment's order.
    const hosts = [...unordered].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    this.hosts = hosts;
    this.random = random;
    const m = config.tableSize;
    const n = hosts.length;
    const offset = new Float64Array(n);
    const skip = new Float64Array(n);
    const next = new Float64Array(n);
    const taken = new Float64Array(n);
    const share = new Float64Array(n);
    let maxWeight = 0;
    for (const h of hosts) maxWeight = Math.max(maxWeight, h.weight);
    for (let i = 0; i < n; i++) {
      offset[i] = hashKey(hosts[i].key, 0) % m;
      skip[i] = (hashKey(hosts[i].key, 1) % (m - 1)) + 1;
      share[i] = hosts[i].weight / maxWeight;
    }
    const table = new Uint32Array(m).fill(EMPTY);
    let filled = 0;
    for (let round = 1; filled < m; round++) {
      for (let i = 0; i < n && filled < m; i++) {
        // A host claims a slot in this round while it is not ahead of its weighted share.
        if (taken[i] > round * share[i]) continue;
        taken[i]++;
        let slot = (offset[i] + skip[i] * next[i]) % m;
        while (table[slot] !== EMPTY) {
          next[i]++;
          slot = (offset[i] + skip[i] * next[i]) % m;
        }
        next[i]++;
        table[slot] = i;
        filled++;
      }
    }
    this.table = table;
  }

  pick(ctx: PickContext): Host | undefined {
    const h = ctx.hash === undefined ? Math.floor(this.random() * HASH_SPACE) : toHash53(ctx.hash);
    return this.hosts[this.table[h % this.table.length]];
  }
}

function parseConfig(cluster: envoy.Cluster): ParseResult<MaglevConfig> {
  const tableSize = wrappedUint(cluster.maglev_lb_config?.table_size) ?? DEFAULT_TABLE_SIZE;
  if (!(isPrime(tableSize) && tableSize <= MAX_TABLE_SIZE)) {
    return {
      ok: false,
      errors: [
        lbError(
          'FERRY_LB_INVALID_CONFIG',
          'maglev_lb_config.table_size',
          `${clusterPrefix(cluster)}table_size must be a prime <= ${MAX_TABLE_SIZE}, got ${String(cluster.maglev_lb_config?.table_size?.value)}`,
        ),
      ],
    };
  }
  const warnings =
    cluster.common_lb_config?.consistent_hashing_lb_config === undefined
      ? []
      : ['common_lb_config.consistent_hashing_lb_config is not supported and is ignored'];
  return { ok: true, config: { tableSize }, warnings };
}

export const maglevFactory: LoadBalancerFactory<MaglevConfig> = {
  policy: 'MAGLEV',
  consistentHashing: true,
  parseConfig,
  create(hosts: readonly Host[], config: MaglevConfig, random: Random): LoadBalancer {
    return hosts.length === 0 ? NO_HOSTS : new MaglevBalancer(hosts, config, random);
  },
};
