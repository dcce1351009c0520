/**
 * Authorization in the sidecar: Envoy's RBAC filter configs (HTTP and network), compiled once
 * per configuration into an engine that decides each request or connection.
 */
export {
  compileRbac,
  type RbacDecision,
  RbacEngine,
} from './rbac-engine.js';
export { RbacConfigError } from './rbac-error.js';
export type { RbacRequest } from './rules.js';
export type * from './xds-rbac-types.js';

/** The typed config URLs of the two RBAC filters. */
export const HTTP_RBAC_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC';
export const NETWORK_RBAC_TYPE =
  'type.googleapis.com/envoy.extensions.filters.network.rbac.v3.RBAC';
