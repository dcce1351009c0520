/**
 * The control plane's live dashboard: scrapes the sidecars' Istio metrics (or asks
 * Prometheus), computes per edge and per service rates, success and latency, and serves a
 * self-contained page and its JSON.
 */

export type {
  Graph,
  SidecarRow,
} from './dashboard-api.js';
export { dashboardRoute } from './dashboard-routes.js';
export { histogramQuantile } from './histogram-quantile.js';
export {
  computeMeshStats,
  type MeshStats,
} from './mesh-stats.js';
export type { MeshView } from './mesh-view.js';
export {
  MetricsScraper,
  type StatsSource,
} from './metrics-scraper.js';
export {
  PrometheusStats,
  prometheusQueries,
} from './prometheus-stats.js';
export {
  type Labels,
  PrometheusTextError,
  parsePrometheusText,
} from './prometheus-text.js';
export { policyLines, routeRows } from './route-view.js';
export type { ScrapeTarget, TargetSource } from './scrape-target.js';
export { delta, type Reading, toReading } from './series-delta.js';
export { type SyncState, type SyncTypeStatus, syncState } from './sync-state.js';
