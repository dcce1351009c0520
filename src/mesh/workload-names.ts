/**
 * The names Istio's standard metrics give a workload, worked out the way Istio works them out
 * from a pod's labels, so that a series reads the same whether Ferry or Istio reported it:
 * - canonical service: `service.istio.io/canonical-name`, else `app.kubernetes.io/name`, else
 *   `app`, else (Ferry: every workload belongs to a service) the service's name;
 * - canonical revision: `service.istio.io/canonical-revision`, else `app.kubernetes.io/version`,
 *   else `version`, else `latest`;
 * - app and version: the `app` and `version` labels (app defaults to the service's name,
 *   version to `unknown`);
 * - workload: Ferry's `<service>-<version label>` (the service alone without one), as its
 *   demo and auto-registration name workloads.
 * https://istio.io/latest/docs/reference/config/metrics/#labels
 * https://istio.io/latest/docs/ops/configuration/telemetry/monitoring-multicluster-prometheus/
 */

/** Istio's default cluster name (`global.multiCluster.clusterName`), used for `*_cluster`. */
export const DEFAULT_CLUSTER_NAME = 'Kubernetes';

export interface WorkloadNames {
  readonly workload: string;
  readonly app: string;
  readonly version: string;
  readonly canonicalService: string;
  readonly canonicalRevision: string;
}

export function workloadNames(
  service: string,
  labels: Readonly<Record<string, string>>,
): WorkloadNames {
  const version = labels.version;
  return {
    workload: version ? `${service}-${version}` : service,
    app: labels.app || labels['app.kubernetes.io/name'] || service,
    version: version || labels['app.kubernetes.io/version'] || 'unknown',
    canonicalService:
      labels['service.istio.io/canonical-name'] ||
      labels['app.kubernetes.io/name'] ||
      labels.app ||
      service,
    canonicalRevision:
      labels['service.istio.io/canonical-revision'] ||
      labels['app.kubernetes.io/version'] ||
      version ||
      'latest',
  };
}
