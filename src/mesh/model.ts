/**
 * The mesh model: what the mesh file says once it is validated and defaults are applied,
 * and what the registry hands to translation after merging in auto-registered workloads.
 * Every object here is treated as immutable once built.
 */

import type {
  GatewayApiConfig,
  HttpRouteFilter,
  HttpRouteMatch,
  SecretFiles,
  TlsSecret,
} from '../gatewayapi/index.js';

export type Protocol = 'http' | 'http2' | 'grpc' | 'tcp';
export type LoadBalancer = 'round_robin' | 'least_request' | 'ring_hash' | 'maglev' | 'random';
export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';
export type HealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'DRAINING';

export interface MeshSettings {
  /** SPIFFE trust domain: spiffe://<trustDomain>/ns/<ns>/sa/<sa>. Default `cluster.local`. */
  readonly trustDomain: string;
  /** DNS suffix of service host names: <name>.<ns>.svc.<domain>. Default `cluster.local`. */
  readonly domain: string;
  /** Mesh-wide inbound mTLS mode. Default PERMISSIVE (as Istio). */
  readonly mtls: MtlsMode;
  /** Traces and access logs of every sidecar; absent: each sidecar follows its own flags. */
  readonly telemetry?: MeshTelemetry;
}

/** Trace context formats a sidecar reads and writes. */
export type TracePropagation = 'w3c' | 'b3' | 'b3multi';

/**
 * Where and how sidecars send their spans, after Istio's MeshConfig extension providers
 * (opentelemetry) and Telemetry API (sampling): OTLP to one collector for the whole mesh.
 */
export interface TracingSettings {
  /** The collector's host name or IP literal. */
  readonly host: string;
  readonly port: number;
  /** OTLP over HTTP (protobuf) or gRPC. Default http. */
  readonly protocol: 'http' | 'grpc';
  /** OTLP/HTTP request path. Default /v1/traces. */
  readonly path: string;
  /** Share of new traces sampled, in percent; a sampled parent is always followed. Default 100. */
  readonly sampling: number;
  /** Formats read (the first that finds a context wins) and written. Default [w3c]. */
  readonly propagation: readonly TracePropagation[];
}

/** JSON access logs: on or off, and where the lines go. */
export interface AccessLogSettings {
  readonly enabled: boolean;
  /** An absolute file path; absent: standard output. */
  readonly path?: string;
}

export interface MeshTelemetry {
  readonly tracing?: TracingSettings;
  /** The mesh-wide access log setting; a service's own overrides it. */
  readonly accessLog?: AccessLogSettings;
  /** `source_cluster` / `destination_cluster` of the standard metrics; absent: `Kubernetes`. */
  readonly clusterName?: string;
  /** False: the metrics do not name the peer's workload (no EDS workload metadata). */
  readonly peerMetadata?: boolean;
}

/** A service's own telemetry, applied by the sidecars in front of its endpoints. */
export interface ServiceTelemetry {
  readonly accessLog?: AccessLogSettings;
}

export interface ServicePort {
  readonly port: number;
  readonly protocol: Protocol;
  /** Default `<protocol>-<port>`. */
  readonly name: string;
}

export interface Endpoint {
  /** An IP literal (v4 or v6). */
  readonly address: string;
  /** The endpoint's port for each of its service's ports: servicePort -> endpoint port. */
  readonly ports: Readonly<Record<number, number>>;
  readonly labels: Readonly<Record<string, string>>;
  /** Locality; empty string when not given. */
  readonly region: string;
  readonly zone: string;
  /** Load-balancing weight, 1..128. Default 1. */
  readonly weight: number;
  readonly health: HealthStatus;
  /** True when a Ferry sidecar fronts this endpoint (auto-registered, or marked in the file). */
  readonly meshed: boolean;
  /**
   * SPIFFE service account of a meshed endpoint. In the mesh file: one of the service's
   * `serviceAccounts`, by default the first.
   */
  readonly serviceAccount: string;
  /** Where it came from: `mesh-file` or `workload:<node id>`. */
  readonly source: string;
}

export type StringMatch =
  | { readonly exact: string }
  | { readonly prefix: string }
  | { readonly regex: string };

export interface HeaderMatch {
  readonly name: string;
  /** Absent: the header only has to be present. */
  readonly match?: StringMatch;
  /** True: the match is inverted. */
  readonly invert: boolean;
}

export interface QueryParamMatch {
  readonly name: string;
  readonly match?: StringMatch;
}

/** All conditions of one match must hold (AND); a route's matches are alternatives (OR). */
export interface RouteMatch {
  /** Absent: any path (prefix `/`). */
  readonly path?: StringMatch;
  readonly headers: readonly HeaderMatch[];
  readonly queryParams: readonly QueryParamMatch[];
  /** Upper-case HTTP method, e.g. GET. */
  readonly method?: string;
}

export interface RetryPolicy {
  /** Number of retries after the first attempt (Envoy's num_retries). */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy retry_on conditions, e.g. 5xx, connect-failure, reset, unavailable. */
  readonly on: readonly string[];
  readonly retriableStatusCodes: readonly number[];
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface CircuitBreaker {
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
  readonly maxRequests?: number;
  readonly maxRetries?: number;
}

export interface OutlierDetection {
  readonly consecutive5xx?: number;
  readonly consecutiveGatewayErrors?: number;
  /**
   * Locally originated failures in a row (connect failures, resets, timeouts) that eject,
   * counted apart from the upstream's responses (Envoy's split_external_local_origin_errors).
   */
  readonly consecutiveLocalOriginFailures?: number;
  readonly intervalMs?: number;
  readonly baseEjectionTimeMs?: number;
  readonly maxEjectionPercent?: number;
  /** Success-rate ejection, on when given; absent fields take Envoy's defaults. */
  readonly successRate?: {
    readonly minimumHosts?: number;
    readonly requestVolume?: number;
    /** Standard deviations under the mean (Envoy's stdev factor / 1000). */
    readonly stdevFactor?: number;
  };
  /** Failure-percentage ejection, on when given; absent fields take Envoy's defaults. */
  readonly failurePercentage?: {
    readonly threshold?: number;
    readonly minimumHosts?: number;
    readonly requestVolume?: number;
  };
}

/** What a consistent-hash balancer hashes on (ring_hash, maglev). */
export type HashOn =
  | { readonly header: string }
  | { readonly cookie: string; readonly ttlMs?: number }
  | { readonly sourceIp: true };

export interface ServicePolicy {
  readonly loadBalancer: LoadBalancer;
  readonly hashOn?: HashOn;
  /** Request timeout for the service's routes; absent means Envoy's default (15 s). */
  readonly timeoutMs?: number;
  /** Upstream connect timeout. Default 5 s. */
  readonly connectTimeoutMs: number;
  readonly retries?: RetryPolicy;
  readonly circuitBreaker?: CircuitBreaker;
  readonly outlierDetection?: OutlierDetection;
  /** Per-service inbound mTLS mode; absent means the mesh's. */
  readonly mtls?: MtlsMode;
  /** A fault injected on every route of the service (callers' outbound side). */
  readonly fault?: FaultInjection;
  /** A limit on requests the service's sidecars accept (inbound side). */
  readonly rateLimit?: RateLimit;
  /** Active health checking of the service's endpoints by its callers' sidecars. */
  readonly healthCheck?: HealthCheck;
  /**
   * Percent of healthy endpoints under which a cluster balances over all of them, healthy or
   * not (Envoy's healthy_panic_threshold); 0 disables it. Absent: Envoy's default, 50.
   */
  readonly panicThreshold?: number;
}

/** What an active health check probes, after Envoy's HealthCheck kinds. */
export type HealthCheckKind =
  | {
      readonly type: 'http';
      /** The path requested with GET. */
      readonly path: string;
      /** The Host header sent; absent: the cluster's name, as Envoy does. */
      readonly host?: string;
      /** Passing statuses as half-open ranges [start, end), as Envoy's expected_statuses. */
      readonly expectedStatuses: readonly (readonly [number, number])[];
    }
  | { readonly type: 'tcp' }
  /** grpc.health.v1.Health/Check of `service` ('' asks about the whole server). */
  | { readonly type: 'grpc'; readonly service: string };

/**
 * An active health check of a service's (or subset's) endpoints: every `intervalMs` each
 * calling sidecar probes each endpoint; `unhealthyThreshold` failures in a row take it out of
 * balancing, `healthyThreshold` passes in a row bring it back.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/core/v3/health_check.proto
 */
export interface HealthCheck {
  readonly kind: HealthCheckKind;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

/**
 * A fault injected into requests, after Istio's HTTPFaultInjection and Envoy's HTTPFault:
 * a fixed delay and/or an abort, each applied to a percentage of the requests that carry the
 * `headers` (all of them; none listed: every request).
 * https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPFaultInjection
 */
export interface FaultInjection {
  readonly delay?: { readonly fixedDelayMs: number; readonly percentage: number };
  /** Exactly one of httpStatus and grpcStatus (a gRPC status code, 0..16). */
  readonly abort?: {
    readonly httpStatus?: number;
    readonly grpcStatus?: number;
    readonly percentage: number;
  };
  readonly headers: readonly HeaderMatch[];
}

export type RateLimitUnit = 'second' | 'minute';

/**
 * A local rate limit, as a token bucket (Envoy's local_ratelimit): `requestsPerUnit` tokens
 * are added every unit, and the bucket holds at most `requestsPerUnit + burst`.
 */
export interface RateLimit {
  readonly requestsPerUnit: number;
  readonly unit: RateLimitUnit;
  /** Requests allowed beyond one unit's worth after a quiet spell. Default 0. */
  readonly burst: number;
}

/** A named group of a service's endpoints, selected by labels (Istio DestinationRule subset). */
export interface Subset {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Replaces the service policy's health check for this subset's endpoints. */
  readonly healthCheck?: HealthCheck;
}

/** Where a route sends traffic: a service (and optionally a subset), with a weight. */
export interface Backend {
  readonly service: string;
  readonly namespace: string;
  /** Service port; absent means the port the route is matched on. */
  readonly port?: number;
  readonly subset?: string;
  /** Relative weight, 0..1000. Default 1 (equal split). */
  readonly weight: number;
}

/**
 * Where a route's requests are copied to, after Istio's HTTPRoute `mirror` and
 * `mirrorPercentage`: the copies go fire and forget, with `-shadow` appended to their host,
 * and their responses are discarded.
 * https://istio.io/latest/docs/reference/config/networking/virtual-service/#HTTPRoute
 */
export interface Mirror {
  readonly service: string;
  readonly namespace: string;
  /** Service port; absent means the port the route is matched on. */
  readonly port?: number;
  readonly subset?: string;
  /** Percent of the route's requests copied, 0 to 100. Default 100, as Istio's. */
  readonly percentage: number;
}

/** A path or principal condition: the whole value, or a value that starts with `prefix`. */
export type ExactOrPrefix = { readonly exact: string } | { readonly prefix: string };

export type AuthorizationAction = 'ALLOW' | 'DENY';

/** Who a request comes from (Istio's Source): every listed field must hold (AND). */
export interface AuthorizationSource {
  /** Peer SPIFFE IDs (`spiffe://...`), any of them; empty: not a condition. */
  readonly principals: readonly ExactOrPrefix[];
  /** Namespaces of the peer's SPIFFE ID, any of them; empty: not a condition. */
  readonly namespaces: readonly string[];
}

/** What a request asks for (Istio's Operation): every listed field must hold (AND). */
export interface AuthorizationOperation {
  /** Upper-case HTTP methods; empty: not a condition. */
  readonly methods: readonly string[];
  /** Request paths (without the query); empty: not a condition. */
  readonly paths: readonly ExactOrPrefix[];
  /** Service ports; empty: not a condition. */
  readonly ports: readonly number[];
}

/**
 * An authorization rule of a service, after Istio's AuthorizationPolicy: it matches a request
 * that meets one of `from` (or any source when empty) and one of `to` (or any operation when
 * empty). A matching DENY rule refuses the request whatever else matches; when the service has
 * ALLOW rules, a request must match one of them; a service without rules allows everything.
 */
export interface AuthorizationRule {
  /** Unique within the service; names the rule in the Envoy RBAC policy and in denial logs. */
  readonly name: string;
  readonly action: AuthorizationAction;
  readonly from: readonly AuthorizationSource[];
  readonly to: readonly AuthorizationOperation[];
}

/** An HTTP route on a service's http/http2/grpc ports, after Istio's VirtualService. */
export interface Route {
  readonly name: string;
  /** Empty: matches every request. */
  readonly match: readonly RouteMatch[];
  /** Empty: the service itself. */
  readonly backends: readonly Backend[];
  readonly rewrite?: { readonly prefix?: string; readonly authority?: string };
  readonly timeoutMs?: number;
  readonly retries?: RetryPolicy;
  /** Replaces the service policy's fault on this route. */
  readonly fault?: FaultInjection;
  /** A limit on requests each calling sidecar sends through this route (outbound side). */
  readonly rateLimit?: RateLimit;
  /** Shadow copies of the route's requests. */
  readonly mirror?: Mirror;
  /**
   * Set by translation for a GAMMA route (an HTTPRoute on a Service), never by the mesh
   * file: the rule's match and filters in the Gateway API's own terms, translated exactly as
   * on a gateway (its match instead of `match`; header modifiers, RequestRedirect and
   * URLRewrite as the gateway's route fields).
   */
  readonly gatewayApi?: GatewayApiRule;
  /** Sticky sessions: requests carrying the session go to the endpoint that served it. */
  readonly session?: SessionAffinity;
}

/**
 * A route's session persistence (the Gateway API's, as Envoy's stateful session filter does
 * it): the first response names its endpoint in a cookie (or header); a request that carries
 * it goes back to that endpoint while it is healthy, else the balancer picks.
 */
export interface SessionAffinity {
  readonly kind: 'cookie' | 'header';
  /** The cookie's or the header's name. */
  readonly name: string;
  /** Cookie: its Path attribute; default `/`. */
  readonly path?: string;
  /** Cookie: its Max-Age, also checked by the proxy (the cookie carries its expiry). */
  readonly ttlMs?: number;
}

/** One match of a Gateway API rule, and the rule's filters. */
export interface GatewayApiRule {
  readonly match: HttpRouteMatch;
  readonly filters: readonly HttpRouteFilter[];
  /** The Service ports the route's parentRefs name; absent: every port (GEP-1294, "Ports"). */
  readonly ports?: readonly number[];
  /**
   * The weight of the rule's backendRefs that do not resolve (left out of `backends`): that
   * share is answered 500, and all of it when no backend with weight is left.
   */
  readonly invalidWeight?: number;
}

export interface Service {
  readonly name: string;
  readonly namespace: string;
  /** Fully qualified host name: <name>.<namespace>.svc.<domain>. */
  readonly hostname: string;
  /**
   * The service's virtual IPs (a Kubernetes Service's cluster IPs, Istio's ServiceEntry
   * addresses): a captured connection to one of them on a service port goes to the service.
   * Absent or empty: the service has none.
   */
  readonly addresses?: readonly string[];
  /**
   * The service accounts (in the service's namespace) whose workloads may be endpoints of the
   * service: a sidecar registers only with a verified identity among them, and clients accept
   * only these identities from its meshed endpoints. Absent: the service's own name (see
   * admittedServiceAccounts). A Kubernetes Service admits the accounts of the pods it selects.
   */
  readonly serviceAccounts?: readonly string[];
  readonly ports: readonly ServicePort[];
  readonly endpoints: readonly Endpoint[];
  readonly policy: ServicePolicy;
  readonly subsets: readonly Subset[];
  /** Evaluated in order; traffic no route matches goes to the service itself. */
  readonly routes: readonly Route[];
  /** Authorization rules for requests to the service; absent or empty: everything is allowed. */
  readonly authorization?: readonly AuthorizationRule[];
  /** Overrides of the mesh's telemetry for the service's sidecars. */
  readonly telemetry?: ServiceTelemetry;
}

/** The inbound mTLS mode in force for a service: its own, else the mesh's. */
export function effectiveMtls(service: Service, mesh: MeshSettings): MtlsMode {
  return service.policy.mtls ?? mesh.mtls;
}

/**
 * The access log setting in force for a service's sidecars: the service's own, else the
 * mesh's; undefined when the mesh file says nothing (the sidecar's flag decides).
 */
export function effectiveAccessLog(
  service: Service | undefined,
  mesh: MeshSettings,
): AccessLogSettings | undefined {
  const own = service?.telemetry?.accessLog;
  const meshWide = mesh.telemetry?.accessLog;
  if (!own) return meshWide;
  const path = own.path ?? meshWide?.path;
  return { enabled: own.enabled, ...(path !== undefined ? { path } : {}) };
}

/** The service accounts a service admits: its own list, else its name. */
export function admittedServiceAccounts(service: Service): readonly string[] {
  return service.serviceAccounts ?? [service.name];
}

/** The SPIFFE ID of a service account: spiffe://<trust domain>/ns/<namespace>/sa/<account>. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export interface MeshConfig {
  readonly mesh: MeshSettings;
  readonly services: readonly Service[];
  /** Gateway API resources (`gatewayApi:`); absent: none. */
  readonly gatewayApi?: GatewayApiConfig;
  /** TLS certificates for Gateway listeners (`secrets:`), as file paths; absent: none. */
  readonly secrets?: readonly SecretFiles[];
  /**
   * The certificates and keys themselves, loaded by the control plane from `secrets` files
   * or Kubernetes Secrets (never by the mesh file parser); absent: none.
   */
  readonly tlsSecrets?: readonly TlsSecret[];
  /** External hosts reached only through the egress gateway (`egress:`); absent: none. */
  readonly egress?: Egress;
}

/** How an external host is spoken to: HTTP routed by Host, or TLS routed by SNI, untouched. */
export type EgressProtocol = 'http' | 'tls';

/** One external host the mesh may reach (Istio's ServiceEntry, MESH_EXTERNAL). */
export interface EgressHost {
  /** A DNS name (resolved by the gateway), or an IP literal for `http`. */
  readonly host: string;
  readonly port: number;
  readonly protocol: EgressProtocol;
}

/** The mesh's egress gateway and the external hosts that leave the mesh through it. */
export interface Egress {
  /** `<namespace>/<name>`: the gateway (`ferry gateway --mode egress --gateway ...`). */
  readonly gateway: string;
  /**
   * The gateway's service account: sidecars accept only its SPIFFE ID
   * (`spiffe://<trustDomain>/ns/<gateway namespace>/sa/<serviceAccount>`) on the mTLS hop to
   * it. Default the gateway's name, as `ferry gateway --service-account` defaults.
   */
  readonly serviceAccount: string;
  /** The gateway's port taking HTTP from the sidecars, routed by Host. */
  readonly httpPort: number;
  /** The gateway's port taking TLS from the sidecars, routed by SNI. */
  readonly tlsPort: number;
  readonly hosts: readonly EgressHost[];
  /**
   * Where sidecars reach the gateway's listeners: the connected egress gateway nodes that
   * announced an address. Filled in by the control plane's registry, never from the file.
   */
  readonly gatewayEndpoints?: readonly EgressGatewayEndpoint[];
}

/** One connected egress gateway node, as a destination of the sidecars' traffic. */
export interface EgressGatewayEndpoint {
  readonly address: string;
  /** Added to `egress.httpPort` and `egress.tlsPort` (the node's FERRY_PORT_OFFSET). */
  readonly portOffset: number;
}

export const DEFAULT_EGRESS_HTTP_PORT = 80;
export const DEFAULT_EGRESS_TLS_PORT = 443;

export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
export const DEFAULT_DOMAIN = 'cluster.local';
export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_SERVICE_ACCOUNT = 'default';
export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;
export const DEFAULT_RETRY_BACKOFF_BASE_MS = 25;
export const DEFAULT_RETRY_BACKOFF_MAX_MS = 250;
/**
 * Health check timing where the mesh file is silent. Envoy requires all four; these are the
 * defaults of a Kubernetes probe (period 10 s, timeout 1 s, 3 failures, 1 success).
 */
export const DEFAULT_HEALTH_CHECK_INTERVAL_MS = 10_000;
export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 1000;
export const DEFAULT_HEALTHY_THRESHOLD = 1;
export const DEFAULT_UNHEALTHY_THRESHOLD = 3;

/** The key a service is found under: `<name>.<namespace>`. */
export function serviceKey(name: string, namespace: string): string {
  return `${name}.${namespace}`;
}

export function serviceHostname(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/**
 * A workload announced by a sidecar in its xDS Node metadata (auto-registration). While its
 * stream is connected, and for a grace period after, it is an endpoint of its service.
 */
export interface Workload {
  /** The xDS node id. */
  readonly id: string;
  readonly service: string;
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  /** IP literal other sidecars connect to. */
  readonly address: string;
  /** The sidecar's inbound port: the endpoint port other sidecars connect to. */
  readonly inboundPort: number;
  /** The sidecar's outbound port, where its app sends traffic. Default 15001. */
  readonly outboundPort: number;
  /** The app's own port, where the inbound listener forwards. Absent: no inbound listener. */
  readonly appPort?: number;
  readonly region: string;
  readonly zone: string;
  readonly health: HealthStatus;
  /** For a service the mesh file does not declare: its port and protocol. */
  readonly servicePort?: number;
  readonly protocol?: Protocol;
}
