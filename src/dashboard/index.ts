/**
 * The control plane's live dashboard: scrapes the sidecars' Istio metrics (or asks
 * Prometheus), computes per edge and per service rates, success and latency, and serves a
 * self-contained page and its JSON.
 */

export {
  type Graph,
  type GraphNode,
  graphJson,
  type SidecarRow,
  serviceJson,
  sidecarsJson,
} from './dashboard-api.js';
export { type DashboardReply, dashboardRoute } from './dashboard-routes.js';
export { histogramQuantile } from './histogram-quantile.js';
export {
  computeMeshStats,
  type EdgeStats,
  edgeEnds,
  type MeshStats,
  type ServiceStats,
  type TrafficStats,
} from './mesh-stats.js';
export type { ConnectedClient, MeshView } from './mesh-view.js';
export {
  MetricsScraper,
  type ScrapeHealth,
  type ScraperOptions,
  type StatsSource,
  type TargetStatus,
} from './metrics-scraper.js';
export {
  PrometheusQueryError,
  PrometheusStats,
  type PrometheusStatsOptions,
  prometheusQueries,
} from './prometheus-stats.js';
export {
  type Labels,
  PrometheusTextError,
  parsePrometheusText,
  type Sample,
} from './prometheus-text.js';
export { policyLines, type RouteRow, routeRows } from './route-view.js';
export type { ScrapeTarget, TargetSource } from './scrape-target.js';
export { type Delta, delta, type Reading, toReading } from './series-delta.js';
export { type SyncState, type SyncTypeStatus, syncState } from './sync-state.js';
