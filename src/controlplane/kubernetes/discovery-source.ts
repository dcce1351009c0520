/**
 * Kubernetes discovery as a source of the registry: a ClusterWatcher whose reports replace
 * the registry's cluster services. Start-up waits for the first complete report (every
 * kind listed) up to a bound, so that a starting replica does not answer sidecars with the
 * mesh file alone when the cluster is a moment away; past the bound (an API server that
 * fails or stalls) it serves what it has and the cluster follows when the lists come in
 * (the watcher keeps retrying them).
 */
import { CoreV1Api, DiscoveryV1Api, type KubeConfig } from '@kubernetes/client-node';
import { ClusterWatcher } from '../../kube/discovery/index.js';
import type { Logger } from '../../log/index.js';
import type { Service } from '../../mesh/index.js';

export interface DiscoverySourceOptions {
  readonly kubeConfig: KubeConfig;
  /** DNS suffix of host names (the mesh's `domain`). */
  readonly domain: string;
  readonly onServices: (services: Service[]) => void;
  readonly log: Logger;
  /** How long start-up waits for the first complete report. Default 10 s. */
  readonly syncTimeoutMs?: number;
  /** First delay before a failed list or watch is tried again. Default 1 s. */
  readonly retryMs?: number;
  readonly onWatchError?: (kind: string) => void;
}

export async function startDiscovery(o: DiscoverySourceOptions): Promise<ClusterWatcher> {
  let listed!: () => void;
  const firstReport = new Promise<void>((resolve) => {
    listed = resolve;
  });
  const watcher = new ClusterWatcher({
    kubeConfig: o.kubeConfig,
    coreApi: o.kubeConfig.makeApiClient(CoreV1Api),
    discoveryApi: o.kubeConfig.makeApiClient(DiscoveryV1Api),
    domain: o.domain,
    log: o.log,
    retryMs: o.retryMs,
    onWatchError: o.onWatchError,
    onChange: (services) => {
      o.log.info({ services: services.length }, 'kubernetes services changed');
      o.onServices(services);
      listed();
    },
  });
  // Not awaited alone: a list the API server accepts but never answers would hold start-up
  // forever. The bound below applies to the whole first listing.
  watcher.start().catch((err: Error) => {
    o.log.warn({ err: err.message }, 'kubernetes watches did not start; retrying');
  });
  const waitMs = o.syncTimeoutMs ?? 10_000;
  let timer: NodeJS.Timeout | undefined;
  const inTime = await Promise.race([
    firstReport.then(() => true),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    }),
  ]);
  clearTimeout(timer);
  if (!inTime)
    o.log.warn(
      { waitedMs: waitMs },
      'the cluster is not listed yet; serving the mesh file meanwhile (cluster services follow when listed)',
    );
  return watcher;
}
