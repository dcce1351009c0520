/** The compiled, swappable configuration of the sidecar. */
export {
  type CompileResult,
  compileRuntime,
  listenerRouteName,
  type RuntimeConfig,
  VIRTUAL_INBOUND,
  VIRTUAL_OUTBOUND,
  validateResource,
} from './runtime-config.js';
