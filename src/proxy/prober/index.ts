/** The app prober: the original probes of an injected pod's containers, run by the sidecar. */
export {
  APP_HEALTH_PREFIX,
  APP_PROBES_ENV,
  type AppProbe,
  type AppProbes,
  appHealthPath,
  type GrpcProbe,
  type HttpGetProbe,
  type HttpHeader,
  PROBE_KINDS,
  type ProbeKind,
  parseAppProbes,
  type TcpSocketProbe,
} from './app-probe.js';
export { AppProber } from './app-prober.js';
export type { ProbeResult } from './probe-result.js';
export { ProberError, type ProberErrorCode } from './prober-error.js';
