/**
 * Who an endpoint is, in its LbEndpoint's metadata, so that the sidecar calling it can fill
 * the destination labels of Istio's metrics, and the sidecar it calls can name the caller
 * (looked up by the caller's verified SPIFFE ID and address): nothing travels on the wire.
 *
 * - `filter_metadata.istio.workload`: Istio's own key and format,
 *   `<workload>;<namespace>;<canonical service>;<canonical revision>;<cluster>`, as istiod
 *   writes it into EDS (so a Ferry sidecar reads istiod's endpoints the same way);
 * - `filter_metadata.ferry`: what Istio's peer exchange adds and its EDS lacks: `app`,
 *   `version` and, for an endpoint behind a sidecar, `principal` (its SPIFFE ID).
 * Envoy keeps filter metadata for its filters and ignores keys it does not use.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/core/v3/base.proto#config-core-v3-metadata
 */
import {
  DEFAULT_CLUSTER_NAME,
  type Endpoint,
  type MeshSettings,
  type Service,
  spiffeId,
  workloadNames,
} from '../../mesh/index.js';
import { jsonToStruct } from '../../xds/index.js';
import type { Message } from './resources.js';
import { TLS_MODE_KEY, TLS_MODE_MESHED, TRANSPORT_SOCKET_MATCH } from './tls.js';

/** The filter metadata namespace of Istio's workload string. */
const ISTIO_METADATA = 'istio';
/** The filter metadata namespace of Ferry's additions. */
const FERRY_METADATA = 'ferry';

/** The cluster name the metrics carry: the mesh file's, else Istio's default. */
export function meshClusterName(mesh: MeshSettings): string {
  return mesh.telemetry?.clusterName ?? DEFAULT_CLUSTER_NAME;
}

/** Whether the mesh names peers in its metrics (mesh.telemetry.peerMetadata, default on). */
export function peerMetadataOn(mesh: MeshSettings): boolean {
  return mesh.telemetry?.peerMetadata !== false;
}

/** The metadata of one endpoint of `service`; undefined when it needs none. */
export function endpointMetadata(
  endpoint: Endpoint,
  service: Service,
  mesh: MeshSettings,
): Message | undefined {
  const tlsMatch = endpoint.meshed
    ? { [TRANSPORT_SOCKET_MATCH]: jsonToStruct({ [TLS_MODE_KEY]: TLS_MODE_MESHED }) }
    : undefined;
  if (!peerMetadataOn(mesh)) return tlsMatch ? { filter_metadata: tlsMatch } : undefined;
  const names = workloadNames(service.name, endpoint.labels);
  const workload = [
    names.workload,
    service.namespace,
    names.canonicalService,
    names.canonicalRevision,
    meshClusterName(mesh),
  ].join(';');
  const ferry: Record<string, string> = { app: names.app, version: names.version };
  if (endpoint.meshed) {
    ferry.principal = spiffeId(mesh.trustDomain, service.namespace, endpoint.serviceAccount);
  }
  return {
    filter_metadata: {
      // Tells the cluster's transport_socket_matches which endpoints run a sidecar.
      ...tlsMatch,
      [ISTIO_METADATA]: jsonToStruct({ workload }),
      [FERRY_METADATA]: jsonToStruct(ferry),
    },
  };
}
