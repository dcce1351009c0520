/**
 * What the router is asked (a request) and what it answers (a matched route): the contract
 * between the route table and the data path.
 */
import type { HashPolicy } from './hash-policy.js';
import type { HeaderMutation } from './header-mutation.js';
import type { MirrorPolicy } from './mirror-policy.js';
import type { PathRewrite } from './path-rewrite.js';
import type { RetryPolicy } from './retry-policy.js';
import type { SessionPolicy } from './session-policy.js';

/** Request headers as node's IncomingMessage.headers has them: lower-case names. */
export type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

export interface RouteRequest {
  /** The Host header (HTTP/1.1) or :authority (HTTP/2), possibly with a port. */
  readonly authority: string;
  /** The request target, with its query string. */
  readonly path: string;
  readonly method: string;
  readonly headers: RequestHeaders;
}

interface RouteCommon {
  /** The route's name (may repeat within a virtual host, and may be ''). */
  readonly name: string;
  /** The name of the virtual host the route belongs to. */
  readonly virtualHost: string;
}

/** A route that forwards to a cluster (RouteAction). */
export interface ForwardRoute extends RouteCommon {
  readonly kind: 'forward';
  /** The route's typed_per_filter_config, for the HTTP filters to compile (by filter name). */
  readonly perFilterConfig: Readonly<Record<string, object>> | undefined;
  /**
   * The cluster for this request. Weighted clusters pick by `random`, in [0, 1), against
   * cumulative weights. Undefined only for a `cluster_header` route whose header is absent
   * or empty (Envoy answers 503 then).
   */
  pickCluster(random: number, req: RouteRequest): string | undefined;
  /** A weighted route's clusters (where a sticky session looks for its host); else empty. */
  readonly weightedClusters: readonly string[];
  /** The route timeout in ms: 15000 when unset, 0 = disabled. */
  readonly timeoutMs: number;
  /** The stream idle timeout in ms when the route sets one (0 = disabled). */
  readonly idleTimeoutMs: number | undefined;
  /** The route's retry policy, else its virtual host's (never merged), else undefined. */
  readonly retry: RetryPolicy | undefined;
  /** The status when the picked cluster does not exist (cluster_not_found_response_code). */
  readonly clusterNotFoundStatus: number;
  readonly prefixRewrite: string | undefined;
  /** The prefix of a prefix or path_separated_prefix route (lower-cased if case-insensitive). */
  readonly matchedPrefix: string | undefined;
  /** host_rewrite_literal: the authority to send upstream instead of the client's. */
  readonly hostRewrite: string | undefined;
  readonly hashPolicies: readonly HashPolicy[];
  /** How rewritePath() changes the path; undefined when it leaves it as it is. */
  readonly pathRewrite: PathRewrite | undefined;
  /** Where shadow copies of the route's requests go; undefined when it mirrors nothing. */
  readonly mirrors: readonly MirrorPolicy[] | undefined;
  /** request_headers_to_add/_remove of the route, its virtual host and configuration. */
  readonly requestHeaders: HeaderMutation | undefined;
  /** response_headers_to_add/_remove, likewise. */
  readonly responseHeaders: HeaderMutation | undefined;
  /** Sticky sessions (its stateful_session per-route config); undefined: none, no cost. */
  readonly session: SessionPolicy | undefined;
}

/** A route answered by the proxy itself (DirectResponseAction). */
export interface DirectResponseRoute extends RouteCommon {
  readonly kind: 'direct-response';
  readonly status: number;
  /** The body, encoded once at config time; undefined for none. */
  readonly body: Buffer | undefined;
}

/** A route answered with a redirect (RedirectAction); see redirectLocation(). */
export interface RedirectRoute extends RouteCommon {
  readonly kind: 'redirect';
  /** 301, 302, 303, 307 or 308. */
  readonly status: number;
  readonly scheme: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** path_redirect: replaces the path (and the query, if it has one). */
  readonly path: string | undefined;
  readonly pathRewrite: PathRewrite | undefined;
  readonly stripQuery: boolean;
}

export type MatchedRoute = ForwardRoute | DirectResponseRoute | RedirectRoute;

/** The path to send upstream: the route's prefix_rewrite / regex_rewrite applied to `path`. */
export function rewritePath(route: ForwardRoute, path: string): string {
  return route.pathRewrite === undefined ? path : route.pathRewrite.apply(path);
}
