/**
 * The Kubernetes Gateway API resources Ferry reads, once validated and defaulted: the API's
 * own field names and meanings (https://gateway-api.sigs.k8s.io/reference/spec/), with every
 * default the CRDs apply filled in, so that the semantics (attach.ts, precedence.ts) never
 * have to guess. Immutable once built.
 */

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export type GatewayApiKind =
  | 'GatewayClass'
  | 'Gateway'
  | 'HTTPRoute'
  | 'GRPCRoute'
  | 'TLSRoute'
  | 'TCPRoute'
  | 'ReferenceGrant';

export interface ObjectMeta {
  readonly name: string;
  /** Default `default`; GatewayClass is cluster-scoped and has ''. */
  readonly namespace: string;
  readonly labels: Readonly<Record<string, string>>;
  /** RFC 3339; '' when not given (the mesh file): such resources sort after dated ones. */
  readonly creationTimestamp: string;
  /** metadata.generation; 0 when not given. Written back as status observedGeneration. */
  readonly generation: number;
}

export interface GatewayClass {
  readonly kind: 'GatewayClass';
  readonly metadata: ObjectMeta;
  readonly controllerName: string;
}

export type ListenerProtocol = 'HTTP' | 'HTTPS' | 'TLS' | 'TCP';
export type TlsMode = 'Terminate' | 'Passthrough';

/** A reference to another object, with group/kind/namespace defaulted as the API does. */
export interface ObjectReference {
  readonly group: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
}

export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly {
    readonly key: string;
    readonly operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    readonly values: readonly string[];
  }[];
}

export interface AllowedRoutes {
  readonly namespaces:
    | { readonly from: 'Same' }
    | { readonly from: 'All' }
    | { readonly from: 'Selector'; readonly selector: LabelSelector };
  /** Empty: the kinds the listener's protocol supports. */
  readonly kinds: readonly { readonly group: string; readonly kind: string }[];
}

export interface Listener {
  readonly name: string;
  readonly hostname?: string;
  readonly port: number;
  readonly protocol: ListenerProtocol;
  readonly tls?: {
    readonly mode: TlsMode;
    readonly certificateRefs: readonly ObjectReference[];
  };
  readonly allowedRoutes: AllowedRoutes;
}

export interface Gateway {
  readonly kind: 'Gateway';
  readonly metadata: ObjectMeta;
  readonly gatewayClassName: string;
  readonly listeners: readonly Listener[];
}

export interface ParentRef {
  readonly group: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

export type PathMatchType = 'Exact' | 'PathPrefix' | 'RegularExpression';
export type ValueMatchType = 'Exact' | 'RegularExpression';

export interface ValueMatch {
  readonly type: ValueMatchType;
  readonly name: string;
  readonly value: string;
}

export interface HttpRouteMatch {
  readonly path: { readonly type: PathMatchType; readonly value: string };
  readonly headers: readonly ValueMatch[];
  readonly queryParams: readonly ValueMatch[];
  readonly method?: string;
}

export interface HeaderModifier {
  readonly set: readonly { readonly name: string; readonly value: string }[];
  readonly add: readonly { readonly name: string; readonly value: string }[];
  readonly remove: readonly string[];
}

export type PathModifier =
  | { readonly type: 'ReplaceFullPath'; readonly replaceFullPath: string }
  | { readonly type: 'ReplacePrefixMatch'; readonly replacePrefixMatch: string };

export interface BackendRef extends ObjectReference {
  readonly port?: number;
  /** 0..1000000, default 1. */
  readonly weight: number;
}

export type HttpRouteFilter =
  | { readonly type: 'RequestHeaderModifier'; readonly modifier: HeaderModifier }
  | { readonly type: 'ResponseHeaderModifier'; readonly modifier: HeaderModifier }
  | {
      readonly type: 'RequestRedirect';
      readonly scheme?: 'http' | 'https';
      readonly hostname?: string;
      readonly path?: PathModifier;
      readonly port?: number;
      /** 301 or 302; default 302. */
      readonly statusCode: number;
    }
  | { readonly type: 'URLRewrite'; readonly hostname?: string; readonly path?: PathModifier }
  | {
      readonly type: 'RequestMirror';
      readonly backendRef: BackendRef;
      /** Share of requests mirrored, in percent (from `percent` or `fraction`); default 100. */
      readonly percent: number;
    };

/**
 * HTTPRouteTimeouts (GEP-1742), in ms; 0 disables a timeout. Absent: not given (the
 * implementation's default applies).
 */
export interface HttpRouteTimeouts {
  /** The whole request, retries included. */
  readonly requestMs?: number;
  /** One request from the gateway to a backend (one try). */
  readonly backendRequestMs?: number;
}

/** HTTPRouteRetry (GEP-1731). */
export interface HttpRouteRetry {
  /** Status codes (400..599) whose responses are retried. */
  readonly codes: readonly number[];
  /** Retries after the first try; absent: the implementation's default; 0: none. */
  readonly attempts?: number;
  /** The base interval between retries, in ms. */
  readonly backoffMs?: number;
}

/** SessionPersistence (GEP-1619), defaulted as the CRD defaults it. */
export interface SessionPersistence {
  readonly type: 'Cookie' | 'Header';
  readonly sessionName?: string;
  readonly absoluteTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /** cookieConfig.lifetimeType; default Session. */
  readonly lifetimeType: 'Permanent' | 'Session';
}

export interface HttpRouteRule {
  readonly name?: string;
  readonly matches: readonly HttpRouteMatch[];
  readonly filters: readonly HttpRouteFilter[];
  readonly backendRefs: readonly BackendRef[];
  readonly timeouts?: HttpRouteTimeouts;
  readonly retry?: HttpRouteRetry;
  readonly sessionPersistence?: SessionPersistence;
}

export interface HttpRoute {
  readonly kind: 'HTTPRoute' | 'GRPCRoute';
  readonly metadata: ObjectMeta;
  readonly parentRefs: readonly ParentRef[];
  readonly hostnames: readonly string[];
  readonly rules: readonly HttpRouteRule[];
}

/** TLSRoute (routed by SNI) and TCPRoute (one rule, no matching). */
export interface StreamRoute {
  readonly kind: 'TLSRoute' | 'TCPRoute';
  readonly metadata: ObjectMeta;
  readonly parentRefs: readonly ParentRef[];
  /** TLSRoute only. */
  readonly hostnames: readonly string[];
  readonly rules: readonly { readonly backendRefs: readonly BackendRef[] }[];
}

export type Route = HttpRoute | StreamRoute;

export interface ReferenceGrant {
  readonly kind: 'ReferenceGrant';
  readonly metadata: ObjectMeta;
  readonly from: readonly {
    readonly group: string;
    readonly kind: string;
    readonly namespace: string;
  }[];
  readonly to: readonly { readonly group: string; readonly kind: string; readonly name?: string }[];
}

export type GatewayApiResource = GatewayClass | Gateway | Route | ReferenceGrant;

/** A TLS certificate and key for `certificateRefs`: a Secret in Kubernetes, files locally. */
export interface TlsSecret {
  readonly name: string;
  readonly namespace: string;
  /** PEM. */
  readonly certificateChain: string;
  readonly privateKey: string;
  /**
   * Why the source's current content is refused (a key that does not match its
   * certificate), while `certificateChain`/`privateKey` are the last good pair, still served.
   */
  readonly problem?: string;
}

/** A mesh file `secrets:` entry: where the PEM files are. */
export interface SecretFiles {
  readonly name: string;
  readonly namespace: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/** Every Gateway API resource of the configuration, by kind. */
export interface GatewayApiConfig {
  readonly gatewayClasses: readonly GatewayClass[];
  readonly gateways: readonly Gateway[];
  readonly routes: readonly Route[];
  readonly referenceGrants: readonly ReferenceGrant[];
}

export const EMPTY_GATEWAY_API: GatewayApiConfig = Object.freeze({
  gatewayClasses: [],
  gateways: [],
  routes: [],
  referenceGrants: [],
});

/** The controller name Ferry's control plane answers to in GatewayClass.spec.controllerName. */
export const FERRY_CONTROLLER_NAME = 'ferry.io/gateway-controller';

export function isHttpRoute(r: Route): r is HttpRoute {
  return r.kind === 'HTTPRoute' || r.kind === 'GRPCRoute';
}

/** `<namespace>/<name>`, how resources are named in messages and secrets in SDS. */
export function namespacedName(m: { readonly namespace: string; readonly name: string }): string {
  return `${m.namespace}/${m.name}`;
}
