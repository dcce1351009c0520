/**
 * One request as `ferry tap` shows it, built from what a listener's metrics hook is given
 * when the request ends (an Exchange, or a local reply's outcome). Built only while someone
 * taps: an idle sidecar never calls this.
 */
import type { RequestOutcome } from '../http/index.js';
import { requestPrincipal } from '../tls/index.js';

export type TapDirection = 'inbound' | 'outbound';

export interface TapEvent {
  readonly kind: 'request';
  /** When the request ended. */
  readonly at: string;
  readonly direction: TapDirection;
  /** The caller as `name.namespace`: this workload outbound, the peer's identity inbound. */
  readonly source: string;
  /** The callee as `name.namespace`: the upstream service outbound, this workload inbound. */
  readonly destination: string;
  readonly method: string;
  readonly authority: string;
  readonly path: string;
  readonly status: number;
  /** The gRPC status, when the request was gRPC and one came back. */
  readonly grpcStatus: string | undefined;
  /** From the request's arrival to its end, milliseconds. */
  readonly latencyMs: number;
  /** The downstream peer's SPIFFE ID (inbound mutual TLS), when it has one. */
  readonly peer: string | undefined;
  /** Envoy's response flags, '-' when none. */
  readonly flags: string;
  /** The cluster the request was sent to ('' when none was chosen). */
  readonly cluster: string;
  /** The upstream host of the last attempt, `ip:port`. */
  readonly upstream: string | undefined;
}

export const UNKNOWN_PEER = 'unknown';

/** The parts of an Exchange the tap reads; a local reply's outcome has none of them. */
interface ExchangeLike {
  readonly authority?: string;
  readonly path?: string;
  readonly upstreamHost?: { readonly key: string };
}

interface RequestLike {
  readonly method?: string;
  readonly url?: string;
  readonly headers?: Record<string, string | string[] | undefined>;
}

/** `name.namespace` of a SPIFFE ID `spiffe://<td>/ns/<ns>/sa/<account>`. */
export function principalName(principal: string | undefined): string {
  if (principal === undefined) return UNKNOWN_PEER;
  const m = /\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(principal);
  return m ? `${m[2]}.${m[1]}` : principal;
}

/** `name.namespace` of the service an outbound cluster (`outbound|PORT|SUBSET|HOST`) stands for. */
export function clusterService(cluster: string, authority: string): string {
  const host = cluster.split('|')[3] || hostOf(authority);
  const [name = '', namespace] = host.split('.');
  return namespace === undefined ? name : `${name}.${namespace}`;
}

function hostOf(authority: string): string {
  if (authority.startsWith('[')) return authority.slice(0, authority.indexOf(']') + 1);
  const colon = authority.indexOf(':');
  return colon < 0 ? authority : authority.slice(0, colon);
}

function header(req: RequestLike, name: string): string | undefined {
  const v = req.headers?.[name];
  return typeof v === 'string' ? v : undefined;
}

export function tapEvent(
  direction: TapDirection,
  self: string,
  x: RequestOutcome,
  now: number,
): TapEvent {
  const req = (x.downstreamSocket ?? {}) as RequestLike;
  const ex = x as RequestOutcome & ExchangeLike;
  const authority = ex.authority ?? header(req, ':authority') ?? header(req, 'host') ?? '';
  const cluster = x.clusterName ?? '';
  const peer = direction === 'inbound' ? requestPrincipal(req) : undefined;
  return {
    kind: 'request',
    at: new Date(performance.timeOrigin + now).toISOString(),
    direction,
    source: direction === 'outbound' ? self : principalName(peer),
    destination: direction === 'outbound' ? clusterService(cluster, authority) : self,
    method: req.method ?? '',
    authority,
    path: ex.path ?? req.url ?? '',
    status: x.status,
    grpcStatus: x.grpcStatus || undefined,
    latencyMs: Math.round((now - x.startedAt) * 1000) / 1000,
    peer,
    flags: x.flags || '-',
    cluster,
    upstream: ex.upstreamHost?.key,
  };
}
