/**
 * Envoy's response flags, the short codes access logs and metrics use to say why a request
 * ended the way it did. https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#config-access-log-format-response-flags
 */
export const FLAG = {
  /** No route matched. */
  NO_ROUTE: 'NR',
  /** The route's cluster does not exist. */
  NO_CLUSTER: 'NC',
  /** No healthy upstream host. */
  NO_HEALTHY_UPSTREAM: 'UH',
  /** Upstream connection failure. */
  UPSTREAM_CONNECT_FAILURE: 'UF',
  /** Upstream connection terminated (reset) before or during the response. */
  UPSTREAM_CONNECTION_TERMINATION: 'UC',
  /** Upstream request timeout. */
  UPSTREAM_TIMEOUT: 'UT',
  /** Retries exhausted: the last attempt's result was returned. */
  UPSTREAM_RETRY_LIMIT_EXCEEDED: 'URX',
  /** The downstream client went away. */
  DOWNSTREAM_CONNECTION_TERMINATION: 'DC',
  /** A direct response from the route (no upstream). */
  DIRECT_RESPONSE: 'DR',
  /** Aborted by fault injection. */
  FAULT_ABORT: 'FI',
  /** Delayed by fault injection. */
  FAULT_DELAY: 'DI',
  /** Refused by a local rate limit. */
  RATE_LIMITED: 'RL',
  /** A circuit breaker overflowed: the request was refused at once. */
  UPSTREAM_OVERFLOW: 'UO',
  /** The proxy could not process the request (malformed, unsupported). */
  DOWNSTREAM_PROTOCOL_ERROR: 'DPE',
  /** The upstream's response was not valid HTTP or cannot be carried downstream (502). */
  UPSTREAM_PROTOCOL_ERROR: 'UPE',
} as const;

export type ResponseFlag = (typeof FLAG)[keyof typeof FLAG];
