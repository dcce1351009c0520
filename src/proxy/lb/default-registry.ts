/**
 * The one place that wires the built-in policies, and the process-wide registry plugins add to.
 * Tests and embedders that want isolation build their own with `createDefaultRegistry()`.
 */
import { type LoadBalancerFactory, LoadBalancerRegistry } from './load-balancer.js';
import { leastRequestFactory } from './load-balancer-least-request.js';
import { maglevFactory } from './load-balancer-maglev.js';
import { randomFactory } from './load-balancer-random.js';
import { ringHashFactory } from './load-balancer-ring-hash.js';
import { roundRobinFactory } from './load-balancer-round-robin.js';

export const BUILT_IN_POLICIES: readonly LoadBalancerFactory[] = [
  roundRobinFactory,
  leastRequestFactory,
  ringHashFactory,
  maglevFactory,
  randomFactory,
];

/** A registry holding the five built-in policies. */
export function createDefaultRegistry(): LoadBalancerRegistry {
  return new LoadBalancerRegistry(BUILT_IN_POLICIES);
}

/** The registry `createClusterBalancer` uses unless given another. */
export const defaultRegistry: LoadBalancerRegistry = createDefaultRegistry();

/** Plugs a policy into the default registry under `factory.policy`. */
export function registerLoadBalancer<C>(factory: LoadBalancerFactory<C>): void {
  defaultRegistry.register(factory);
}

/** Policy names of the default registry, sorted. */
export function registeredPolicies(): string[] {
  return defaultRegistry.policies();
}
