/**
 * The primary's GET /clusters: every worker's clusters as one view, as if one process held
 * them (the way sum-metrics.ts sums /stats/prometheus). Clusters are matched by name and hosts
 * by address, in the order the workers list them. How each field combines:
 * - configuration (a cluster's policy and protocol; a host's weight, priority and zone):
 *   the first worker's, as every worker runs the configuration the primary sent;
 * - counters and what is in flight (rq_total, rq_error, rq_active; the circuit breakers'
 *   active_* and *_overflows): summed;
 * - circuit breaker thresholds: the first worker's (each worker enforces them on its own);
 * - health: each worker checks and ejects on its own, so `healthy` holds only when it holds
 *   in every worker that has the host (its `health` then the first worker's whose does
 *   not), `ejected` and `failedHealthCheck` when they hold in any worker, and `workers`
 *   says in how many of how many workers the host is not healthy, ejected or failing.
 */
import type { ClusterView, HostView } from '../admin/index.js';

/** The circuit breaker fields that count (summed); every other field is a threshold. */
const BREAKER_COUNTS = [
  'active_requests',
  'active_retries',
  'request_overflows',
  'retry_overflows',
  'active_connections',
  'connection_overflows',
] as const;

type Breakers = Record<string, unknown>;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface HostSum {
  /** The first worker's view of the host, with the others' added in. */
  readonly view: Mutable<HostView>;
  of: number;
  unhealthy: number;
}

interface ClusterSum {
  first: ClusterView;
  breakers: Breakers;
  hosts: Map<string, HostSum>;
}

function unhealthyIn(h: HostView): boolean {
  return !h.healthy || h.ejected || h.failedHealthCheck === true;
}

function addHost(sums: Map<string, HostSum>, h: HostView): void {
  const sum = sums.get(h.address);
  if (!sum) {
    const view = { ...h, failedHealthCheck: h.failedHealthCheck === true };
    sums.set(h.address, { view, of: 1, unhealthy: unhealthyIn(h) ? 1 : 0 });
    return;
  }
  const v = sum.view;
  v.active += h.active;
  v.rqTotal += h.rqTotal;
  v.rqError += h.rqError;
  v.ejected ||= h.ejected;
  v.failedHealthCheck ||= h.failedHealthCheck === true;
  sum.of++;
  if (unhealthyIn(h)) sum.unhealthy++;
  if (v.healthy && !h.healthy) {
    // The first worker that has it unhealthy names how.
    v.healthy = false;
    v.health = h.health;
  }
}

function addBreakers(into: Breakers, from: object): void {
  const b = from as Breakers;
  for (const k of BREAKER_COUNTS)
    if (typeof b[k] === 'number') into[k] = Number(into[k] ?? 0) + (b[k] as number);
}

/** Every worker's clusters (one list per worker) as one list. */
export function sumClusters(perWorker: ReadonlyArray<readonly ClusterView[]>): ClusterView[] {
  const clusters = new Map<string, ClusterSum>();
  for (const list of perWorker) {
    for (const c of list) {
      let sum = clusters.get(c.name);
      if (!sum) {
        const breakers: Breakers = { ...(c.circuit_breakers as Breakers) };
        for (const k of BREAKER_COUNTS) if (typeof breakers[k] === 'number') breakers[k] = 0;
        sum = { first: c, breakers, hosts: new Map() };
        clusters.set(c.name, sum);
      }
      addBreakers(sum.breakers, c.circuit_breakers);
      for (const h of c.hosts) addHost(sum.hosts, h);
    }
  }
  return [...clusters.values()].map(({ first, breakers, hosts }) => ({
    name: first.name,
    policy: first.policy,
    protocol: first.protocol,
    circuit_breakers: breakers,
    hosts: [...hosts.values()].map((h) => ({
      ...h.view,
      workers: { of: h.of, unhealthy: h.unhealthy },
    })),
  }));
}
