/** The sidecar proxy: `Sidecar.start(options)`. */
export { Sidecar, type SidecarOptions } from './sidecar.js';
export type { Propagation } from './tracing/index.js';
