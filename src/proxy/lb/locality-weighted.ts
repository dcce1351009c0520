/**
 * Locality weighted load balancing (`common_lb_config.locality_weighted_lb_config`): within one
 * priority, a locality is chosen first — EDF over effective weights, so localities interleave —
 * then the cluster's policy picks among that locality's healthy hosts.
 *
 * Effective weight = locality weight × min(1, overprovisioning factor × healthy / hosts), as in
 * Envoy; a locality without a weight, or without a healthy host, gets nothing.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/locality_weight
 */
import { EdfScheduler } from './edf-scheduler.js';
import type { Host } from './host.js';
import type { LocalityHosts } from './host-set.js';
import type { LoadBalancer, PickContext } from './load-balancer.js';

export class LocalityWeightedBalancer implements LoadBalancer {
  private readonly schedule: EdfScheduler;

  constructor(
    private readonly localities: readonly LoadBalancer[],
    private readonly weights: Float64Array,
  ) {
    this.schedule = new EdfScheduler(weights);
  }

  pick(ctx: PickContext): Host | undefined {
    const i = this.schedule.peek();
    this.schedule.advance(this.weights[i]);
    return this.localities[i].pick(ctx);
  }
}

export interface WeightedLocality {
  readonly hosts: readonly Host[];
  readonly weight: number;
}

/** The localities that take traffic, with their effective weights; healthy hosts only. */
export function effectiveLocalities(
  localities: readonly LocalityHosts[],
  overprovisioningFactor: number,
): WeightedLocality[] {
  const out: WeightedLocality[] = [];
  for (const l of localities) {
    if (l.weight <= 0 || l.hosts.length === 0) continue;
    const healthy = l.hosts.filter((h) => h.healthy);
    if (healthy.length === 0) continue;
    const availability = Math.min(
      1,
      (overprovisioningFactor / 100) * (healthy.length / l.hosts.length),
    );
    out.push({ hosts: healthy, weight: l.weight * availability });
  }
  return out;
}
