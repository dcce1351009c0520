/** The control plane's own metrics (served on /metrics of the HTTP port). */
import type {
  CounterChild,
  GaugeChild,
  HistogramChild,
  MetricsRegistry,
} from '../metrics/index.js';
import { LIMIT_KINDS, type LimitKind } from './ads-limits.js';
import { shortTypeNames } from './type-names.js';

export interface AdsMetrics {
  readonly connected: { readonly sotw: GaugeChild; readonly delta: GaugeChild };
  readonly pushes: ReadonlyMap<string, CounterChild>;
  readonly nacks: ReadonlyMap<string, CounterChild>;
  readonly convergence: HistogramChild;
  readonly rejectedNodes: CounterChild;
  /** Requests refused because they went over a limit (ads-limits.ts). */
  readonly limitRefusals: Readonly<Record<LimitKind, CounterChild>>;
  /** Requests answering a response that is not the latest (ignored, as xDS says). */
  readonly staleNonces: CounterChild;
  readonly sotwCache: {
    readonly evictions: CounterChild;
    readonly entries: GaugeChild;
    readonly bytes: GaugeChild;
  };
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
  const limits = registry.counter(
    'ferry_xds_limit_refusals_total',
    'xDS requests refused for going over a limit, by limit: subscribed_names (--max-subscribed-names), unknown_type (a type URL that is not an xDS resource type).',
    ['limit'],
  );
  const stale = registry.counter(
    'ferry_xds_stale_nonces_total',
    'Requests whose response_nonce is not the latest sent on their stream (ignored, as the xDS protocol says).',
  );
  const evictions = registry.counter(
    'ferry_xds_sotw_cache_evictions_total',
    'SotW response bodies dropped from the shared cache to stay within --sotw-cache-entries and --sotw-cache-mib.',
  );
  const entries = registry.gauge(
    'ferry_xds_sotw_cache_entries',
    'SotW response bodies in the shared cache now.',
  );
  const bytes = registry.gauge(
    'ferry_xds_sotw_cache_bytes',
    'Bytes of SotW response bodies cached now.',
  );
  const byType = (c: typeof pushes) =>
    new Map(shortTypeNames().map(([url, short]) => [url, c.labels(short)] as const));
  return {
    connected: { sotw: connected.labels('sotw'), delta: connected.labels('delta') },
    pushes: byType(pushes),
    nacks: byType(nacks),
    convergence: convergence.labels(),
    rejectedNodes: rejected.labels(),
    limitRefusals: Object.fromEntries(LIMIT_KINDS.map((k) => [k, limits.labels(k)])) as Record<
      LimitKind,
      CounterChild
    >,
    staleNonces: stale.labels(),
    sotwCache: { evictions: evictions.labels(), entries: entries.labels(), bytes: bytes.labels() },
  };
}
