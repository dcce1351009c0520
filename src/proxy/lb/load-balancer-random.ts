/**
 * RANDOM: a host drawn at random. Unlike Envoy, which ignores weights here, unequal weights are
 * honoured (a draw over cumulative weights, binary search), so weights set in the mesh file mean
 * the same under every policy; with equal weights the two agree.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#random
 */
import { type Host, sameWeights } from './host.js';
import {
  type LoadBalancer,
  type LoadBalancerFactory,
  NO_CONFIG,
  NO_HOSTS,
  type Random,
} from './load-balancer.js';

class UniformRandom implements LoadBalancer {
  constructor(
    private readonly hosts: readonly Host[],
    private readonly random: Random,
  ) {}

  pick(): Host | undefined {
    return this.hosts[Math.floor(this.random() * this.hosts.length)];
  }
}

class WeightedRandom implements LoadBalancer {
  /** `cumulative[i]` is the sum of the weights of hosts 0..i. */
  private readonly cumulative: Float64Array;

  constructor(
    private readonly hosts: readonly Host[],
    private readonly random: Random,
  ) {
    this.cumulative = new Float64Array(hosts.length);
    let sum = 0;
    for (let i = 0; i < hosts.length; i++) {
      sum += hosts[i].weight;
      this.cumulative[i] = sum;
    }
  }

  pick(): Host | undefined {
    const c = this.cumulative;
    const x = this.random() * c[c.length - 1];
    // The first host whose cumulative weight exceeds x.
    let lo = 0;
    let hi = c.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (c[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return this.hosts[lo];
  }
}

export const randomFactory: LoadBalancerFactory<undefined> = {
  policy: 'RANDOM',
  consistentHashing: false,
  parseConfig: () => NO_CONFIG,
  create(hosts: readonly Host[], _config: undefined, random: Random): LoadBalancer {
    if (hosts.length === 0) return NO_HOSTS;
    return sameWeights(hosts)
      ? new UniformRandom(hosts, random)
      : new WeightedRandom(hosts, random);
  },
};
