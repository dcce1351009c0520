/**
 * The route (logical) layer of the data path, as linkerd2-proxy's outbound stack names it:
 * what a request asks for, decided before any cluster or host is looked at. In order:
 * authorization (RBAC), the listener's rate limit, route match, then the route's filters
 * (its rate limit, fault injection). The answer is a refusal (a failure kind of the table
 * with what its reply needs), a route answered locally (direct response, redirect), a
 * delay (a fault) followed by either, or the forward route. Every protocol that routes by
 * request (HTTP/1.1 on both paths, HTTP/2, gRPC, upgrades, CONNECT) asks here, so a policy
 * is written once. Nothing is allocated on the forward path.
 */
import { FAILURE, type Failure, FLAG } from '../failure/index.js';
import type { FaultPolicy } from '../fault/index.js';
import type { LocalRateLimiter } from '../ratelimit/index.js';
import type { RbacEngine } from '../rbac/index.js';
import {
  type ForwardRoute,
  type MatchedRoute,
  type RouteRequest,
  type RouteTable,
  rewritePath,
} from '../router/index.js';

/** What the route layer reads of the configuration in force: swapped whole on an update. */
export interface RoutePolicy {
  readonly table: RouteTable | undefined;
  /** Authorization of requests on this listener (inbound), from the RBAC filters. */
  readonly rbac?: RbacEngine;
  /** The listener's port, as RBAC's destination_port sees it. */
  readonly port?: number;
  /** The listener's own rate limit (inbound: the service's), after authorization. */
  readonly rateLimit?: LocalRateLimiter;
  /** The table's per-route filters (fault injection, rate limits), compiled with it. */
  readonly filters?: RouteFilterSource;
}

/** A route's own HTTP filters (fault injection, rate limit), compiled. */
export interface RouteFilterSet {
  readonly fault: FaultPolicy | undefined;
  readonly limiter: LocalRateLimiter | undefined;
}

/** Where the route layer finds a route's filters. */
export interface RouteFilterSource {
  of(route: ForwardRoute): RouteFilterSet;
}

export interface RouteLayerEnv {
  readonly random: () => number;
}

/** A request the proxy answers itself: which failure, and what its reply needs. */
export class Refusal {
  readonly kind = 'refuse';
  constructor(
    readonly failure: Failure,
    /** The reply's body (gRPC: its message). */
    readonly detail: string,
    /** The HTTP status (a fault's or a limiter's configured one, or the table's). */
    readonly status: number,
    /** A gRPC status configuration chose (a fault's); undefined: from the status. */
    readonly grpcStatus: number | undefined,
    /** Response flags ('DI,FI' for an abort after a delay). */
    readonly flags: string,
    /** Authorization: the rule that refused it, and the peer. */
    readonly policy: string | undefined = undefined,
    readonly principal: string | undefined = undefined,
    /**
     * The cluster the route chose when the refusal came after routing (a route's rate
     * limit or fault, a tunnel's breakers): the metrics name it as the request's
     * destination, as Istio does; undefined before a route is chosen.
     */
    readonly clusterName: string | undefined = undefined,
  ) {}

  /** This refusal, for a request whose route chose `cluster`. */
  to(cluster: string | undefined): Refusal {
    return new Refusal(
      this.failure,
      this.detail,
      this.status,
      this.grpcStatus,
      this.flags,
      this.policy,
      this.principal,
      cluster,
    );
  }
}

/** A fault's delay: wait `ms`, then act on `then`. */
export class Delay {
  readonly kind = 'delay';
  constructor(
    readonly ms: number,
    readonly then: Refusal | ForwardRoute,
  ) {}
}

export type RouteDecision = Refusal | Delay | MatchedRoute;

/** The refusal of a failure kind, with the table's status and flag (and body, unless given). */
export function refusalOf(
  failure: Failure,
  detail = failure.body,
  status = failure.httpStatus,
): Refusal {
  return new Refusal(failure, detail, status, undefined, failure.flag);
}

/** The refusal of a request whose path cannot be normalized (before routing). */
export const MALFORMED_PATH = refusalOf(
  FAILURE.DOWNSTREAM_PROTOCOL_ERROR,
  'malformed percent-encoding in path',
);

/**
 * Authorization, the first step of the route layer, on its own for connections that carry
 * no request (TCP: conditions on methods and paths match nothing): the refusal with the
 * rule that made it, or undefined when allowed.
 */
export function authorize(
  rbac: RbacEngine,
  principal: string | undefined,
  method: string | undefined,
  path: string | undefined,
  port: number,
): Refusal | undefined {
  const decision = rbac.evaluate({ principal, method, path, port });
  if (decision.allowed) return undefined;
  const f = FAILURE.DENIED;
  return new Refusal(f, f.body, f.httpStatus, undefined, f.flag, decision.policy, principal);
}

/**
 * Decides a request's route. `principal` is the peer's identity (only read when the
 * listener authorizes); `request` is what routes match on.
 */
export function decideRoute(
  policy: RoutePolicy,
  env: RouteLayerEnv,
  request: RouteRequest,
  principal: string | undefined,
): RouteDecision {
  const rbac = policy.rbac;
  if (rbac !== undefined) {
    const denied = authorize(rbac, principal, request.method, request.path, policy.port ?? 0);
    if (denied !== undefined) return denied;
  }
  const listenerLimit = policy.rateLimit;
  if (listenerLimit !== undefined && !listenerLimit.allow(performance.now(), env.random)) {
    return refusalOf(FAILURE.RATE_LIMITED, FAILURE.RATE_LIMITED.body, listenerLimit.status);
  }
  const route = policy.table?.match(request);
  if (route === undefined) {
    return refusalOf(FAILURE.NO_ROUTE, `no route for ${request.authority}${request.path}`);
  }
  if (route.kind !== 'forward' || route.perFilterConfig === undefined) return route;
  const filters = policy.filters;
  if (filters === undefined) return route;
  const { fault, limiter } = filters.of(route);
  // The route's filters act after the route (and so its cluster) is chosen, as in Envoy,
  // where a weighted route resolves its cluster when the route is selected: their
  // refusals name that cluster, so the metrics report the destination the request had.
  if (limiter !== undefined && !limiter.allow(performance.now(), env.random)) {
    return new Refusal(
      FAILURE.RATE_LIMITED,
      FAILURE.RATE_LIMITED.body,
      limiter.status,
      undefined,
      FAILURE.RATE_LIMITED.flag,
      undefined,
      undefined,
      route.pickCluster(env.random(), request),
    );
  }
  const decision = fault?.decide(request.headers, env.random);
  if (decision === undefined) return route;
  const abort = decision.abort;
  const delayed = decision.delayMs > 0;
  const then =
    abort === undefined
      ? route
      : new Refusal(
          FAILURE.FAULT_ABORT,
          FAILURE.FAULT_ABORT.body,
          abort.httpStatus ?? 200,
          abort.grpcStatus,
          delayed ? `${FLAG.FAULT_DELAY},${FLAG.FAULT_ABORT}` : FLAG.FAULT_ABORT,
          undefined,
          undefined,
          route.pickCluster(env.random(), request),
        );
  return delayed ? new Delay(decision.delayMs, then) : then;
}

/** The path a forward route sends upstream: its prefix or regex rewrite, if it has one. */
export function upstreamPath(route: ForwardRoute, path: string): string {
  return route.pathRewrite ? rewritePath(route, path) : path;
}

/** The authority a forward route sends upstream: its host rewrite, if it has one. */
export function upstreamAuthority(route: ForwardRoute, authority: string): string {
  return route.hostRewrite ?? authority;
}
