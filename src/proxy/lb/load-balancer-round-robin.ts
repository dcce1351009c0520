/**
 * ROUND_ROBIN: hosts in turn. With equal weights a cursor walks the list; with unequal weights an
 * EDF schedule interleaves them smoothly (90:10 gives nine picks, one, nine, one…).
 * Both start at a random position so sidecars that load the same config do not all send their
 * first requests to the same host.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#weighted-round-robin
 */
import type { envoy } from '../../xds/index.js';
import { EdfScheduler } from './edf-scheduler.js';
import { type Host, sameWeights } from './host.js';
import {
  type LoadBalancer,
  type LoadBalancerFactory,
  NO_CONFIG,
  NO_HOSTS,
  type ParseResult,
  type Random,
} from './load-balancer.js';

/** Picks to skip at most when randomising a weighted schedule's starting point. */
const MAX_START_SKIP = 65536;

class RoundRobin implements LoadBalancer {
  private next: number;

  constructor(
    private readonly hosts: readonly Host[],
    random: Random,
  ) {
    this.next = Math.floor(random() * hosts.length);
  }

  pick(): Host | undefined {
    const i = this.next;
    this.next = i + 1 === this.hosts.length ? 0 : i + 1;
    return this.hosts[i];
  }
}

class WeightedRoundRobin implements LoadBalancer {
  private readonly weights: Float64Array;
  private readonly schedule: EdfScheduler;

  constructor(
    private readonly hosts: readonly Host[],
    random: Random,
  ) {
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.schedule = new EdfScheduler(this.weights);
    let total = 0;
    for (const w of this.weights) total += w;
    const skip = Math.floor(random() * Math.min(total, MAX_START_SKIP));
    for (let i = 0; i < skip; i++) this.pick();
  }

  pick(): Host | undefined {
    const i = this.schedule.peek();
    this.schedule.advance(this.weights[i]);
    return this.hosts[i];
  }
}

function warnings(cluster: envoy.Cluster): ParseResult<undefined> {
  if (cluster.round_robin_lb_config?.slow_start_config === undefined) return NO_CONFIG;
  return {
    ok: true,
    config: undefined,
    warnings: ['round_robin_lb_config.slow_start_config is not supported and is ignored'],
  };
}

export const roundRobinFactory: LoadBalancerFactory<undefined> = {
  policy: 'ROUND_ROBIN',
  consistentHashing: false,
  parseConfig: warnings,
  create(hosts: readonly Host[], _config: undefined, random: Random): LoadBalancer {
    if (hosts.length === 0) return NO_HOSTS;
    return sameWeights(hosts)
      ? new RoundRobin(hosts, random)
      : new WeightedRoundRobin(hosts, random);
  },
};
