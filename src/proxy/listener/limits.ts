/**
 * What one downstream client may hold of a sidecar: how long it may take to send a request
 * head, how long a connection may sit idle, how large and how many header fields a head may
 * have, how many bytes a client may pipeline behind a request still being answered, and on
 * HTTP/2 how many streams it may open at once and how many it may reset before their
 * response (CVE-2023-44487). Each default is nginx's or Envoy's (named below), and each time
 * a limit acts it is counted (ferry_proxy_downstream_limits_total{limit}).
 */
import { FerryError } from '../../errors/index.js';

export interface ListenerLimits {
  /**
   * A request head must be complete this long after its first byte (or, on a new
   * connection, after the connection opened); else the connection is closed. nginx's
   * client_header_timeout, 60 s (Envoy's request_headers_timeout is off by default).
   */
  readonly headersTimeoutMs: number;
  /**
   * A connection with no request under way (HTTP/1.1) or no stream open (HTTP/2) is closed
   * after this long. nginx's keepalive_timeout, 75 s (Envoy's idle_timeout is 1 h).
   */
  readonly idleTimeoutMs: number;
  /** Largest request head, in bytes (431 beyond). Envoy's max_request_headers_kb, 60 KiB. */
  readonly maxHeadBytes: number;
  /** Most header fields in a request head (431 beyond). Envoy's max_headers_count, 100. */
  readonly maxHeaders: number;
  /**
   * Bytes read ahead of a request still being answered (pipelined requests) before the
   * socket is no longer read (TCP backpressure reaches the client). Envoy buffers 1 MiB per
   * connection (per_connection_buffer_limit_bytes); nginx reads no further than its header
   * buffers (4 × 8 KiB): the size of one largest head is enough to see the next request.
   */
  readonly maxPipelinedBytes: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS. nginx's http2_max_concurrent_streams, 128. */
  readonly h2MaxConcurrentStreams: number;
  /**
   * HTTP/2 rapid reset: once a connection has opened this many streams, it is sent GOAWAY
   * (ENHANCE_YOUR_CALM) and closed when more than half of its streams were reset by the
   * client before their response finished. Envoy's premature-reset rule (more than 50%
   * premature resets), checked from 100 streams on.
   */
  readonly h2ResetMinStreams: number;
  /**
   * A proxied TCP connection with no bytes either way this long is closed, where the
   * configuration (tcp_proxy idle_timeout) sets nothing. Envoy's default, 1 h.
   */
  readonly tcpIdleTimeoutMs: number;
}

export const DEFAULT_LIMITS: ListenerLimits = {
  headersTimeoutMs: 60_000,
  idleTimeoutMs: 75_000,
  maxHeadBytes: 60 * 1024,
  maxHeaders: 100,
  maxPipelinedBytes: 60 * 1024,
  h2MaxConcurrentStreams: 128,
  h2ResetMinStreams: 100,
  tcpIdleTimeoutMs: 3_600_000,
};

/** Why a connection or request was cut short by a limit: the counter's `limit` label. */
export const LIMIT = {
  HEADERS_TIMEOUT: 'headers_timeout',
  IDLE_TIMEOUT: 'idle_timeout',
  HEAD_TOO_LARGE: 'head_too_large',
  TOO_MANY_HEADERS: 'too_many_headers',
  PIPELINE_PAUSED: 'pipeline_paused',
  H2_STREAMS_REFUSED: 'h2_streams_refused',
  H2_RAPID_RESET: 'h2_rapid_reset',
  H2_PROTOCOL_ERROR: 'h2_protocol_error',
  TCP_IDLE_TIMEOUT: 'tcp_idle_timeout',
} as const;
export type LimitName = (typeof LIMIT)[keyof typeof LIMIT];
export const LIMIT_NAMES: readonly LimitName[] = Object.values(LIMIT);

/** How often each limit acted, shared by the listeners of a sidecar. */
export class LimitCounters {
  readonly counts: Record<LimitName, number> = Object.fromEntries(
    LIMIT_NAMES.map((n) => [n, 0]),
  ) as Record<LimitName, number>;

  hit(limit: LimitName): void {
    this.counts[limit]++;
  }
}

/** Limits that make no sense (zero, negative, fractional). */
export class LimitsError extends FerryError {
  constructor(message: string) {
    super('FERRY_LIMITS_INVALID', message);
  }
}

/** Checks limits given by hand (flags, tests): whole numbers, positive where zero makes no sense. */
export function checkLimits(limits: Partial<ListenerLimits>): ListenerLimits {
  const merged = { ...DEFAULT_LIMITS, ...limits };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new LimitsError(`limit ${name} must be a positive whole number, got ${value}`);
    }
  }
  if (merged.maxHeaders < 4) throw new LimitsError('limit maxHeaders must be at least 4');
  return merged;
}
