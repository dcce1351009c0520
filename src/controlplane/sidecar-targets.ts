/**
 * The sidecars the dashboard scrapes: every connected stream whose node announced a
 * workload and its metrics port (FERRY_METRICS_PORT), at the workload's address.
 */
import type { ScrapeTarget } from '../dashboard/index.js';
import type { AdsServer } from './ads-server.js';

export function sidecarTargets(ads: AdsServer): ScrapeTarget[] {
  const targets: ScrapeTarget[] = [];
  for (const s of ads.status()) {
    const w = s.workload;
    if (!w || s.metricsPort === undefined) continue;
    const host = w.address.includes(':') ? `[${w.address}]` : w.address;
    const version = w.labels.version;
    targets.push({
      nodeId: s.nodeId,
      workload: version ? `${w.service}-${version}` : w.service,
      service: w.service,
      namespace: w.namespace,
      url: `http://${host}:${s.metricsPort}/stats/prometheus`,
    });
  }
  return targets;
}
