/**
 * Errors an upstream reports to the exchange. The codes are undici's (the dispatch
 * contract both upstreams speak), so the exchange classifies every upstream the same way:
 * connect failures, resets and refused streams, as Envoy's retry_on names them.
 */
export class UpstreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

/** The endpoint did not accept the connection within the cluster's connect timeout. */
export const CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';
/** The connection closed or was reset before the response was complete. */
export const SOCKET_CLOSED = 'UND_ERR_SOCKET';
/** The upstream answered with something that is not a valid HTTP/1.1 response. */
export const PROTOCOL_ERROR = 'FERRY_UPSTREAM_PROTOCOL_ERROR';
/** The endpoint's pool is at max_pending_requests: refused at once (503 UO). */
export const OVERFLOW = 'FERRY_UPSTREAM_OVERFLOW';
/** The TLS handshake with the endpoint failed (its identity or chain was refused). */
export const TLS_HANDSHAKE = 'FERRY_UPSTREAM_TLS_HANDSHAKE';
