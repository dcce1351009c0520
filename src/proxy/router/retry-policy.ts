/**
 * Retry policies: compiled from envoy.config.route.v3.RetryPolicy, and the decisions the
 * data path asks of them (retry this response? this error? how long to back off?).
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-retrypolicy
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/router_filter#x-envoy-retry-on
 */
import type { envoy } from '../../xds/index.js';
import { int64, readDurationMs } from './duration.js';
import {
  compileHeaderMatcher,
  type HeaderMatch,
  headerString,
  matchHeaderValue,
} from './header-matcher.js';
import type { RequestHeaders } from './route.js';

/** Retry conditions as bits, one per name Envoy accepts in `retry_on`. */
export const RETRY_ON = Object.freeze({
  FIVE_XX: 1 << 0,
  GATEWAY_ERROR: 1 << 1,
  RESET: 1 << 2,
  CONNECT_FAILURE: 1 << 3,
  REFUSED_STREAM: 1 << 4,
  RETRIABLE_4XX: 1 << 5,
  RETRIABLE_STATUS_CODES: 1 << 6,
  RETRIABLE_HEADERS: 1 << 7,
  ENVOY_RATELIMITED: 1 << 8,
  RESET_BEFORE_REQUEST: 1 << 9,
  HTTP3_POST_CONNECT_FAILURE: 1 << 10,
  GRPC_CANCELLED: 1 << 11,
  GRPC_DEADLINE_EXCEEDED: 1 << 12,
  GRPC_RESOURCE_EXHAUSTED: 1 << 13,
  GRPC_UNAVAILABLE: 1 << 14,
  GRPC_INTERNAL: 1 << 15,
});

const RETRY_ON_NAMES: ReadonlyMap<string, number> = new Map([
  ['5xx', RETRY_ON.FIVE_XX],
  ['gateway-error', RETRY_ON.GATEWAY_ERROR],
  ['reset', RETRY_ON.RESET],
  ['connect-failure', RETRY_ON.CONNECT_FAILURE],
  ['refused-stream', RETRY_ON.REFUSED_STREAM],
  ['retriable-4xx', RETRY_ON.RETRIABLE_4XX],
  ['retriable-status-codes', RETRY_ON.RETRIABLE_STATUS_CODES],
  ['retriable-headers', RETRY_ON.RETRIABLE_HEADERS],
  ['envoy-ratelimited', RETRY_ON.ENVOY_RATELIMITED],
  ['reset-before-request', RETRY_ON.RESET_BEFORE_REQUEST],
  ['http3-post-connect-failure', RETRY_ON.HTTP3_POST_CONNECT_FAILURE],
  // x-envoy-retry-grpc-on conditions, which Envoy also accepts in retry_on.
  ['cancelled', RETRY_ON.GRPC_CANCELLED],
  ['deadline-exceeded', RETRY_ON.GRPC_DEADLINE_EXCEEDED],
  ['resource-exhausted', RETRY_ON.GRPC_RESOURCE_EXHAUSTED],
  ['unavailable', RETRY_ON.GRPC_UNAVAILABLE],
  ['internal', RETRY_ON.GRPC_INTERNAL],
]);

/** Envoy's defaults when a retry policy leaves them out. */
export const RETRY_DEFAULTS = Object.freeze({
  numRetries: 1,
  backoffBaseMs: 25,
  backoffMaxFactor: 10,
  hostSelectionMaxAttempts: 1,
});

export interface RetryPolicy {
  /** Bit set of RETRY_ON.*. */
  readonly on: number;
  /** Retries after the first attempt; Envoy's default is 1. */
  readonly numRetries: number;
  /** Timeout of each attempt in ms; 0 = none (only the route timeout applies). */
  readonly perTryTimeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  /** Consulted only under RETRY_ON.RETRIABLE_STATUS_CODES. */
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** Response-header matchers, consulted only under RETRY_ON.RETRIABLE_HEADERS. */
  readonly retriableHeaders: readonly HeaderMatch[];
  /** How many times to pick a host for one attempt (retry_host_predicate); Envoy default 1. */
  readonly hostSelectionMaxAttempts: number;
}

export type RetryOnResult = { ok: true; on: number } | { ok: false; error: string };

/** Parses Envoy's comma-separated `retry_on`; an unknown condition is an error naming it. */
export function parseRetryOn(s: string | undefined): RetryOnResult {
  let on = 0;
  if (!s) return { ok: true, on };
  const unknown: string[] = [];
  for (const part of s.split(',')) {
    const name = part.trim();
    if (name.length === 0) continue;
    const bit = RETRY_ON_NAMES.get(name);
    if (bit === undefined) unknown.push(name);
    else on |= bit;
  }
  if (unknown.length) {
    const list = unknown.map((n) => JSON.stringify(n)).join(', ');
    return {
      ok: false,
      error: `unknown retry_on condition${unknown.length > 1 ? 's' : ''} ${list}`,
    };
  }
  return { ok: true, on };
}

/** Compiles a RetryPolicy; problems are pushed to `errors` and give undefined. */
export function compileRetryPolicy(
  r: envoy.RetryPolicy,
  where: string,
  errors: string[],
): RetryPolicy | undefined {
  const before = errors.length;
  const parsed = parseRetryOn(r.retry_on);
  if (!parsed.ok) errors.push(`${where}: ${parsed.error}`);

  // A wrapper present without a value is 0 (proto3); only an absent one takes the default.
  const numRetries =
    r.num_retries === undefined ? RETRY_DEFAULTS.numRetries : (r.num_retries.value ?? 0);
  if (!Number.isInteger(numRetries) || numRetries < 0) {
    errors.push(`${where}: num_retries must be a non-negative integer`);
  }
  const perTry = readDurationMs(r.per_try_timeout, 0, `${where}: per_try_timeout`, errors);

  const backOff = r.retry_back_off;
  let base: number | undefined = RETRY_DEFAULTS.backoffBaseMs;
  let max: number | undefined = base * RETRY_DEFAULTS.backoffMaxFactor;
  if (backOff) {
    base = readDurationMs(
      backOff.base_interval,
      undefined,
      `${where}: retry_back_off.base_interval`,
      errors,
    );
    if (backOff.base_interval === undefined) {
      errors.push(`${where}: retry_back_off.base_interval is required`);
    } else if (base !== undefined && base <= 0) {
      errors.push(`${where}: retry_back_off.base_interval must be greater than zero`);
    }
    // "Values less than 1 ms are rounded up to 1 ms."
    if (base !== undefined && base > 0 && base < 1) base = 1;
    max = readDurationMs(
      backOff.max_interval,
      base === undefined ? undefined : base * RETRY_DEFAULTS.backoffMaxFactor,
      `${where}: retry_back_off.max_interval`,
      errors,
    );
    if (base !== undefined && max !== undefined && max < base) {
      errors.push(`${where}: retry_back_off.max_interval must not be less than base_interval`);
    }
  }

  const codes = new Set<number>();
  for (const c of r.retriable_status_codes ?? []) {
    if (!Number.isInteger(c) || c < 100 || c > 599) {
      errors.push(`${where}: retriable status code ${c} is not an HTTP status`);
    } else codes.add(c);
  }

  const headers: HeaderMatch[] = [];
  for (const h of r.retriable_headers ?? []) {
    const m = compileHeaderMatcher(h);
    if (m.ok) headers.push(m.match);
    else errors.push(`${where}: retriable_headers: ${m.error}`);
  }

  const attempts =
    int64(r.host_selection_retry_max_attempts) ?? RETRY_DEFAULTS.hostSelectionMaxAttempts;
  if (Number.isNaN(attempts))
    errors.push(`${where}: host_selection_retry_max_attempts is not an integer`);

  if (errors.length > before || !parsed.ok) return undefined;
  return Object.freeze({
    on: parsed.on,
    numRetries,
    perTryTimeoutMs: perTry ?? 0,
    backoffBaseMs: base!,
    backoffMaxMs: max!,
    retriableStatusCodes: codes,
    retriableHeaders: Object.freeze(headers),
    hostSelectionMaxAttempts: Math.max(1, attempts),
  });
}

const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_INTERNAL = 13;
const GRPC_UNAVAILABLE = 14;

function grpcBit(grpcStatus: number): number {
  switch (grpcStatus) {
    case GRPC_CANCELLED:
      return RETRY_ON.GRPC_CANCELLED;
    case GRPC_DEADLINE_EXCEEDED:
      return RETRY_ON.GRPC_DEADLINE_EXCEEDED;
    case GRPC_RESOURCE_EXHAUSTED:
      return RETRY_ON.GRPC_RESOURCE_EXHAUSTED;
    case GRPC_INTERNAL:
      return RETRY_ON.GRPC_INTERNAL;
    case GRPC_UNAVAILABLE:
      return RETRY_ON.GRPC_UNAVAILABLE;
    default:
      return 0;
  }
}

function matchesRetriableHeaders(
  policy: RetryPolicy,
  status: number,
  headers: RequestHeaders,
): boolean {
  const ms = policy.retriableHeaders;
  for (let i = 0; i < ms.length; i++) {
    const m = ms[i]!;
    const v = m.name === ':status' ? String(status) : headerString(headers[m.name]);
    if (matchHeaderValue(m, v)) return true;
  }
  return false;
}

/**
 * Whether a response (its HTTP status, its grpc-status if any, and optionally its headers)
 * should be retried under `policy`. As in Envoy, a response carrying `x-envoy-ratelimited`
 * is retried only under `envoy-ratelimited`, whatever else the policy says.
 */
export function shouldRetryStatus(
  policy: RetryPolicy,
  status: number,
  grpcStatus: number | undefined,
  headers?: RequestHeaders,
): boolean {
  const on = policy.on;
  if (headers !== undefined && headers['x-envoy-ratelimited'] !== undefined) {
    return (on & RETRY_ON.ENVOY_RATELIMITED) !== 0;
  }
  if (on & RETRY_ON.FIVE_XX && status >= 500 && status <= 599) return true;
  if (on & RETRY_ON.GATEWAY_ERROR && (status === 502 || status === 503 || status === 504)) {
    return true;
  }
  if (on & RETRY_ON.RETRIABLE_4XX && status === 409) return true;
  if (on & RETRY_ON.RETRIABLE_STATUS_CODES && policy.retriableStatusCodes.has(status)) return true;
  if (grpcStatus !== undefined && (on & grpcBit(grpcStatus)) !== 0) return true;
  if (on & RETRY_ON.RETRIABLE_HEADERS && headers !== undefined) {
    return matchesRetriableHeaders(policy, status, headers);
  }
  return false;
}

/** Upstream failures without a response. 'timeout' is a per-try timeout, never the route's. */
export type RetriableError = 'connect-failure' | 'reset' | 'refused-stream' | 'timeout';

/**
 * Whether an upstream failure should be retried. Envoy counts any reset or per-try timeout
 * as a 5xx (so `5xx` and `gateway-error` retry all of them); `reset` covers every reset and
 * timeout; `connect-failure` and `refused-stream` only their own kind; `reset-before-request`
 * a connect failure (the request was never sent).
 */
export function shouldRetryError(policy: RetryPolicy, kind: RetriableError): boolean {
  const on = policy.on;
  if (on & (RETRY_ON.FIVE_XX | RETRY_ON.GATEWAY_ERROR | RETRY_ON.RESET)) return true;
  switch (kind) {
    case 'connect-failure':
      return (on & (RETRY_ON.CONNECT_FAILURE | RETRY_ON.RESET_BEFORE_REQUEST)) !== 0;
    case 'refused-stream':
      return (on & RETRY_ON.REFUSED_STREAM) !== 0;
    case 'reset':
    case 'timeout':
      return false;
  }
}

/**
 * The back-off before retry number `retry` (1 = the first retry), fully jittered as Envoy
 * does: uniform in [0, min(max, (2^retry - 1) * base)). With the defaults the first retry
 * waits under 25 ms, the second under 75 ms, the third under 175 ms, then under 250 ms.
 * `random` is in [0, 1).
 */
export function backoffMs(policy: RetryPolicy, retry: number, random: number): number {
  const n = retry >= 1 ? Math.floor(retry) : 1;
  const ceiling = Math.min(policy.backoffMaxMs, (2 ** n - 1) * policy.backoffBaseMs);
  const r = random >= 0 && random < 1 ? random : 0;
  return r * ceiling;
}
