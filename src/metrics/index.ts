/** Prometheus metrics: counters, gauges and histograms with pre-bound labels. */

export { type BuildComponent, registerBuildInfo } from './build-info.js';
export {
  Counter,
  CounterChild,
  Gauge,
  GaugeChild,
  Histogram,
  HistogramChild,
  MetricsRegistry,
  PROMETHEUS_CONTENT_TYPE,
} from './metrics.js';
