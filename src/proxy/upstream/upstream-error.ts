import { FerryError } from '../../errors/index.js';
import { FAILURE } from '../failure/index.js';

/**
 * Errors an upstream reports to the exchange. The codes are undici's (the dispatch
 * contract both upstreams speak), so the exchange classifies every upstream the same way:
 * connect failures, resets and refused streams, as Envoy's retry_on names them.
 */
export class UpstreamError extends FerryError {}

/** The endpoint did not accept the connection within the cluster's connect timeout. */
export const CONNECT_TIMEOUT = 'UND_ERR_CONNECT_TIMEOUT';
/** An HTTP/2 upstream refused the stream (RST_STREAM REFUSED_STREAM): safe to retry. */
export const REFUSED_STREAM = 'FERRY_UPSTREAM_REFUSED_STREAM';
/** The connection closed or was reset before the response was complete. */
export const SOCKET_CLOSED = 'UND_ERR_SOCKET';
/** The upstream answered with something that is not a valid HTTP/1.1 response. */
export const PROTOCOL_ERROR = FAILURE.UPSTREAM_PROTOCOL_ERROR.code;
/** The endpoint's pool is at max_pending_requests: refused at once (503 UO). */
export const OVERFLOW = FAILURE.OVERFLOW.code;
/** The TLS handshake with the endpoint failed (its identity or chain was refused). */
export const TLS_HANDSHAKE = 'FERRY_UPSTREAM_TLS_HANDSHAKE';
