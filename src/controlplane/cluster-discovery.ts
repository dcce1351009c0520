/**
 * Kubernetes discovery feeding the registry: the cluster's Services, EndpointSlices, Pods
 * and Namespaces, with watch failures and the number of services discovered as metrics.
 */
import type { ClusterWatcher } from '../kube/discovery/index.js';
import type { Logger } from '../log/index.js';
import type { MetricsRegistry } from '../metrics/index.js';
import type { KubernetesOptions } from './control-plane-options.js';
import { startDiscovery } from './kubernetes/index.js';
import type { Registry } from './registry.js';

export function startClusterDiscovery(
  kube: KubernetesOptions,
  domain: string,
  registry: Registry,
  metrics: MetricsRegistry,
  log: Logger,
): Promise<ClusterWatcher> {
  const failures = metrics.counter(
    'ferry_kubernetes_watch_failures_total',
    'Kubernetes lists and watches that failed (each is retried), by kind.',
    ['kind'],
  );
  const services = metrics
    .gauge('ferry_kubernetes_services', 'Services discovered in the cluster.')
    .labels();
  return startDiscovery({
    kubeConfig: kube.kubeConfig,
    domain,
    onServices: (discovered) => {
      services.set(discovered.length);
      registry.setClusterServices(discovered);
    },
    onWatchError: (kind) => failures.labels(kind).inc(),
    log,
    syncTimeoutMs: kube.syncTimeoutMs,
    retryMs: kube.retryMs,
  });
}
