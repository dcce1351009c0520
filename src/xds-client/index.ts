/** The sidecar's xDS client: ADS (delta or SotW) to one immutable, complete ProxyConfig. */
export {
  diagnoseConnection,
  diagnoseError,
  probePort,
} from './connection-diagnosis.js';
export { type CompileHook, type CompileOutcome, compileAccepted } from './decode-resources.js';
export type { ProxyConfig, ResourceEntry } from './proxy-config.js';
export { XDS_RESOURCE_TYPES } from './resource-types.js';
export { chainSecretNames } from './secret-names.js';
export {
  type ConfirmRequest,
  XdsClient,
  type XdsClientOptions,
} from './xds-client.js';
