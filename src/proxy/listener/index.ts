/** Downstream listeners: HTTP/1.1 and h2c on one port, with (m)TLS termination. */
export {
  type HttpHandler,
  type HttpListener,
  type ListenerTls,
  listenHttp,
  type MtlsMode,
} from './http-listener.js';
