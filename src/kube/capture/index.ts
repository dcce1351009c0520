/** Transparent capture: the iptables rules of `ferry init` and SO_ORIGINAL_DST. */
export {
  type CaptureConfig,
  captureConfig,
  INBOUND_CAPTURE_PORT,
  OUTBOUND_CAPTURE_PORT,
  PROXY_UID,
  parseCidrs,
  parsePorts,
} from './capture-config.js';
export { CaptureError } from './capture-error.js';

export { type CommandRunner, spawnRunner } from './command-runner.js';
export {
  captureInstalled,
  captureScripts,
  installCapture,
  removeCapture,
} from './install-capture.js';
export {
  iptablesCleanupScript,
  iptablesRestoreScript,
} from './iptables-script.js';
export {
  ADDON_BUILD_COMMAND,
  originalDestination,
  originalDestinationAvailable,
} from './original-destination.js';
