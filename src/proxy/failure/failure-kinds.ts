/**
 * The one table of the data path's failures: for each kind, its stable code, the HTTP status
 * and gRPC status a client is answered with, Envoy's response flag, the default body, and the
 * counter it adds to. Every reply the proxy makes itself (HTTP/1.1 both paths, HTTP/2, gRPC,
 * upgrades, CONNECT) is built from an entry here; nothing else spells a status for a failure.
 *
 * gRPC statuses follow https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md;
 * flags and bodies follow Envoy's router (so dashboards built for Envoy read Ferry the same).
 */
import { FLAG, type ResponseFlag } from './response-flags.js';

/** gRPC status codes (https://grpc.github.io/grpc/core/md_doc_statuscodes.html) used here. */
export const GRPC = {
  UNKNOWN: 2,
  PERMISSION_DENIED: 7,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** The data path's counters a failure adds to (fields of the proxy's stats). */
export type FailureCounter =
  | 'denied'
  | 'rateLimited'
  | 'faults'
  | 'noRoute'
  | 'noCluster'
  | 'noHealthyUpstream'
  | 'overflows'
  | 'upstreamConnectFailures'
  | 'upstreamTimeouts'
  | 'downstreamProtocolErrors'
  | 'upstreamProtocolErrors'
  | 'downstreamResets';

export interface Failure {
  /** Stable code: FerryError.code of the error that stands for it, and what logs show. */
  readonly code: string;
  /** The HTTP status answered (overridable where configuration sets it: faults, limits). */
  readonly httpStatus: number;
  /** The gRPC status answered to a gRPC request, in a trailers-only response. */
  readonly grpcStatus: number;
  /** Envoy's response flag ('' where Envoy sets none). */
  readonly flag: ResponseFlag | '';
  /** The reply's body (gRPC: its grpc-message), unless a detail replaces it. */
  readonly body: string;
  /** The counter it adds to; undefined: only the request totals see it. */
  readonly counter: FailureCounter | undefined;
}

function failure(
  code: string,
  httpStatus: number,
  grpcStatus: number,
  flag: ResponseFlag | '',
  body: string,
  counter: FailureCounter | undefined,
): Failure {
  return Object.freeze({ code, httpStatus, grpcStatus, flag, body, counter });
}

const RESET_BEFORE_HEADERS =
  'upstream connect error or disconnect/reset before headers. reset reason:';

export const FAILURE = {
  /** The request itself is malformed (head, path, framing of its body). */
  DOWNSTREAM_PROTOCOL_ERROR: failure(
    'FERRY_DOWNSTREAM_PROTOCOL_ERROR',
    400,
    GRPC.INTERNAL,
    FLAG.DOWNSTREAM_PROTOCOL_ERROR,
    'malformed request',
    'downstreamProtocolErrors',
  ),
  /** Authorization (RBAC) refused it: Envoy's 403 "RBAC: access denied". */
  DENIED: failure(
    'FERRY_RBAC_DENIED',
    403,
    GRPC.PERMISSION_DENIED,
    '',
    'RBAC: access denied',
    'denied',
  ),
  /** A local rate limit (the listener's or the route's) turned it away. */
  RATE_LIMITED: failure(
    'FERRY_RATE_LIMITED',
    429,
    GRPC.UNAVAILABLE,
    FLAG.RATE_LIMITED,
    'local_rate_limited',
    'rateLimited',
  ),
  /** Fault injection aborted it (status from the fault's configuration). */
  FAULT_ABORT: failure(
    'FERRY_FAULT_ABORT',
    503,
    GRPC.UNAVAILABLE,
    FLAG.FAULT_ABORT,
    'fault filter abort',
    'faults',
  ),
  NO_ROUTE: failure(
    'FERRY_NO_ROUTE',
    404,
    GRPC.UNIMPLEMENTED,
    FLAG.NO_ROUTE,
    'no route',
    'noRoute',
  ),
  NO_CLUSTER: failure(
    'FERRY_NO_CLUSTER',
    503,
    GRPC.UNAVAILABLE,
    FLAG.NO_CLUSTER,
    'no cluster',
    'noCluster',
  ),
  NO_HEALTHY_UPSTREAM: failure(
    'FERRY_NO_HEALTHY_UPSTREAM',
    503,
    GRPC.UNAVAILABLE,
    FLAG.NO_HEALTHY_UPSTREAM,
    'no healthy upstream',
    'noHealthyUpstream',
  ),
  /** A circuit breaker (max_requests, max_pending_requests) refused it at once. */
  OVERFLOW: failure(
    'FERRY_UPSTREAM_OVERFLOW',
    503,
    GRPC.UNAVAILABLE,
    FLAG.UPSTREAM_OVERFLOW,
    'upstream overflow',
    'overflows',
  ),
  CONNECT_FAILURE: failure(
    'FERRY_UPSTREAM_CONNECT_FAILURE',
    503,
    GRPC.UNAVAILABLE,
    FLAG.UPSTREAM_CONNECT_FAILURE,
    `${RESET_BEFORE_HEADERS} connection failure`,
    'upstreamConnectFailures',
  ),
  CONNECTION_TERMINATION: failure(
    'FERRY_UPSTREAM_RESET',
    503,
    GRPC.UNAVAILABLE,
    FLAG.UPSTREAM_CONNECTION_TERMINATION,
    `${RESET_BEFORE_HEADERS} connection termination`,
    undefined,
  ),
  UPSTREAM_TIMEOUT: failure(
    'FERRY_UPSTREAM_TIMEOUT',
    504,
    GRPC.UNAVAILABLE,
    FLAG.UPSTREAM_TIMEOUT,
    'upstream request timeout',
    'upstreamTimeouts',
  ),
  /** The upstream's answer is not HTTP, or cannot be carried downstream: Envoy's 502 UPE. */
  UPSTREAM_PROTOCOL_ERROR: failure(
    'FERRY_UPSTREAM_PROTOCOL_ERROR',
    502,
    GRPC.UNAVAILABLE,
    FLAG.UPSTREAM_PROTOCOL_ERROR,
    'upstream protocol error',
    'upstreamProtocolErrors',
  ),
  /** The client went away first: nothing is answered. */
  DOWNSTREAM_CLOSED: failure(
    'FERRY_DOWNSTREAM_CLOSED',
    0,
    GRPC.UNAVAILABLE,
    FLAG.DOWNSTREAM_CONNECTION_TERMINATION,
    'downstream closed',
    'downstreamResets',
  ),
} as const;

/** gRPC status for an HTTP status a configuration chose (a fault's, a rate limit's). */
export function grpcStatusForHttp(status: number): number {
  switch (status) {
    case 400:
      return GRPC.INTERNAL;
    case 401:
      return GRPC.UNAUTHENTICATED;
    case 403:
      return GRPC.PERMISSION_DENIED;
    case 404:
      return GRPC.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC.UNAVAILABLE;
    default:
      return GRPC.UNKNOWN;
  }
}

/**
 * The gRPC status a failure is answered with: the one configuration chose, else the table's
 * for its own status, else the one a configured HTTP status maps to.
 */
export function grpcStatusOf(f: Failure, httpStatus: number, chosen?: number): number {
  if (chosen !== undefined) return chosen;
  return httpStatus === f.httpStatus ? f.grpcStatus : grpcStatusForHttp(httpStatus);
}

/** Adds a failure to its counter, if it has one. */
export function countFailure(stats: Record<FailureCounter, number>, f: Failure): void {
  if (f.counter !== undefined) stats[f.counter]++;
}

/** The failures a response flag stands for, with a counter: what a finished exchange adds to. */
const FLAGGED: readonly Failure[] = Object.values(FAILURE).filter(
  (f) => f.flag !== '' && f.counter !== undefined,
);

/**
 * Adds an exchange's failures, read from its response flags, to their counters: the table's
 * mapping, so a flag and its counter are spelled in one place. Runs only for a request that
 * ended with flags (a failure), never on the successful path.
 */
export function countFlags(stats: Record<FailureCounter, number>, flags: string): void {
  for (let i = 0; i < FLAGGED.length; i++) {
    const f = FLAGGED[i]!;
    if (flags.includes(f.flag)) stats[f.counter!]++;
  }
}
