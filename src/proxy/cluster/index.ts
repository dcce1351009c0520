/** Runtime clusters: hosts, balancer and upstream settings built from CDS and EDS. */

export {
  type BreakerThresholds,
  CircuitBreakers,
  DEFAULT_THRESHOLDS,
  parseThresholds,
} from './circuit-breakers.js';
export {
  type ClusterResource,
  type ClusterSettings,
  compileClusterSettings,
  connectTimeoutMs,
  edsName,
  type SettingsResult,
  upstreamProtocol,
} from './cluster-settings.js';
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
  assembleCluster,
  buildCluster,
  type ClusterResult,
  type OutlierLog,
  type RuntimeCluster,
} from './runtime-cluster.js';
