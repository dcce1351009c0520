/** The control plane's own metrics (served on /metrics of the HTTP port). */
import type {
  CounterChild,
  GaugeChild,
  HistogramChild,
  MetricsRegistry,
} from '../metrics/index.js';
import { shortTypeNames } from './type-names.js';

export interface AdsMetrics {
  readonly connected: { readonly sotw: GaugeChild; readonly delta: GaugeChild };
  readonly pushes: ReadonlyMap<string, CounterChild>;
  readonly nacks: ReadonlyMap<string, CounterChild>;
  readonly convergence: HistogramChild;
  readonly rejectedNodes: CounterChild;
}

/** Registers the ADS metrics; label children are bound here, once. */
export function createAdsMetrics(registry: MetricsRegistry): AdsMetrics {
  const connected = registry.gauge(
    'ferry_xds_connected_clients',
    'xDS streams connected now, by protocol variant.',
    ['mode'],
  );
  const pushes = registry.counter(
    'ferry_xds_pushes_total',
    'Discovery responses sent, by resource type.',
    ['type'],
  );
  const nacks = registry.counter(
    'ferry_xds_nacks_total',
    'Discovery responses rejected (NACKed) by clients, by resource type.',
    ['type'],
  );
  const convergence = registry.histogram(
    'ferry_xds_push_convergence_seconds',
    'Time from publishing a configuration to a client ACKing the response carrying it.',
    [],
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );
  const rejected = registry.counter(
    'ferry_xds_rejected_streams_total',
    'Streams refused because of an invalid request or node metadata.',
  );
  const byType = (c: typeof pushes) =>
    new Map(shortTypeNames().map(([url, short]) => [url, c.labels(short)] as const));
  return {
    connected: { sotw: connected.labels('sotw'), delta: connected.labels('delta') },
    pushes: byType(pushes),
    nacks: byType(nacks),
    convergence: convergence.labels(),
    rejectedNodes: rejected.labels(),
  };
}
