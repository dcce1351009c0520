/** Prometheus metrics: counters, gauges and histograms with pre-bound labels. */

export { registerBuildInfo } from './build-info.js';
export {
  Counter,
  CounterChild,
  GaugeChild,
  Histogram,
  HistogramChild,
  MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
} from './metrics.js';
