/**
 * Kubernetes as a source of the registry (SPEC "Service discovery", source 3): Services,
 * EndpointSlices and Pods translated into mesh services, watched with informers; and
 * service-account tokens verified by TokenReview.
 */
export { ClusterWatcher, type ClusterWatcherOptions } from './cluster-watcher.js';
export { DiscoveryError, type DiscoveryErrorCode } from './discovery-error.js';
export { endpointHealth } from './endpoint-health.js';
export type {
  ClusterState,
  KubeEndpoint,
  KubeEndpointPort,
  KubeEndpointSlice,
  KubeMetadata,
  KubeNamespace,
  KubePod,
  KubeService,
  KubeServicePort,
} from './kube-objects.js';
export { portProtocol } from './port-protocol.js';
export { TokenReviewVerifier, type TokenReviewVerifierOptions } from './token-review-verifier.js';
export {
  INJECTED_ANNOTATION,
  type TranslateClusterOptions,
  translateCluster,
} from './translate-cluster.js';
