/** Downstream listeners: HTTP/1.1 and h2c on one port, with (m)TLS termination. */
export { usableBindAddress } from './bind-address.js';
export {
  parseClientHello,
  readClientHello,
} from './client-hello.js';
export { H2Request } from './h2-request.js';
export { H2Response } from './h2-response.js';
export { resetStream } from './h2-session-limits.js';
export {
  type HttpListener,
  type ListenerTls,
  listenHttp,
} from './http-listener.js';
export {
  checkLimits,
  DEFAULT_LIMITS,
  LIMIT,
  LIMIT_NAMES,
  LimitCounters,
  type LimitName,
  LimitsError,
  type ListenerLimits,
} from './limits.js';
export {
  DEFAULT_OPAQUE_PORTS,
  DETECTION_TIMEOUT_MS,
  detectProtocol,
  readFirstBytes,
  requestHost,
  TLS_HANDSHAKE,
} from './protocol-detection.js';
export { rawSocket, requestRawSocket } from './raw-socket.js';
export { guardHandshake, HANDSHAKE_TIMEOUT_MS, peerVerified } from './tls-handshake.js';
