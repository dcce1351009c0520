/** The compiled, swappable configuration of the sidecar. */

export {
  declaredPorts,
  type InboundDestination,
  type InboundPortKind,
  InboundPorts,
  type InboundPortTarget,
  inboundDestination,
} from './inbound-ports.js';
export { listenerRouteName, type TcpRoute } from './listener-filters.js';
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
  type CompileCounts,
  type CompiledCluster,
  type CompiledListener,
  type CompiledRoutes,
  ResourceCompiler,
} from './resource-compiler.js';
export {
  type Assembled,
  assembleRuntime,
  type OriginalDstCluster,
  type RuntimeConfig,
  VIRTUAL_INBOUND,
  VIRTUAL_OUTBOUND,
} from './runtime-config.js';
