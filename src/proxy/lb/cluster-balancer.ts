/**
 * A cluster's balancer: priority levels, panic mode and (optionally) locality weights around the
 * cluster's policy.
 *
 * Two steps, as grpc-js parses a config before it builds a balancer:
 * - `parseClusterLb` (at CDS time) resolves `lb_policy` in the registry and validates the
 *   settings, so an unsupported or invalid cluster can be NACKed before any endpoint arrives;
 * - `buildClusterBalancer` (at every EDS update, and whenever a host's health or `ejected`
 *   changes) snapshots the hosts into balancers. It cannot fail.
 * `createClusterBalancer` does both.
 *
 * A pick first chooses a priority level by its share of the load (by the request hash for
 * consistent-hashing policies, as Envoy does, otherwise at random), then asks that level's
 * balancer. A cluster whose load sits on one level gets that level's balancer directly.
 */
import type { envoy } from '../../xds/index.js';
import { defaultRegistry } from './default-registry.js';
import { toHash53 } from './hash.js';
import type { Host } from './host.js';
import type { HostSetView, PriorityHosts } from './host-set.js';
import { type LbError, type LbResult, lbError } from './lb-error.js';
import {
  clusterPrefix,
  type LoadBalancer,
  type LoadBalancerFactory,
  type LoadBalancerRegistry,
  NO_HOSTS,
  type PickContext,
  type Random,
} from './load-balancer.js';
import { effectiveLocalities, LocalityWeightedBalancer } from './locality-weighted.js';
import {
  computePriorityLoad,
  DEFAULT_PANIC_THRESHOLD,
  type PriorityLoad,
} from './priority-load.js';

/** `Cluster.LbPolicy` numbers, for decoders that keep enums numeric. */
const LB_POLICY_NAMES: Readonly<Record<number, string>> = {
  0: 'ROUND_ROBIN',
  1: 'LEAST_REQUEST',
  2: 'RING_HASH',
  3: 'RANDOM',
  4: 'ORIGINAL_DST_LB',
  5: 'MAGLEV',
  6: 'CLUSTER_PROVIDED',
  7: 'LOAD_BALANCING_POLICY_CONFIG',
};

/** A validated cluster load-balancing configuration. */
export interface ClusterLbPlan {
  readonly cluster: string;
  readonly policy: string;
  readonly factory: LoadBalancerFactory;
  /** The factory's parsed settings. */
  readonly policyConfig: unknown;
  /** Percent, 0..100; 0 disables panic mode. */
  readonly panicThreshold: number;
  /** `locality_weighted_lb_config` is set and the policy is not a consistent-hashing one. */
  readonly localityWeighted: boolean;
}

/** A built balancer and the state it was built from (for the admin page and stats). */
export interface ClusterBalancer {
  readonly balancer: LoadBalancer;
  readonly policy: string;
  readonly priorityLoad: PriorityLoad;
}

export interface ClusterLbOptions {
  /** Defaults to the process-wide registry with the built-in policies and plugins. */
  readonly registry?: LoadBalancerRegistry;
}

/** The policy name of `lb_policy` (absent means ROUND_ROBIN, the proto default). */
export function lbPolicyName(cluster: envoy.Cluster): string {
  const p = cluster.lb_policy;
  if (p === undefined || p === null) return 'ROUND_ROBIN';
  return typeof p === 'number' ? (LB_POLICY_NAMES[p] ?? `LbPolicy(${p})`) : String(p);
}

export function parseClusterLb(
  cluster: envoy.Cluster,
  options: ClusterLbOptions = {},
): LbResult<ClusterLbPlan> {
  const registry = options.registry ?? defaultRegistry;
  const prefix = clusterPrefix(cluster);
  const errors: LbError[] = [];
  const warnings: string[] = [];

  const policy = lbPolicyName(cluster);
  const factory = registry.get(policy);
  if (factory === undefined) {
    errors.push(
      lbError(
        'FERRY_LB_UNKNOWN_POLICY',
        'lb_policy',
        `${prefix}lb_policy ${policy} is not supported (supported: ${registry.policies().join(', ')})`,
      ),
    );
  }

  const common = cluster.common_lb_config;
  const threshold = common?.healthy_panic_threshold;
  // Like Envoy, a threshold message without a value means 0, and the percent is rounded.
  const panicThreshold =
    threshold === undefined ? DEFAULT_PANIC_THRESHOLD : Math.round(Number(threshold.value ?? 0));
  if (!(panicThreshold >= 0 && panicThreshold <= 100)) {
    errors.push(
      lbError(
        'FERRY_LB_INVALID_CONFIG',
        'common_lb_config.healthy_panic_threshold.value',
        `${prefix}healthy_panic_threshold must be a percent 0..100, got ${String(threshold?.value)}`,
      ),
    );
  }

  let policyConfig: unknown;
  if (factory !== undefined) {
    const parsed = factory.parseConfig(cluster);
    if (parsed.ok) {
      policyConfig = parsed.config;
      for (const w of parsed.warnings) warnings.push(`${prefix}${w}`);
    } else {
      errors.push(...parsed.errors);
    }
  }
  if (errors.length > 0) return { ok: false, errors };

  let localityWeighted = common?.locality_weighted_lb_config !== undefined;
  if (localityWeighted && factory!.consistentHashing) {
    warnings.push(`${prefix}locality_weighted_lb_config is not applied to ${policy}`);
    localityWeighted = false;
  }
  if (common?.zone_aware_lb_config !== undefined) {
    warnings.push(`${prefix}zone_aware_lb_config is not supported and is ignored`);
  }
  if (cluster.load_balancing_policy !== undefined) {
    warnings.push(`${prefix}load_balancing_policy is not supported; lb_policy ${policy} is used`);
  }
  return {
    ok: true,
    value: {
      cluster: cluster.name ?? '',
      policy,
      factory: factory!,
      policyConfig,
      panicThreshold,
      localityWeighted,
    },
    warnings,
  };
}

/** Chooses a priority level, then defers to its balancer. */
class PriorityBalancer implements LoadBalancer {
  constructor(
    /** Cumulative load per level, ending at 100. */
    private readonly bounds: Int32Array,
    private readonly levels: readonly LoadBalancer[],
    private readonly random: Random,
    private readonly byHash: boolean,
  ) {}

  pick(ctx: PickContext): Host | undefined {
    const hash = ctx.hash;
    const r =
      this.byHash && hash !== undefined ? toHash53(hash) % 100 : Math.floor(this.random() * 100);
    const bounds = this.bounds;
    const last = bounds.length - 1;
    let i = 0;
    while (i < last && r >= bounds[i]) i++;
    return this.levels[i].pick(ctx);
  }
}

function levelBalancer(
  plan: ClusterLbPlan,
  level: PriorityHosts,
  panic: boolean,
  overprovisioningFactor: number,
  random: Random,
): LoadBalancer {
  const { factory, policyConfig } = plan;
  // In panic every host of the level takes traffic, and locality weights are not applied.
  if (panic) return factory.create(level.hosts, policyConfig, random);
  if (plan.localityWeighted) {
    const localities = effectiveLocalities(level.localities, overprovisioningFactor);
    if (localities.length === 1) return factory.create(localities[0].hosts, policyConfig, random);
    if (localities.length > 1) {
      return new LocalityWeightedBalancer(
        localities.map((l) => factory.create(l.hosts, policyConfig, random)),
        Float64Array.from(localities, (l) => l.weight),
      );
    }
    // No locality has a weight and a healthy host: balance over the level as a whole.
  }
  return factory.create(
    level.hosts.filter((h) => h.healthy),
    policyConfig,
    random,
  );
}

/**
 * Snapshots `hosts` (their health, `ejected`, weights and priorities) into a balancer. Rebuild
 * after every HostSet update and whenever health or `ejected` of a host changes.
 */
export function buildClusterBalancer(
  plan: ClusterLbPlan,
  hosts: HostSetView,
  random: Random,
): ClusterBalancer {
  const levels = hosts.priorities;
  const counts = levels.map((l) => {
    let healthy = 0;
    for (const h of l.hosts) if (h.healthy) healthy++;
    return { healthy, total: l.hosts.length };
  });
  const priorityLoad = computePriorityLoad(
    counts,
    hosts.overprovisioningFactor,
    plan.panicThreshold,
  );
  const { load, panic } = priorityLoad;
  const balancers = load.map((share, i) =>
    share > 0 && levels[i] !== undefined
      ? levelBalancer(plan, levels[i], panic[i], hosts.overprovisioningFactor, random)
      : NO_HOSTS,
  );
  const only = load.indexOf(100);
  let balancer: LoadBalancer;
  if (only >= 0) {
    balancer = balancers[only];
  } else {
    const bounds = new Int32Array(load.length);
    let sum = 0;
    load.forEach((share, i) => {
      sum += share;
      bounds[i] = sum;
    });
    balancer = new PriorityBalancer(bounds, balancers, random, plan.factory.consistentHashing);
  }
  return { balancer, policy: plan.policy, priorityLoad };
}

/** `parseClusterLb` then `buildClusterBalancer`. */
export function createClusterBalancer(
  cluster: envoy.Cluster,
  hosts: HostSetView,
  random: Random,
  options: ClusterLbOptions = {},
): LbResult<ClusterBalancer> {
  const plan = parseClusterLb(cluster, options);
  if (!plan.ok) return plan;
  return {
    ok: true,
    value: buildClusterBalancer(plan.value, hosts, random),
    warnings: plan.warnings,
  };
}
