/**
 * Fault injection in the sidecar: Envoy's HTTP fault filter configs (the listener's and a
 * route's override), compiled once into a policy that decides each request's delay and abort.
 * The rate limiter (src/proxy/ratelimit) shares the config error and fraction reading.
 */
export { FilterConfigError } from './fault-error.js';
export {
  compileFault,
  type FaultDecision,
  type FaultPolicy,
} from './fault-policy.js';
export { type FilterTypedConfig, filterMessage } from './filter-config.js';
export { compileFraction, type Fraction, inFraction, NEVER } from './fractional-percent.js';
