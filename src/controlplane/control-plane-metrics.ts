/**
 * The control plane's own gauges and counters beside the ADS ones: workloads registered
 * now and the published snapshot's generation (set as their owners change), and mesh file
 * reloads by result.
 */
import type { CounterChild, MetricsRegistry } from '../metrics/index.js';
import type { Registry } from './registry.js';
import type { SnapshotCache } from './snapshot-cache.js';

/** Counted by the mesh file watcher. */
export interface ReloadCounters {
  readonly applied: CounterChild;
  readonly rejected: CounterChild;
}

export function registerControlPlaneMetrics(
  metrics: MetricsRegistry,
  registry: Registry,
  cache: SnapshotCache,
): ReloadCounters {
  const reloads = metrics.counter(
    'ferry_config_reloads_total',
    'Mesh file changes, by result (applied or rejected).',
    ['result'],
  );
  const counters = { applied: reloads.labels('applied'), rejected: reloads.labels('rejected') };
  const workloads = metrics
    .gauge('ferry_registered_workloads', 'Workloads auto-registered now.')
    .labels();
  const version = metrics
    .gauge('ferry_snapshot_version', 'Generation of the published snapshot.')
    .labels();
  version.set(Number(cache.version));
  registry.watch(() => workloads.set(registry.workloads().length));
  cache.onPublish((v) => version.set(Number(v)));
  return counters;
}
