/**
 * Load balancing for the sidecar's clusters: hosts from EDS, Envoy's lb policies by name,
 * priority levels with overprovisioning, panic mode and locality weights.
 *
 * Typical use by the data path:
 *   const plan = parseClusterLb(cluster);                 // CDS: NACK on !plan.ok
 *   const cla = parseAssignment(raw, name);               // EDS: NACK on !cla.ok
 *   hostSet.apply(cla.value);                             // when the configuration is applied
 *   let lb = buildClusterBalancer(plan.value, hostSet, Math.random).balancer;
 *   const host = lb.pick(ctx);                            // per request; undefined → 503
 */
export {
  buildClusterBalancer,
  type ClusterBalancer,
  type ClusterLbPlan,
  createClusterBalancer,
  parseClusterLb,
} from './cluster-balancer.js';
export {
  createDefaultRegistry,
  registeredPolicies,
  registerLoadBalancer,
} from './default-registry.js';
export { combineHashes, HASH_SPACE, hashKey, toHash53 } from './hash.js';
export {
  Host,
  type HostHealth,
  type HostInit,
} from './host.js';
export {
  DEFAULT_OVERPROVISIONING_FACTOR,
  HostSet,
  type ParsedAssignment,
  parseAssignment,
  singleEndpoint,
} from './host-set.js';
export { formatLbError } from './lb-error.js';
export {
  type LoadBalancer,
  type LoadBalancerFactory,
  NO_HASH,
  NO_HOSTS,
  type PickContext,
  type Random,
} from './load-balancer.js';
export { computePriorityLoad } from './priority-load.js';
