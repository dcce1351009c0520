/**
 * What the dashboard reads from the control plane, narrowly: the connected clients with
 * their sync bookkeeping (what /debug/syncz shows) and the mesh configuration in force.
 */
import type { MeshConfig } from '../mesh/index.js';
import type { SyncTypeStatus } from './sync-state.js';

export interface ConnectedClient {
  readonly stream: number;
  readonly nodeId: string;
  readonly mode: string;
  readonly connectedAt: string;
  readonly workload:
    | {
        readonly service: string;
        readonly namespace: string;
        readonly address: string;
        readonly labels: Readonly<Record<string, string>>;
      }
    | undefined;
  readonly types: readonly SyncTypeStatus[];
}

export interface MeshView {
  clients(): readonly ConnectedClient[];
  config(): MeshConfig;
  /** The control plane's published snapshot version. */
  version(): string;
  /** Why the last mesh file edit was rejected (the last good one stays in force), if it was. */
  configError(): string | undefined;
}
