/** The app prober: the original probes of an injected pod's containers, run by the sidecar. */
export {
  APP_PROBES_ENV,
  type AppProbe,
  type AppProbes,
  appHealthPath,
  PROBE_KINDS,
  type ProbeKind,
  parseAppProbes,
} from './app-probe.js';
export { AppProber } from './app-prober.js';

export { ProberError } from './prober-error.js';
