/**
 * Kubernetes as a source of the registry (SPEC "Service discovery", source 3): Services,
 * EndpointSlices and Pods translated into mesh services, watched with informers; and
 * service-account tokens verified by TokenReview.
 */
export { ClusterWatcher } from './cluster-watcher.js';
export { DiscoveryError } from './discovery-error.js';
export { endpointHealth } from './endpoint-health.js';
export type {
  ClusterState,
  KubeEndpointSlice,
  KubePod,
  KubeService,
} from './kube-objects.js';
export { portProtocol } from './port-protocol.js';
export { TokenReviewVerifier } from './token-review-verifier.js';
export { translateCluster } from './translate-cluster.js';
