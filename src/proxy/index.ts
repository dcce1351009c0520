/** The sidecar proxy: `Sidecar.start(options)`. */
export type { ListenerLimits } from './listener/index.js';
export { SIDECAR_PROCESS_ENV } from './process-env.js';
export type { SidecarOptions } from './sidecar/index.js';
export { Sidecar } from './sidecar.js';
export type { Propagation } from './tracing/index.js';
