/** Downstream listeners: HTTP/1.1 and h2c on one port. */
export { type HttpHandler, type HttpListener, listenHttp } from './http-listener.js';
