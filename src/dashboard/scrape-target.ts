/**
 * Where the dashboard scrapes: one sidecar's /stats/prometheus. The control plane feeds
 * these (from the sidecars' node metadata); the dashboard does not read node metadata itself.
 */
export interface ScrapeTarget {
  /** The xDS node id. */
  readonly nodeId: string;
  readonly workload: string;
  readonly service: string;
  readonly namespace: string;
  /** Full URL of the metrics page, e.g. http://10.0.0.7:15020/stats/prometheus. */
  readonly url: string;
}

export type TargetSource = () => readonly ScrapeTarget[];
