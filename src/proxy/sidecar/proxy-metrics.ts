/**
 * The sidecar's own Prometheus metrics (ferry_proxy_*), beside Istio's standard ones: what
 * the data path counted, the xDS stream's state, the pools, the limits that acted, the
 * spans, and the endpoints this sidecar does not send to.
 */

import type { MetricsRegistry } from '../../metrics/index.js';
import type { XdsClient } from '../../xds-client/index.js';
import type { ProxyStats } from '../http/index.js';
import type { Host } from '../lb/index.js';
import { LIMIT_NAMES, type LimitCounters } from '../listener/index.js';
import type { LiveTelemetry } from '../telemetry/index.js';
import type { UpstreamPools } from '../upstream/index.js';
import type { LiveConfig } from './live-config.js';

export interface ProxyMetricsSources {
  readonly stats: ProxyStats;
  readonly limitCounters: LimitCounters;
  readonly live: LiveConfig;
  readonly pools: UpstreamPools;
  readonly telemetry: LiveTelemetry;
  xds(): XdsClient | undefined;
  downstreamConnections(): number;
}

/** Registers the families in `metrics`; returns the exposition of the whole registry. */
export function proxyMetrics(metrics: MetricsRegistry, src: ProxyMetricsSources): () => string {
  const requests = metrics.counter(
    'ferry_proxy_requests_total',
    'Requests handled, by response code class.',
    ['response_code_class'],
  );
  const retries = metrics.counter('ferry_proxy_upstream_retries_total', 'Retries sent upstream.');
  const xdsConnected = metrics.gauge('ferry_proxy_xds_connected', '1 while the xDS stream is up.');
  const configVersion = metrics.gauge(
    'ferry_proxy_config_version',
    'Version of the configuration in force.',
  );
  const overflows = metrics.counter(
    'ferry_proxy_circuit_breaker_overflows_total',
    'Requests refused (request) and retries not sent (retry) by circuit breakers.',
    ['kind'],
  );
  const nacks = metrics.counter(
    'ferry_proxy_xds_nacks_total',
    'xDS responses the sidecar rejected (NACKed), keeping its last good configuration.',
  );
  const nacksChild = nacks.labels();
  const upstreamPools = metrics.gauge(
    'ferry_proxy_upstream_pools',
    'Upstream endpoint connection pools open.',
  );
  const poolsChild = upstreamPools.labels();
  const downstreamConnections = metrics.gauge(
    'ferry_proxy_downstream_connections',
    'Downstream connections open on the outbound and inbound listeners.',
  );
  const downstreamChild = downstreamConnections.labels();
  const denied = metrics.counter(
    'ferry_proxy_rbac_denied_total',
    'Requests refused by authorization policies (403).',
  );
  const deniedChild = denied.labels();
  const ejections = metrics.counter(
    'ferry_proxy_outlier_ejections_total',
    'Upstream hosts ejected by outlier detection.',
  );
  const ejectionsChild = ejections.labels();
  // Endpoints this sidecar will not send to, and why: what the dashboard shows as each
  // endpoint's health as the sidecars see it. Healthy ones are left out (bounded series).
  const unhealthy = metrics.gauge(
    'ferry_proxy_endpoint_unhealthy',
    'Upstream endpoints this sidecar does not send to: outlier_ejected, failed_health_check, or their EDS health.',
    ['cluster_name', 'endpoint', 'reason'],
  );
  const spans = metrics.counter(
    'ferry_proxy_trace_spans_total',
    'Spans ended, by what became of them: exported, or dropped (queue full, collector down).',
    ['result'],
  );
  const spansExported = spans.labels('exported');
  const spansDropped = spans.labels('dropped');
  const shadows = metrics.counter(
    'ferry_proxy_mirror_requests_total',
    'Shadow copies of mirrored requests: sent, failed (of those sent), dropped (over the cap of shadows in flight, or no mirror host), body_too_large (body over the buffer limit).',
    ['result'],
  );
  const shadowResults = (['sent', 'failed', 'dropped', 'body_too_large'] as const).map((r) =>
    shadows.labels(r),
  );
  const protocolErrors = metrics.counter(
    'ferry_proxy_protocol_errors_total',
    'Exchanges ended by a protocol error: downstream (a malformed request, 400 DPE) or upstream (a response the client protocol cannot carry, 502 UPE).',
    ['side'],
  );
  const downstreamErrors = protocolErrors.labels('downstream');
  const upstreamErrors = protocolErrors.labels('upstream');
  const uncaught = metrics.counter(
    'ferry_proxy_uncaught_errors_total',
    'Errors caught by the last-resort handler instead of ending the process: each is a bug.',
  );
  const uncaughtChild = uncaught.labels();
  const limitsHit = metrics.counter(
    'ferry_proxy_downstream_limits_total',
    'Times a downstream limit acted: connections closed by the header-read or idle timeout (HTTP and TCP proxy), heads refused as too large or with too many fields (431), reading paused for pipelined bytes, HTTP/2 connections closed for rapid reset, and HTTP/2 protocol errors nghttp2 refused.',
    ['limit'],
  );
  const limitChildren = LIMIT_NAMES.map((n) => [n, limitsHit.labels(n)] as const);
  const requestOverflows = overflows.labels('request');
  const retryOverflows = overflows.labels('retry');
  const classes = ['2xx', '3xx', '4xx', '5xx'].map((c) => requests.labels(c));
  const retriesChild = retries.labels();
  const connectedChild = xdsConnected.labels();
  const versionChild = configVersion.labels();
  return () => {
    const s = src.stats;
    classes[0].value = s.responses2xx;
    classes[1].value = s.responses3xx;
    classes[2].value = s.responses4xx;
    classes[3].value = s.responses5xx;
    retriesChild.value = s.retries;
    requestOverflows.value = s.overflows;
    nacksChild.value = src.xds()?.status().nacks ?? 0;
    poolsChild.set(src.pools.size);
    downstreamChild.set(src.downstreamConnections());
    deniedChild.value = s.denied;
    ejectionsChild.value = s.ejections;
    const spanStats = src.telemetry.spanStats;
    spansExported.value = spanStats.exported;
    spansDropped.value = spanStats.dropped;
    retryOverflows.value = s.retryOverflows;
    downstreamErrors.value = s.downstreamProtocolErrors;
    upstreamErrors.value = s.upstreamProtocolErrors;
    uncaughtChild.value = s.uncaughtErrors;
    for (const [name, child] of limitChildren) child.value = src.limitCounters.counts[name];
    shadowResults[0].value = s.shadows;
    shadowResults[1].value = s.shadowsFailed;
    shadowResults[2].value = s.shadowsDropped;
    shadowResults[3].value = s.shadowsBodyTooLarge;
    connectedChild.set(src.xds()?.status().connected ? 1 : 0);
    versionChild.set(src.live.runtime?.version ?? 0);
    unhealthy.reset();
    for (const c of src.live.runtime?.clusters.values() ?? []) {
      for (const h of c.hostSet.hosts) {
        const reason = unhealthyReason(h);
        if (reason) unhealthy.labels(c.name, h.key, reason).set(1);
      }
    }
    return metrics.render();
  };
}

/** Why a sidecar does not send to a host (outlier ejection first, as Envoy's health flags). */
function unhealthyReason(h: Host): string | undefined {
  if (h.ejected) return 'outlier_ejected';
  if (h.failedHealthCheck) return 'failed_health_check';
  if (h.health !== 'HEALTHY' && h.health !== 'UNKNOWN') return h.health.toLowerCase();
  return undefined;
}
