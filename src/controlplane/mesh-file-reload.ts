/**
 * The mesh file, watched: every valid edit is applied to the registry (and logged with what
 * changed, then analysed); a rejected one leaves the last good configuration in force, is
 * logged with its errors and shown on the debug port until a good edit replaces it.
 */
import type { Logger } from '../log/index.js';
import {
  describeMeshChange,
  type MeshConfig,
  type MeshFileError,
  watchMeshFile,
} from '../mesh/index.js';
import type { ReloadCounters } from './control-plane-metrics.js';
import { logAnalysis } from './mesh-analysis.js';
import type { Registry } from './registry.js';

export interface MeshFileReloadEnv {
  readonly registry: Registry;
  readonly counters: ReloadCounters;
  readonly log: Logger;
  /** Told of each applied edit after the registry (its secrets, its domain). */
  readonly applied?: (config: MeshConfig) => void;
}

export class MeshFileReload {
  private errorText: string | undefined;
  private readonly watcher: { close(): void };

  constructor(path: string, env: MeshFileReloadEnv) {
    const { registry, counters, log } = env;
    // A short watch debounce: an edit is usually one rename or one write.
    this.watcher = watchMeshFile(
      path,
      {
        onConfig: (config) => {
          this.errorText = undefined;
          counters.applied.inc();
          const changes = describeMeshChange(registry.mesh, config);
          log.info({ file: path, changes }, 'mesh file changed; applying');
          registry.setMeshConfig(config);
          env.applied?.(config);
          void logAnalysis(path, log);
        },
        onError: (err: MeshFileError) => {
          this.errorText = err.message;
          counters.rejected.inc();
          log.error(
            { file: path, errors: err.message.split('\n') },
            'mesh file change rejected; the last good configuration stays in force',
          );
        },
      },
      { debounceMs: 20 },
    );
  }

  /** Why the last edit was rejected, until a good one is applied. */
  get error(): string | undefined {
    return this.errorText;
  }

  close(): void {
    this.watcher.close();
  }
}
