/** The sidecar's parts, each one job; src/proxy/sidecar.ts composes them. */
export { adminSources } from './admin-sources.js';
export { ConfigApply } from './config-apply.js';
export { type DataListeners, listenDataPath } from './data-listeners.js';
export { denialLogger } from './denial-log.js';
export { LiveConfig } from './live-config.js';
export { listenLocalServers } from './local-servers.js';
export { outlierLog } from './outlier-log.js';
export { registerProxyMetrics, type SidecarGauges } from './proxy-metrics.js';
export {
  resolveSidecarOptions,
  type SidecarOptions,
  type SidecarSettings,
} from './sidecar-options.js';

export { SidecarPrimary, TCP_FORWARD_PORT } from './sidecar-primary.js';
export { forwardCluster } from './tcp-forwards.js';
export { tcpTelemetry } from './tcp-telemetry.js';
export { createXdsConnection } from './xds-connection.js';
