/** The CNI plugin mode of transparent capture (a chained plugin, like istio-cni). */
export {
  type CniNetConf,
  parseCniArgs,
  parseNetConf,
  SUPPORTED_VERSIONS,
} from './cni-config.js';
export { CNI_ERROR, CniError } from './cni-error.js';
export {
  CniInstaller,
  type CniInstallerOptions,
  type CniRuntime,
  PLUGIN_FILE,
  RUNTIME_DIR,
} from './cni-installer.js';
export { type CniDeps, type CniOutput, type CniRequest, runCniCommand } from './cni-plugin.js';
export {
  type ChainedConf,
  CONF_EXTENSIONS,
  chainPlugin,
  FERRY_PLUGIN_TYPE,
  primaryConfFile,
  unchainPlugin,
} from './conflist-chain.js';
