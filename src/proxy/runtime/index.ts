/** The compiled, swappable configuration of the sidecar. */

export {
  declaredPorts,
  type InboundDestination,
  InboundPorts,
  type InboundPortTarget,
  inboundDestination,
} from './inbound-ports.js';

export {
  ACCESS_LOG_OFF,
  type ListenerTelemetrySpec,
  type TracingSpec,
} from './listener-telemetry.js';
export {
  compileOutboundDestinations,
  type OutboundAction,
  type SniSwitch,
} from './outbound-destinations.js';
export {
  type CompiledListener,
  type CompiledRoutes,
  ResourceCompiler,
} from './resource-compiler.js';
export {
  assembleRuntime,
  type RuntimeConfig,
} from './runtime-config.js';
