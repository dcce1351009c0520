/**
 * `istio_build{component,tag} 1`, the metric Istio's dashboards read to show which version
 * runs where (component `proxy` from sidecars, `pilot` from the control plane, as Istio
 * names them). The tag is Ferry's version (src/version).
 * https://istio.io/latest/docs/reference/commands/pilot-discovery/#metrics
 */
import { FERRY_VERSION } from '../version/index.js';
import type { MetricsRegistry } from './metrics.js';

/** Istio's component names: `proxy` (a sidecar), `pilot` (the control plane). */
export type BuildComponent = 'proxy' | 'pilot';

export function registerBuildInfo(registry: MetricsRegistry, component: BuildComponent): void {
  registry
    .gauge('istio_build', 'Istio component build info (Ferry version as the tag).', [
      'component',
      'tag',
    ])
    .labels(component, FERRY_VERSION)
    .set(1);
}
