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

/*
 * The typed configs (google.protobuf.Any inside resources) Ferry writes or reads. The
 * translator wants the bare message name: `messageName(HTTP_FAULT)`.
 */

/** The HTTP connection manager network filter, as it appears in a typed_config. */
export const HTTP_CONNECTION_MANAGER = `${TYPE_PREFIX}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`;

/** The TCP proxy network filter, as it appears in a typed_config. */
export const TCP_PROXY = `${TYPE_PREFIX}envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`;

/** The RBAC filters: HTTP (in an HCM's http_filters) and network (in a filter chain). */
export const HTTP_RBAC = `${TYPE_PREFIX}envoy.extensions.filters.http.rbac.v3.RBAC`;
export const NETWORK_RBAC = `${TYPE_PREFIX}envoy.extensions.filters.network.rbac.v3.RBAC`;

export const HTTP_FAULT = `${TYPE_PREFIX}envoy.extensions.filters.http.fault.v3.HTTPFault`;
export const LOCAL_RATE_LIMIT = `${TYPE_PREFIX}envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit`;
export const ROUTER = `${TYPE_PREFIX}envoy.extensions.filters.http.router.v3.Router`;
/** The stateful session filter, its per-route override, and the session states it reads. */
export const STATEFUL_SESSION = `${TYPE_PREFIX}envoy.extensions.filters.http.stateful_session.v3.StatefulSession`;
export const STATEFUL_SESSION_PER_ROUTE = `${TYPE_PREFIX}envoy.extensions.filters.http.stateful_session.v3.StatefulSessionPerRoute`;
export const COOKIE_SESSION_STATE = `${TYPE_PREFIX}envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState`;
export const HEADER_SESSION_STATE = `${TYPE_PREFIX}envoy.extensions.http.stateful_session.header.v3.HeaderBasedSessionState`;
/** How a typed_per_filter_config value may be wrapped (to disable or mark it optional). */
export const FILTER_CONFIG = `${TYPE_PREFIX}envoy.config.route.v3.FilterConfig`;

export const UPSTREAM_TLS_CONTEXT = `${TYPE_PREFIX}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`;
export const DOWNSTREAM_TLS_CONTEXT = `${TYPE_PREFIX}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`;
export const RAW_BUFFER = `${TYPE_PREFIX}envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer`;
export const TLS_INSPECTOR = `${TYPE_PREFIX}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`;

/** A cluster's typed_extension_protocol_options entry for HTTP upstreams. */
export const HTTP_PROTOCOL_OPTIONS = `${TYPE_PREFIX}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`;

export const OPENTELEMETRY_CONFIG = `${TYPE_PREFIX}envoy.config.trace.v3.OpenTelemetryConfig`;
export const FILE_ACCESS_LOG = `${TYPE_PREFIX}envoy.extensions.access_loggers.file.v3.FileAccessLog`;
export const STDOUT_ACCESS_LOG = `${TYPE_PREFIX}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog`;

/**
 * The listener names a Ferry control plane gives every sidecar, and the sidecar looks for:
 * where the app's outbound traffic arrives, and where other sidecars connect in front of it.
 */
export const VIRTUAL_OUTBOUND = 'virtualOutbound';
export const VIRTUAL_INBOUND = 'virtualInbound';

/** Every resource type, in the order a client should apply them (xDS "eventual consistency"). */
export const RESOURCE_TYPES: readonly string[] = [CLUSTER, ENDPOINT, LISTENER, ROUTE, SECRET];

/** The other xDS v3 resource types Envoy knows, which Ferry answers with no resources. */
export const UNSERVED_RESOURCE_TYPES: readonly string[] = [
  `${TYPE_PREFIX}envoy.config.route.v3.ScopedRouteConfiguration`,
  `${TYPE_PREFIX}envoy.config.route.v3.VirtualHost`,
  `${TYPE_PREFIX}envoy.config.core.v3.TypedExtensionConfig`,
  `${TYPE_PREFIX}envoy.service.runtime.v3.Runtime`,
];

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
