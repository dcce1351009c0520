/** Traces and access logs switched live from the configuration, the flags as the fallback. */
export { type Direction, LiveTelemetry, type TelemetryDefaults } from './live-telemetry.js';
