/** The HTTP data path: routing, forwarding with retries, local replies, access logs. */
export { type AccessLog, createAccessLog } from './access-log.js';
export {
  type DownstreamRequest,
  type DownstreamResponse,
  Exchange,
  type ExchangeEnv,
  type ExchangeTelemetry,
} from './exchange.js';
export {
  DURATION_BUCKETS_MS,
  ISTIO_LABELS,
  IstioMetrics,
  type RequestOutcome,
  TCP_LABELS,
  type TcpConnectionOutcome,
  type WorkloadIdentity,
} from './istio-metrics.js';
export { endpointPeer, type PeerWorkload } from './peer-workloads.js';
export { DEFAULT_RETRY_BUFFER_LIMIT } from './request-body.js';
export {
  createRequestHandler,
  type Denial,
  type HandlerOptions,
  type RouteView,
} from './request-handler.js';
export { DEFAULT_MAX_SHADOWS, RequestMirror } from './request-mirror.js';
export {
  type RouteFilterSet,
  RouteFilters,
  type RouteFiltersResult,
} from './route-filters.js';
export { ProxyStats } from './stats.js';
export { createConnectHandler, createUpgradeHandler, type UpgradeOptions } from './upgrade.js';
