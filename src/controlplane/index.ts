/** The control plane: registry, snapshots, ADS server and debug HTTP. */
export type { AdsLimits } from './ads-limits.js';

export { ControlPlane } from './control-plane.js';
export type { ControlPlaneChecks } from './control-plane-checks.js';

export type {
  ControlPlaneOptions,
  KubernetesOptions,
  WebhookOptions,
} from './control-plane-options.js';
export { isLoopback } from './debug-access.js';
export {
  KubeError,
  kubeConfigFromFile,
  kubeConfigInCluster,
  type LoadedKubeConfig,
} from './kubernetes/index.js';
export {
  checkMembership,
  indexServices,
} from './membership.js';
export { mergeCluster } from './merge-cluster.js';
export { RegistrationGate } from './registration-gate.js';
export { Registry } from './registry.js';
export type { TypeSet } from './snapshot.js';
export { SnapshotCache } from './snapshot-cache.js';
