/** Traces and access logs switched live from the configuration, the flags as the fallback. */
export { LiveTelemetry } from './live-telemetry.js';
