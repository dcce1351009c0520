/** Runtime clusters: hosts, balancer and upstream settings built from CDS and EDS. */

export {
  type BreakerThresholds,
  CircuitBreakers,
  DEFAULT_THRESHOLDS,
  parseThresholds,
} from './circuit-breakers.js';
export {
  buildCluster,
  type ClusterResource,
  type ClusterResult,
  edsName,
  type RuntimeCluster,
  upstreamProtocol,
} from './runtime-cluster.js';
