/** Runtime clusters: hosts, balancer and upstream settings built from CDS and EDS. */

export {
  CircuitBreakers,
  DEFAULT_THRESHOLDS,
  parseThresholds,
} from './circuit-breakers.js';
export {
  type ClusterResource,
  type ClusterSettings,
  compileClusterSettings,
  connectTimeoutMs,
} from './cluster-settings.js';
export { parseHealthCheck } from './health-checker.js';
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
  type OutlierLog,
  type RuntimeCluster,
} from './runtime-cluster.js';
