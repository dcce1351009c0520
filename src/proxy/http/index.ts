/** The HTTP data path: routing, forwarding with retries, local replies, access logs. */
export { type AccessLog, createAccessLog } from './access-log.js';
export type { ExchangeTelemetry } from './exchange.js';
export {
  ISTIO_LABELS,
  IstioMetrics,
  type RequestOutcome,
} from './istio-metrics.js';
export { endpointPeer } from './peer-workloads.js';
export { DEFAULT_RETRY_BUFFER_LIMIT } from './request-body.js';
export {
  createRequestHandler,
  type Denial,
  type RouteView,
} from './request-handler.js';
export { DEFAULT_MAX_SHADOWS, RequestMirror } from './request-mirror.js';
export { RouteFilters } from './route-filters.js';
export { ProxyStats } from './stats.js';
export { createConnectHandler, createUpgradeHandler } from './upgrade.js';
