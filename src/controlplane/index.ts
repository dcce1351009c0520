/** The control plane: registry, snapshots, ADS server and debug HTTP. */
export { type AdsLimits, DEFAULT_ADS_LIMITS, MAX_NACK_MESSAGE } from './ads-limits.js';
export { AdsServer } from './ads-server.js';
export type { StreamStatus, TypeStatus } from './ads-stream.js';
export { ControlPlane } from './control-plane.js';
export type { ControlPlaneChecks } from './control-plane-checks.js';
export { ControlPlaneError } from './control-plane-error.js';
export {
  type ControlPlaneOptions,
  DEFAULT_SERVICE_NAME,
  type KubernetesOptions,
  type WebhookOptions,
} from './control-plane-options.js';
export { debugAccess, isLoopback } from './debug-access.js';
export {
  KubeError,
  kubeConfigFromFile,
  kubeConfigInCluster,
  type LoadedKubeConfig,
  SERVICE_ACCOUNT_DIR,
} from './kubernetes/index.js';
export {
  checkMembership,
  indexServices,
  type MembershipRefusal,
  REFUSAL_REASONS,
  type RefusalReason,
  type VerifiedIdentity,
} from './membership.js';
export { CLUSTER_SOURCE_PREFIX, mergeCluster } from './merge-cluster.js';
export {
  MAX_REFUSALS,
  type RefusedRegistration,
  RegistrationGate,
  type Transport,
} from './registration-gate.js';
export { mergeWorkloads, Registry, type RegistryOptions, type Timers } from './registry.js';
export type { Snapshot, TypeSet } from './snapshot.js';
export { SnapshotCache, type SnapshotCacheOptions } from './snapshot-cache.js';
