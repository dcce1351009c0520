/** The compiled, swappable configuration of the sidecar. */

export {
  declaredPorts,
  type InboundDestination,
  type InboundPortKind,
  InboundPorts,
  type InboundPortTarget,
  inboundDestination,
} from './inbound-ports.js';
export {
  ACCESS_LOG_OFF,
  type AccessLogTarget,
  type ListenerTelemetrySpec,
  type TracingSpec,
} from './listener-telemetry.js';
export {
  compileOutboundDestinations,
  type OutboundAction,
  OutboundDestinations,
} from './outbound-destinations.js';
export {
  type CompileResult,
  compileRuntime,
  listenerRouteName,
  type OriginalDstCluster,
  type RuntimeConfig,
  VIRTUAL_INBOUND,
  VIRTUAL_OUTBOUND,
  validateResource,
} from './runtime-config.js';
