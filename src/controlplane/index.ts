/** The control plane: registry, snapshots, ADS server and debug HTTP. */
export { AdsServer } from './ads-server.js';
export type { StreamStatus, TypeStatus } from './ads-stream.js';
export { ControlPlane, ControlPlaneError, type ControlPlaneOptions } from './control-plane.js';
export { mergeWorkloads, Registry, type RegistryOptions, type Timers } from './registry.js';
export type { Snapshot, TypeSet } from './snapshot.js';
export { SnapshotCache, type SnapshotCacheOptions } from './snapshot-cache.js';
