/** Transparent capture: the iptables rules of `ferry init` and SO_ORIGINAL_DST. */
export {
  ALWAYS_EXCLUDED_INBOUND_PORTS,
  type CaptureConfig,
  type CaptureOptions,
  captureConfig,
  INBOUND_CAPTURE_PORT,
  OUTBOUND_CAPTURE_PORT,
  PROXY_UID,
  parseCidrs,
  parsePorts,
} from './capture-config.js';
export { CaptureError, type CaptureErrorCode } from './capture-error.js';
export { cidrFamily, isCidr } from './cidr.js';
export { type CommandResult, type CommandRunner, spawnRunner } from './command-runner.js';
export {
  captureInstalled,
  captureScripts,
  type FamilyScript,
  installCapture,
  removeCapture,
} from './install-capture.js';
export {
  CHAINS,
  captureRules,
  type IpFamily,
  iptablesCleanupScript,
  iptablesRestoreScript,
} from './iptables-script.js';
export {
  ADDON_BUILD_COMMAND,
  type OriginalDestination,
  originalDestination,
  originalDestinationAvailable,
} from './original-destination.js';
