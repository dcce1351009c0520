/** The sidecar's admin, readiness and metrics endpoints. */
export {
  type AdminRole,
  type AdminSources,
  type ClusterView,
  createAdminHandler,
  type HostView,
  type LocalServer,
  listenLocal,
  serveClusters,
  serveStats,
} from './admin-server.js';
export type { CertificateInfo } from './certificate-info.js';
export { certificateView, clusterStatus, logLevelSources, serverInfo } from './proxy-views.js';
