/**
 * Mutual TLS in xDS, as Istio writes it: transport sockets with an UpstreamTlsContext (a
 * client to a meshed endpoint) or a DownstreamTlsContext (a sidecar's inbound port). The
 * certificate and the trust bundle are named SDS secrets (`default`, `ROOTCA`) without an
 * `sds_config`: Envoy then takes them from the secrets it already has (its bootstrap), and
 * Ferry's sidecar supplies them from the key it made and the certificate the control plane
 * signed. Neither the key nor the certificate ever travels in xDS.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/tls.proto
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/transport_sockets/tls/v3/common.proto
 */
import {
  admittedServiceAccounts,
  type Endpoint,
  type MeshSettings,
  type Service,
  type ServicePort,
  spiffeId,
} from '../../mesh/index.js';
import { jsonToStruct, messageName, typed, types } from '../../xds/index.js';
import { isHttp2Protocol } from './protocols.js';
import type { Message } from './resources.js';

export const UPSTREAM_TLS_CONTEXT = messageName(types.UPSTREAM_TLS_CONTEXT);
export const DOWNSTREAM_TLS_CONTEXT = messageName(types.DOWNSTREAM_TLS_CONTEXT);
export const TLS_INSPECTOR = messageName(types.TLS_INSPECTOR);
export const TLS_TRANSPORT_SOCKET = 'envoy.transport_sockets.tls';

/** The SDS name of the workload's own certificate and key (Istio's). */
export const SDS_WORKLOAD_CERT = 'default';
/** The SDS name of the trust bundle peers are verified against (Istio's). */
export const SDS_ROOT_CA = 'ROOTCA';

/**
 * Endpoint metadata that marks an endpoint fronted by a sidecar, under the filter
 * namespace Envoy matches `transport_socket_matches` against. Istio's key and value, so
 * config dumps read the same.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/cluster.proto#envoy-v3-api-field-config-cluster-v3-cluster-transport-socket-matches
 */
export const TRANSPORT_SOCKET_MATCH = 'envoy.transport_socket_match';
export const TLS_MODE_KEY = 'tlsMode';
export const TLS_MODE_MESHED = 'istio';
/** The name of the match entry, which the sidecar and config dumps show. */
export const TLS_MODE_MATCH_NAME = `${TLS_MODE_KEY}-${TLS_MODE_MESHED}`;

/** TLS 1.3 only, on both sides. */
const TLS_PARAMS: Message = {
  tls_minimum_protocol_version: 'TLSv1_3',
  tls_maximum_protocol_version: 'TLSv1_3',
};

/**
 * The SPIFFE IDs a service's meshed endpoints may present, sorted: the accounts the service
 * admits (mesh file, or the pods a Kubernetes Service selects), never what registered — a
 * workload that got in under another identity must still fail the client's check.
 */
function serviceSpiffeIds(service: Service, mesh: MeshSettings): string[] {
  const ids = new Set<string>();
  for (const account of admittedServiceAccounts(service))
    ids.add(spiffeId(mesh.trustDomain, service.namespace, account));
  return [...ids].sort();
}

/** Whether clients of the service use mutual TLS with endpoint `e`. */
export function usesMtls(e: Endpoint, serviceMode: MeshSettings['mtls']): boolean {
  return e.meshed && serviceMode !== 'DISABLE';
}

/**
 * ALPN a client offers: the protocol the cluster speaks. Offering both h2 and http/1.1 on an
 * HTTP/1.1 cluster would let the server pick h2 and then receive HTTP/1.1; Envoy leaves the
 * choice to ALPN only with auto_config, which Ferry's clusters do not use.
 */
function upstreamAlpn(port: ServicePort): string[] {
  if (port.protocol === 'tcp') return [];
  return isHttp2Protocol(port.protocol) ? ['h2'] : ['http/1.1'];
}

/**
 * The TLS a client uses to a meshed endpoint of `service` on `port`: its own certificate,
 * the mesh's trust bundle, and the peer's SPIFFE ID checked against the identities the
 * service admits (URI SANs, as Istio checks them), with SNI naming the cluster.
 */
export function upstreamTlsContext(
  service: Service,
  port: ServicePort,
  mesh: MeshSettings,
  sni: string,
): Message {
  return mtlsUpstreamContext(serviceSpiffeIds(service, mesh), upstreamAlpn(port), sni);
}

/**
 * Istio's ISTIO_MUTUAL as an UpstreamTlsContext: the workload's own certificate, the mesh's
 * trust bundle, the peer's SPIFFE ID one of `peerIds` (any from the bundle when empty).
 */
export function mtlsUpstreamContext(
  peerIds: readonly string[],
  alpn: readonly string[],
  sni: string,
): Message {
  const sans = peerIds.map((id) => ({ san_type: 'URI', matcher: { exact: id } }));
  return typed(UPSTREAM_TLS_CONTEXT, {
    common_tls_context: {
      tls_params: TLS_PARAMS,
      tls_certificate_sds_secret_configs: [{ name: SDS_WORKLOAD_CERT }],
      combined_validation_context: {
        default_validation_context: sans.length > 0 ? { match_typed_subject_alt_names: sans } : {},
        validation_context_sds_secret_config: { name: SDS_ROOT_CA },
      },
      ...(alpn.length > 0 ? { alpn_protocols: [...alpn] } : {}),
    },
    sni,
  });
}

/**
 * A `transport_socket_matches` entry every endpoint matches (an empty match): mTLS to all of
 * the cluster's hosts, where `transport_socket` itself would be NACKed by proxyless gRPC
 * clients (see meshedTransportSocketMatches).
 */
export function everyEndpointMtls(context: Message): Message {
  return {
    name: TLS_MODE_MATCH_NAME,
    match: {},
    transport_socket: { name: TLS_TRANSPORT_SOCKET, typed_config: context },
  };
}

/**
 * The cluster's `transport_socket_matches`: mTLS for endpoints carrying the meshed metadata.
 * Every other endpoint matches nothing and falls back to the cluster's `transport_socket`,
 * which is left unset (plaintext), as Istio's auto mTLS does.
 *
 * Why a match rather than the cluster's `transport_socket`: proxyless gRPC clients read the
 * same clusters, and grpc-js-xds (1.14, cluster-resource-type.js validateTransportSocket)
 * NACKs a `transport_socket` whose UpstreamTlsContext uses SDS secret names or tls_params,
 * accepting only certificate-provider instances from its own bootstrap. It ignores
 * `transport_socket_matches` (and endpoint metadata), so it keeps the cluster and connects in
 * plaintext, which a PERMISSIVE sidecar accepts.
 */
export function meshedTransportSocketMatches(
  service: Service,
  port: ServicePort,
  mesh: MeshSettings,
  sni: string,
): Message[] {
  return [
    {
      name: TLS_MODE_MATCH_NAME,
      match: jsonToStruct({ [TLS_MODE_KEY]: TLS_MODE_MESHED }),
      transport_socket: {
        name: TLS_TRANSPORT_SOCKET,
        typed_config: upstreamTlsContext(service, port, mesh, sni),
      },
    },
  ];
}

/**
 * The transport socket of a sidecar's TLS filter chain: the workload certificate for every
 * TLS client, peers' certificates verified against the trust bundle, and a client
 * certificate required in STRICT mode only. In PERMISSIVE mode a TLS client without a
 * certificate is served too (it simply has no identity for authorization).
 */
export function downstreamTlsSocket(
  requireClientCertificate: boolean,
  alpn: readonly string[],
): Message {
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: typed(DOWNSTREAM_TLS_CONTEXT, {
      common_tls_context: {
        tls_params: TLS_PARAMS,
        tls_certificate_sds_secret_configs: [{ name: SDS_WORKLOAD_CERT }],
        validation_context_sds_secret_config: { name: SDS_ROOT_CA },
        ...(alpn.length > 0 ? { alpn_protocols: [...alpn] } : {}),
      },
      require_client_certificate: { value: requireClientCertificate },
    }),
  };
}

/** The listener filter that reads the TLS ClientHello, so chains can match transport_protocol. */
export function tlsInspector(): Message {
  return { name: 'envoy.filters.listener.tls_inspector', typed_config: typed(TLS_INSPECTOR, {}) };
}
