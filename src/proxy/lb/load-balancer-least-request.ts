/**
 * LEAST_REQUEST. With equal weights: power of `choice_count` choices (default 2) — sample that
 * many hosts at random (with replacement) and take the one with the fewest requests in flight,
 * the first sampled on a tie. With unequal weights: an EDF schedule whose host weight is
 * recomputed at each pick as `weight / (active + 1) ^ active_request_bias` (bias default 1.0),
 * as Envoy does.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/load_balancers#weighted-least-request
 */
import type { envoy } from '../../xds/index.js';
import { EdfScheduler } from './edf-scheduler.js';
import { type Host, sameWeights } from './host.js';
import { type LbError, lbError } from './lb-error.js';
import {
  clusterPrefix,
  type LoadBalancer,
  type LoadBalancerFactory,
  NO_HOSTS,
  type ParseResult,
  type Random,
} from './load-balancer.js';
import { wrappedUint } from './wrapped-uint.js';

export interface LeastRequestConfig {
  /** Hosts sampled per pick, >= 2. */
  readonly choiceCount: number;
  /** Exponent of (active + 1) in the weighted form, >= 0. */
  readonly activeRequestBias: number;
}

export const DEFAULT_CHOICE_COUNT = 2;
export const DEFAULT_ACTIVE_REQUEST_BIAS = 1;

class PowerOfChoices implements LoadBalancer {
  constructor(
    private readonly hosts: readonly Host[],
    private readonly choices: number,
    private readonly random: Random,
  ) {}

  pick(): Host | undefined {
    const hosts = this.hosts;
    const n = hosts.length;
    let best = hosts[Math.floor(this.random() * n)];
    for (let c = 1; c < this.choices; c++) {
      const candidate = hosts[Math.floor(this.random() * n)];
      if (candidate.active < best.active) best = candidate;
    }
    return best;
  }
}

class WeightedLeastRequest implements LoadBalancer {
  private readonly weights: Float64Array;
  private readonly schedule: EdfScheduler;

  constructor(
    private readonly hosts: readonly Host[],
    private readonly bias: number,
  ) {
    this.weights = Float64Array.from(hosts, (h) => h.weight);
    this.schedule = new EdfScheduler(hosts.map((_, i) => this.effectiveWeight(i)));
  }

  private effectiveWeight(i: number): number {
    const load = this.hosts[i].active + 1;
    const bias = this.bias;
    if (bias === 1) return this.weights[i] / load;
    return bias === 0 ? this.weights[i] : this.weights[i] / load ** bias;
  }

  pick(): Host | undefined {
    const i = this.schedule.peek();
    this.schedule.advance(this.effectiveWeight(i));
    return this.hosts[i];
  }
}

function parseConfig(cluster: envoy.Cluster): ParseResult<LeastRequestConfig> {
  const lr = cluster.least_request_lb_config;
  const errors: LbError[] = [];
  const warnings: string[] = [];
  const choiceCount = wrappedUint(lr?.choice_count) ?? DEFAULT_CHOICE_COUNT;
  if (!(choiceCount >= 2)) {
    errors.push(
      lbError(
        'FERRY_LB_INVALID_CONFIG',
        'least_request_lb_config.choice_count',
        `${clusterPrefix(cluster)}choice_count must be an integer >= 2, got ${String(lr?.choice_count?.value)}`,
      ),
    );
  }
  // A double: the codec renders NaN and the infinities as strings, which this refuses.
  const bias = Number(lr?.active_request_bias?.default_value ?? DEFAULT_ACTIVE_REQUEST_BIAS);
  if (!(bias >= 0 && Number.isFinite(bias))) {
    errors.push(
      lbError(
        'FERRY_LB_INVALID_CONFIG',
        'least_request_lb_config.active_request_bias.default_value',
        `${clusterPrefix(cluster)}active_request_bias must be a finite number >= 0, got ${String(bias)}`,
      ),
    );
  }
  if (lr?.slow_start_config !== undefined) {
    warnings.push('least_request_lb_config.slow_start_config is not supported and is ignored');
  }
  if (errors.length > 0) return { ok: false, errors };
  return { ok: true, config: { choiceCount, activeRequestBias: bias }, warnings };
}

export const leastRequestFactory: LoadBalancerFactory<LeastRequestConfig> = {
  policy: 'LEAST_REQUEST',
  consistentHashing: false,
  parseConfig,
  create(hosts: readonly Host[], config: LeastRequestConfig, random: Random): LoadBalancer {
    if (hosts.length === 0) return NO_HOSTS;
    return sameWeights(hosts)
      ? new PowerOfChoices(hosts, config.choiceCount, random)
      : new WeightedLeastRequest(hosts, config.activeRequestBias);
  },
};
