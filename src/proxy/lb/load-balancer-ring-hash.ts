/**
 * RING_HASH (Ketama-style consistent hashing). Each host is placed on a ring of hashes at points
 * `hashKey("<key>_<i>")`, i = 0, 1, …, as many times as its share of the ring; a request goes to
 * the first point at or after its hash, wrapping around. Removing one of N hosts moves only the
 * keys that hashed to its points, about 1/N of them.
 *
 * Ring size: a host of weight w gets ⌈k × w⌉ entries, k the smallest power of two (a fraction
 * when the total weight is past the minimum: 2^-22 for one host of weight 2^32−1) that makes
 * the ring at least `minimum_ring_size` long (default 1024), so the ring holds 1× to 2× the
 * minimum, plus at most one entry per host, whatever the weights xDS sends (a
 * load_balancing_weight is any uint32). Like Envoy, the ring is sized by each host's share of
 * the total weight, not by the weights themselves; unlike Envoy, which grows the ring until the
 * lightest host's share gets its entries (up to `maximum_ring_size`), a host whose share is
 * under one entry keeps one, so skewed weights do not grow the ring. Rounding k to a power of
 * two keeps the other hosts' points unchanged when one joins or leaves (k changes only when the
 * total weight crosses a power of two), so a membership change moves ~1/N of the keys rather
 * than ~2/N. Past `maximum_ring_size` (default 8M, also the largest allowed; a smaller one is
 * honoured) k shrinks to fit, each host keeping at least one entry.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#ring-hash
 *
 * The ring is one sorted Float64Array: each point is a host hash with its low bits replaced by
 * the host's index, so a native numeric sort orders it and the index comes back out; a pick is a
 * binary search over it.
 */
import type { envoy } from '../../xds/index.js';
import { HASH_SPACE, hashKey, toHash53 } from './hash.js';
import type { Host } from './host.js';
import { type LbError, lbError } from './lb-error.js';
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

export const DEFAULT_MIN_RING_SIZE = 1024;
export const DEFAULT_MAX_RING_SIZE = 8 * 1024 * 1024;
/** Envoy rejects ring sizes above 8M. */
export const MAX_RING_SIZE = 8 * 1024 * 1024;

export interface RingHashConfig {
  readonly minRingSize: number;
  readonly maxRingSize: number;
}

/**
 * Ring entries of each host: ⌈k × weight⌉ for k the smallest power of two (possibly a fraction)
 * that makes the ring at least `minRingSize` long, or ⌊maxRingSize × weight / total⌋ when that
 * would pass `maxRingSize`; at least one each. The ring is at most
 * min(2 × minRingSize, maxRingSize) + hosts long.
 */
export function ringEntries(hosts: readonly Host[], config: RingHashConfig): number[] {
  let total = 0;
  for (const h of hosts) total += h.weight;
  if (!(total > 0)) return hosts.map(() => 1);
  // Long enough once k × total > minRingSize − 1: the hosts' ⌈k × w⌉ sum to at least
  // ⌈k × total⌉. (A power of two times an integer weight is exact in a double, so each
  // ceiling is too; the two corrections guard log2's rounding.)
  const enough = Math.max(config.minRingSize - 1, 0.5);
  let perWeight = 2 ** Math.ceil(Math.log2(enough / total));
  if (perWeight * total <= enough) perWeight *= 2;
  else if ((perWeight / 2) * total > enough) perWeight /= 2;
  if (perWeight * total > config.maxRingSize) {
    const max = config.maxRingSize;
    return hosts.map((h) => Math.max(1, Math.floor((max * h.weight) / total)));
  }
  return hosts.map((h) => Math.max(1, Math.ceil(perWeight * h.weight)));
}

export class RingHashBalancer implements LoadBalancer {
  private readonly hosts: readonly Host[];
  /** Sorted points; the low bits of a point (below a power of two >= hosts) are its host's index. */
  private readonly ring: Float64Array;
  /** `owner[i]` is the host index of `ring[i]`. */
  private readonly owner: Uint32Array;
  private readonly random: Random;

  constructor(hosts: readonly Host[], config: RingHashConfig, random: Random) {
    this.hosts = hosts;
    this.random = random;
    const unit = 2 ** Math.max(1, Math.ceil(Math.log2(hosts.length)));
    const counts = ringEntries(hosts, config);
    const points = new Float64Array(counts.reduce((a, b) => a + b, 0));
    let count = 0;
    for (let index = 0; index < hosts.length; index++) {
      const prefix = `${hosts[index].key}_`;
      for (let i = 0; i < counts[index]; i++) {
        points[count++] = Math.floor(hashKey(prefix + i) / unit) * unit + index;
      }
    }
    this.ring = points.sort();
    this.owner = new Uint32Array(count);
    for (let i = 0; i < count; i++) this.owner[i] = this.ring[i] % unit;
  }

  /** Entries on the ring (for tests and the admin page). */
  get size(): number {
    return this.ring.length;
  }

  pick(ctx: PickContext): Host | undefined {
    const h = ctx.hash === undefined ? Math.floor(this.random() * HASH_SPACE) : toHash53(ctx.hash);
    const ring = this.ring;
    // The first point >= h; past the last point, wrap to the first.
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.hosts[this.owner[lo === ring.length ? 0 : lo]];
  }
}

function sizeError(cluster: envoy.Cluster, field: string, message: string): LbError {
  return lbError(
    'FERRY_LB_INVALID_CONFIG',
    `ring_hash_lb_config.${field}`,
    `${clusterPrefix(cluster)}${message}`,
  );
}

function parseConfig(cluster: envoy.Cluster): ParseResult<RingHashConfig> {
  const rh = cluster.ring_hash_lb_config;
  const errors: LbError[] = [];
  const warnings: string[] = [];
  const minRingSize = wrappedUint(rh?.minimum_ring_size) ?? DEFAULT_MIN_RING_SIZE;
  const maxRingSize = wrappedUint(rh?.maximum_ring_size) ?? DEFAULT_MAX_RING_SIZE;
  for (const [field, value] of [
    ['minimum_ring_size', minRingSize],
    ['maximum_ring_size', maxRingSize],
  ] as const) {
    if (!(value >= 1 && value <= MAX_RING_SIZE)) {
      errors.push(sizeError(cluster, field, `${field} must be 1..${MAX_RING_SIZE}, got ${value}`));
    }
  }
  if (errors.length === 0 && minRingSize > maxRingSize) {
    errors.push(
      sizeError(
        cluster,
        'minimum_ring_size',
        `minimum_ring_size (${minRingSize}) > maximum_ring_size (${maxRingSize})`,
      ),
    );
  }
  const fn = rh?.hash_function;
  if (fn !== undefined && fn !== 'XX_HASH') {
    warnings.push(
      `ring_hash_lb_config.hash_function ${String(fn)} is not supported; Ferry's own hash is used`,
    );
  }
  if (cluster.common_lb_config?.consistent_hashing_lb_config !== undefined) {
    warnings.push('common_lb_config.consistent_hashing_lb_config is not supported and is ignored');
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: { minRingSize, maxRingSize }, warnings };
}

export const ringHashFactory: LoadBalancerFactory<RingHashConfig> = {
  policy: 'RING_HASH',
  consistentHashing: true,
  parseConfig,
  create(hosts: readonly Host[], config: RingHashConfig, random: Random): LoadBalancer {
    return hosts.length === 0 ? NO_HOSTS : new RingHashBalancer(hosts, config, random);
  },
};
