/**
 * Authorization in the sidecar: Envoy's RBAC filter configs (HTTP and network), compiled once
 * per configuration into an engine that decides each request or connection.
 */

export {
  compileRbac,
  RbacEngine,
  type RbacFilter,
} from './rbac-engine.js';
export { RbacConfigError } from './rbac-error.js';
export type { RbacRequest } from './rules.js';
