/** Traces: OpenTelemetry spans for requests, propagated and exported over OTLP. */
export { type Propagation, Tracing, type TracingOptions, type TracingStats } from './tracing.js';
