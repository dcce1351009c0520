/** The sidecar's xDS client: ADS (delta or SotW) to one immutable, complete ProxyConfig. */
export {
  type ConnectionDiagnosis,
  diagnoseConnection,
  diagnoseError,
  diagnosePort,
  type PortKind,
  probePort,
} from './connection-diagnosis.js';
export type { CompileHook, CompileOutcome } from './decode-resources.js';
export type { ProxyConfig, ResourceEntry } from './proxy-config.js';
export { XDS_RESOURCE_TYPES } from './resource-types.js';
export { chainSecretNames, secretNames } from './secret-names.js';
export {
  type TypeStatus,
  XdsClient,
  type XdsClientOptions,
  type XdsClientStatus,
} from './xds-client.js';
