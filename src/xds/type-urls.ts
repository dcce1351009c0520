/**
 * Type URLs of the xDS v3 resources Ferry serves and reads.
 * https://www.envoyproxy.io/docs/envoy/latest/api-docs/xds_protocol#resource-types
 */
export const TYPE_PREFIX = 'type.googleapis.com/';

export const LISTENER = `${TYPE_PREFIX}envoy.config.listener.v3.Listener`;
export const ROUTE = `${TYPE_PREFIX}envoy.config.route.v3.RouteConfiguration`;
export const CLUSTER = `${TYPE_PREFIX}envoy.config.cluster.v3.Cluster`;
export const ENDPOINT = `${TYPE_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`;
export const SECRET = `${TYPE_PREFIX}envoy.extensions.transport_sockets.tls.v3.Secret`;

/** The HTTP connection manager network filter, as it appears in a typed_config. */
export const HTTP_CONNECTION_MANAGER = `${TYPE_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;

/** The TCP proxy network filter, as it appears in a typed_config. */
export const TCP_PROXY = `${TYPE_PREFIX}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;

/**
 * The listener names a Ferry control plane gives every sidecar, and the sidecar looks for:
 * where the app's outbound traffic arrives, and where other sidecars connect in front of it.
 */
export const VIRTUAL_OUTBOUND = 'virtualOutbound';
export const VIRTUAL_INBOUND = 'virtualInbound';

/** Every resource type, in the order a client should apply them (xDS "eventual consistency"). */
export const RESOURCE_TYPES: readonly string[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET];

/** Short names used in logs, metrics and debug output. */
const SHORT: Record<string, string> = {
  [LISTENER]: 'LDS',
  [ROUTE]: 'RDS',
  [CLUSTER]: 'CDS',
  [ENDPOINT]: 'EDS',
  [SECRET]: 'SDS',
};

export function shortTypeName(typeUrl: string): string {
  return SHORT[typeUrl] ?? typeUrl;
}

/** The fully qualified message name of a type URL (the part after the last '/'). */
export function messageName(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
}

/** Resource types whose state-of-the-world responses carry every resource (LDS, CDS). */
export function isFullStateType(typeUrl: string): boolean {
  return typeUrl === LISTENER || typeUrl === CLUSTER;
}
