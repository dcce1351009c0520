/**
 * The sidecar's own Prometheus metrics (ferry_proxy_*), beside Istio's standard ones. Every
 * number has one home: the data path's counters are ProxyStats' fields, the limits'
 * LimitCounters', the spans the tracers', the rest the xDS client's, the pools' and the
 * listeners'. Each series is registered once with a reader of its home (`readFrom`), so a
 * scrape reads them and nothing is copied.
 */
import type { MetricsRegistry } from '../../metrics/index.js';
import { XDS_RESOURCE_TYPES } from '../../xds-client/index.js';
import type { ProxyStats } from '../http/index.js';
import type { Host } from '../lb/index.js';
import { LIMIT_NAMES, type LimitCounters } from '../listener/index.js';
import type { LiveTelemetry } from '../telemetry/index.js';
import type { LiveConfig } from './live-config.js';

/** Numbers read from the sidecar's parts when shown (on /stats and in Prometheus). */
export interface SidecarGauges {
  /** 1 while the xDS stream is up. */
  xdsConnected(): number;
  /** xDS responses NACKed, of one type (CDS, EDS, LDS, RDS). */
  xdsNacks(type: string): number;
  /** The version of the configuration in force (0 before the first). */
  configVersion(): number;
  /** Upstream endpoint connection pools open. */
  upstreamPools(): number;
  /** Downstream connections open on the outbound and inbound listeners. */
  downstreamConnections(): number;
}

export interface ProxyMetricsSources {
  readonly stats: ProxyStats;
  readonly limitCounters: LimitCounters;
  readonly live: LiveConfig;
  readonly telemetry: LiveTelemetry;
  readonly gauges: SidecarGauges;
}

/** Registers the ferry_proxy_* families in `metrics`, each series read from its home. */
export function registerProxyMetrics(metrics: MetricsRegistry, src: ProxyMetricsSources): void {
  const { stats: s, gauges: g, limitCounters } = src;
  metrics
    .counter('ferry_proxy_requests_total', 'Requests handled, by response code class.', [
      'response_code_class',
    ])
    .readFrom(() => s.responses2xx, '2xx')
    .readFrom(() => s.responses3xx, '3xx')
    .readFrom(() => s.responses4xx, '4xx')
    .readFrom(() => s.responses5xx, '5xx');
  metrics
    .counter('ferry_proxy_upstream_retries_total', 'Retries sent upstream.')
    .readFrom(() => s.retries);
  metrics
    .gauge('ferry_proxy_xds_connected', '1 while the xDS stream is up.')
    .readFrom(g.xdsConnected);
  metrics
    .gauge('ferry_proxy_config_version', 'Version of the configuration in force.')
    .readFrom(g.configVersion);
  metrics
    .counter(
      'ferry_proxy_circuit_breaker_overflows_total',
      'Requests refused (request), retries not sent (retry) and TCP connections closed (connection) by circuit breakers.',
      ['kind'],
    )
    .readFrom(() => s.overflows, 'request')
    .readFrom(() => s.retryOverflows, 'retry')
    .readFrom(() => s.connectionOverflows, 'connection');
  const nacks = metrics.counter(
    'ferry_proxy_xds_nacks_total',
    'xDS responses the sidecar rejected (NACKed), keeping its last good configuration, by type.',
    ['type'],
  );
  for (const type of XDS_RESOURCE_TYPES) nacks.readFrom(() => g.xdsNacks(type), type);
  metrics
    .gauge('ferry_proxy_upstream_pools', 'Upstream endpoint connection pools open.')
    .readFrom(g.upstreamPools);
  metrics
    .gauge(
      'ferry_proxy_downstream_connections',
      'Downstream connections open on the outbound and inbound listeners.',
    )
    .readFrom(g.downstreamConnections);
  metrics
    .counter('ferry_proxy_rbac_denied_total', 'Requests refused by authorization policies (403).')
    .readFrom(() => s.denied);
  metrics
    .counter('ferry_proxy_outlier_ejections_total', 'Upstream hosts ejected by outlier detection.')
    .readFrom(() => s.ejections);
  // Endpoints this sidecar will not send to, and why: what the dashboard shows as each
  // endpoint's health as the sidecars see it. Healthy ones are left out (bounded series).
  const unhealthy = metrics.gauge(
    'ferry_proxy_endpoint_unhealthy',
    'Upstream endpoints this sidecar does not send to: outlier_ejected, failed_health_check, or their EDS health.',
    ['cluster_name', 'endpoint', 'reason'],
  );
  unhealthy.beforeRender(() => {
    unhealthy.reset();
    for (const c of src.live.runtime?.clusters.values() ?? []) {
      for (const h of c.hostSet.hosts) {
        const reason = unhealthyReason(h);
        if (reason) unhealthy.labels(c.name, h.key, reason).set(1);
      }
    }
  });
  metrics
    .counter(
      'ferry_proxy_trace_spans_total',
      'Spans ended, by what became of them: exported, or dropped (queue full, collector down).',
      ['result'],
    )
    .readFrom(() => src.telemetry.spanStats.exported, 'exported')
    .readFrom(() => src.telemetry.spanStats.dropped, 'dropped');
  metrics
    .counter(
      'ferry_proxy_mirror_requests_total',
      'Shadow copies of mirrored requests: sent, failed (of those sent), dropped (over the cap of shadows in flight, or no mirror host), body_too_large (body over the buffer limit).',
      ['result'],
    )
    .readFrom(() => s.shadows, 'sent')
    .readFrom(() => s.shadowsFailed, 'failed')
    .readFrom(() => s.shadowsDropped, 'dropped')
    .readFrom(() => s.shadowsBodyTooLarge, 'body_too_large');
  metrics
    .counter(
      'ferry_proxy_protocol_errors_total',
      'Exchanges ended by a protocol error: downstream (a malformed request, 400 DPE) or upstream (a response the client protocol cannot carry, 502 UPE).',
      ['side'],
    )
    .readFrom(() => s.downstreamProtocolErrors, 'downstream')
    .readFrom(() => s.upstreamProtocolErrors, 'upstream');
  metrics
    .counter(
      'ferry_proxy_uncaught_errors_total',
      'Errors caught by the last-resort handler instead of ending the process: each is a bug.',
    )
    .readFrom(() => s.uncaughtErrors);
  metrics
    .counter(
      'ferry_proxy_inbound_unconfigured_total',
      'Inbound connections closed unserved (before any TLS handshake): the configuration has no inbound listener for the port (none yet, or a sidecar started without --app-port).',
    )
    .readFrom(() => s.inboundUnconfigured);
  const limits = metrics.counter(
    'ferry_proxy_downstream_limits_total',
    'Times a downstream limit acted: connections closed by the header-read or idle timeout (HTTP and TCP proxy), heads refused as too large or with too many fields (431), reading paused for pipelined bytes, HTTP/2 connections closed for rapid reset, and HTTP/2 protocol errors nghttp2 refused.',
    ['limit'],
  );
  for (const n of LIMIT_NAMES) limits.readFrom(() => limitCounters.counts[n], n);
}

/** Why a sidecar does not send to a host (outlier ejection first, as Envoy's health flags). */
function unhealthyReason(h: Host): string | undefined {
  if (h.ejected) return 'outlier_ejected';
  if (h.failedHealthCheck) return 'failed_health_check';
  if (h.health !== 'HEALTHY' && h.health !== 'UNKNOWN') return h.health.toLowerCase();
  return undefined;
}
