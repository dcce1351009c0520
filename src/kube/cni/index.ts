/** The CNI plugin mode of transparent capture (a chained plugin, like istio-cni). */
export {
  type CniNetConf,
  parseCniArgs,
  parseNetConf,
  SUPPORTED_VERSIONS,
} from './cni-config.js';
export { CNI_ERROR, CniError } from './cni-error.js';
export { type CniDeps, type CniOutput, type CniRequest, runCniCommand } from './cni-plugin.js';
