/** The sidecar's admin, readiness and metrics endpoints. */
export {
  type AdminRole,
  type AdminSources,
  createAdminHandler,
  type LocalServer,
  listenLocal,
} from './admin-server.js';
