/**
 * Access logs: one JSON line per request through pino, written asynchronously (a slow
 * disk does not slow traffic). Off unless asked for; when off, nothing is called.
 * Fields follow Envoy's default format where it has one (response_flags in its vocabulary).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type DestinationStream, destination, pino } from 'pino';
import type { TcpOutcome } from '../tcp/index.js';
import { requestPrincipal, socketPrincipal } from '../tls/index.js';

/**
 * What the log reads of a request that went upstream: an Exchange, or a tunnel (an upgrade
 * or a CONNECT, logged when it closes, with the bytes of its whole life).
 */
export interface LoggedExchange {
  readonly req: {
    readonly method?: string | undefined;
    readonly headers: IncomingHttpHeaders;
    readonly httpVersion?: string;
  };
  readonly startedAt: number;
  readonly authority: string;
  /** Undefined for CONNECT, whose target is an authority only. */
  readonly path: string | undefined;
  readonly status: number;
  readonly grpcStatus: string;
  readonly flags: string;
  readonly requestBytes: number;
  readonly responseBytes: number;
  readonly cluster: { readonly name: string };
  readonly upstreamHost: { readonly key: string } | undefined;
  readonly attempts: number;
  readonly traceId: string | undefined;
}

export interface AccessLog {
  exchange(x: LoggedExchange): void;
  local(
    method: string,
    headers: IncomingHttpHeaders,
    authority: string,
    path: string,
    status: number,
    flag: string,
  ): void;
  /** A proxied TCP connection, when it closes. */
  tcp(x: TcpOutcome): void;
  flush(): void;
}

function requestId(headers: IncomingHttpHeaders): string | undefined {
  const id = headers['x-request-id'];
  return typeof id === 'string' ? id : undefined;
}

/** The trace id a request carries (W3C traceparent or B3), when it has one. */
function traceIdOf(headers: IncomingHttpHeaders): string | undefined {
  const tp = headers.traceparent;
  if (typeof tp === 'string' && tp.length >= 35) return tp.slice(3, 35);
  const b3 = headers.b3 ?? headers['x-b3-traceid'];
  if (typeof b3 === 'string') return b3.split('-')[0];
  return undefined;
}

/** An access log to a file path, or '-' for standard output. */
export function createAccessLog(target: string, direction: 'outbound' | 'inbound'): AccessLog {
  const dest: DestinationStream = destination({
    dest: target === '-' ? 1 : target,
    sync: false,
    mkdir: true,
  });
  const log = pino({ base: null, timestamp: false, messageKey: 'msg' }, dest);
  return {
    exchange(x) {
      const req = x.req;
      log.info({
        start_time: new Date(performance.timeOrigin + x.startedAt).toISOString(),
        direction,
        method: req.method,
        authority: x.authority,
        path: x.path,
        protocol: req.httpVersion === '2.0' ? 'HTTP/2' : 'HTTP/1.1',
        response_code: x.status,
        grpc_status: x.grpcStatus || undefined,
        response_flags: x.flags || '-',
        bytes_received: x.requestBytes,
        bytes_sent: x.responseBytes,
        duration_ms: Math.round((performance.now() - x.startedAt) * 1000) / 1000,
        upstream_cluster: x.cluster.name,
        upstream_host: x.upstreamHost?.key ?? null,
        attempts: x.attempts,
        request_id: requestId(req.headers),
        trace_id: x.traceId ?? traceIdOf(req.headers),
        peer: requestPrincipal(req),
      });
    },
    local(method, headers, authority, path, status, flag) {
      log.info({
        start_time: new Date().toISOString(),
        direction,
        method,
        authority,
        path,
        response_code: status,
        response_flags: flag,
        request_id: requestId(headers),
        trace_id: traceIdOf(headers),
      });
    },
    tcp(x) {
      log.info({
        start_time: new Date(performance.timeOrigin + x.startedAt).toISOString(),
        direction,
        protocol: 'TCP',
        // Envoy's flags: no healthy upstream, or the upstream connection failed.
        response_flags: x.host === undefined ? 'UH' : x.failed ? 'UF' : '-',
        bytes_received: x.received,
        bytes_sent: x.sent,
        duration_ms: Math.round((performance.now() - x.startedAt) * 1000) / 1000,
        upstream_cluster: x.cluster.name,
        upstream_host: x.host?.key ?? null,
        peer: socketPrincipal(x.downstream),
      });
    },
    flush() {
      try {
        (dest as { flushSync?: () => void }).flushSync?.();
      } catch {
        // The file is still opening: what is buffered is written once it is open.
      }
    },
  };
}
