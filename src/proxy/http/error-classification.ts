/**
 * What an upstream attempt's error means, by its code (never its message): a connect
 * failure, a refused stream, a reset, a timeout, a protocol error, or a failure of the table
 * the exchange itself aborted with. Retries (Envoy's retry_on) and replies follow from it.
 */
import { errorCode } from '../../errors/index.js';
import { FAILURE, type Failure, FailureError } from '../failure/index.js';
import type { RetriableError } from '../router/index.js';
import {
  CONNECT_TIMEOUT,
  PROTOCOL_ERROR,
  REFUSED_STREAM,
  TLS_HANDSHAKE,
} from '../upstream/index.js';

/** The per-try timer fired: the attempt is given up (and may be retried). */
export const PER_TRY_TIMEOUT = new FailureError(FAILURE.UPSTREAM_TIMEOUT, 'per-try timeout');
/** The route timer fired: the whole request is out of time. */
export const ROUTE_TIMEOUT = new FailureError(FAILURE.UPSTREAM_TIMEOUT);
/** The client went away: the attempt is aborted. */
export const DOWNSTREAM_GONE = new FailureError(FAILURE.DOWNSTREAM_CLOSED);
/** The upstream's answer cannot be passed on: the attempt is aborted. */
export const UPSTREAM_PROTOCOL_ERROR = new FailureError(FAILURE.UPSTREAM_PROTOCOL_ERROR);

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  CONNECT_TIMEOUT,
  TLS_HANDSHAKE,
]);

/** The upstream's answer was not HTTP: said by Ferry's own parser, or by undici's. */
export function isProtocolError(err: Error): boolean {
  return errorCode(err) === PROTOCOL_ERROR || err.name === 'HTTPParserError';
}

/** How Envoy's retry_on sees a failed attempt. */
export function classifyAttemptError(err: Error): RetriableError {
  if (err === PER_TRY_TIMEOUT) return 'timeout';
  const code = errorCode(err);
  if (CONNECT_ERRORS.has(code)) return 'connect-failure';
  if (code === REFUSED_STREAM) return 'refused-stream';
  return 'reset';
}

/** The failure a client is answered with for an attempt error that was not retried. */
export function attemptFailure(kind: RetriableError): Failure {
  if (kind === 'timeout') return FAILURE.UPSTREAM_TIMEOUT;
  if (kind === 'connect-failure') return FAILURE.CONNECT_FAILURE;
  return FAILURE.CONNECTION_TERMINATION;
}
