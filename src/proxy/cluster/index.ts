/** Runtime clusters: hosts, balancer and upstream settings built from CDS and EDS. */

export {
  type BreakerThresholds,
  CircuitBreakers,
  DEFAULT_THRESHOLDS,
  parseThresholds,
} from './circuit-breakers.js';
export {
  type HealthCheckConfig,
  HealthChecker,
  parseHealthCheck,
} from './health-checker.js';
export {
  Outcome,
  type OutlierConfig,
  OutlierDetector,
  parseOutlierDetection,
  statusOutcome,
} from './outlier-detector.js';
export {
  buildCluster,
  type ClusterResource,
  type ClusterResult,
  connectTimeoutMs,
  edsName,
  type OutlierLog,
  type RuntimeCluster,
  upstreamProtocol,
} from './runtime-cluster.js';
