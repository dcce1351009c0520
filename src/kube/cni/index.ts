/** The CNI plugin mode of transparent capture (a chained plugin, like istio-cni). */
export { parseNetConf } from './cni-config.js';
export { CNI_ERROR, CniError } from './cni-error.js';
export {
  CniInstaller,
  type CniInstallerOptions,
} from './cni-installer.js';
export { runCniCommand } from './cni-plugin.js';
export {
  chainPlugin,
  FERRY_PLUGIN_TYPE,
  primaryConfFile,
  unchainPlugin,
} from './conflist-chain.js';
