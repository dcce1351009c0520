/** The sidecar's xDS client: ADS (delta or SotW) to one immutable, complete ProxyConfig. */
export {
  type ConnectionDiagnosis,
  diagnoseConnection,
  diagnoseError,
  diagnosePort,
  type PortKind,
  probePort,
} from './connection-diagnosis.js';
export type { ValidateHook } from './decode-resources.js';
export type { ProxyConfig, ResourceEntry } from './proxy-config.js';
export {
  type TypeStatus,
  XdsClient,
  type XdsClientOptions,
  type XdsClientStatus,
} from './xds-client.js';
