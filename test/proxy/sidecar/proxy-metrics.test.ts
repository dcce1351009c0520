/**
 * Each ferry_proxy_* series reads its one home: a counter bumped on ProxyStats or
 * LimitCounters, or a gauge of the sidecar's parts, shows in the next render with nothing
 * copied in between.
 */
import assert from 'node:assert/strict';
import { silentLogger } from '../../../src/log/index.js';
import { MetricsRegistry } from '../../../src/metrics/index.js';
import { ProxyStats } from '../../../src/proxy/http/index.js';
import { LIMIT, LimitCounters } from '../../../src/proxy/listener/index.js';
import { LiveConfig, registerProxyMetrics } from '../../../src/proxy/sidecar/index.js';
import { LiveTelemetry } from '../../../src/proxy/telemetry/index.js';

describe('sidecar proxy metrics', () => {
  it('renders every counter from where it is counted, as it changes', async () => {
    const registry = new MetricsRegistry();
    const stats = new ProxyStats();
    const limits = new LimitCounters();
    const live = new LiveConfig({
      service: 'web',
      namespace: 'default',
      opaquePorts: new Set(),
      random: Math.random,
    });
    const telemetry = new LiveTelemetry(
      { service: 'web', namespace: 'default' },
      silentLogger(),
      () => undefined,
    );
    let connections = 0;
    registerProxyMetrics(registry, {
      stats,
      limitCounters: limits,
      live,
      telemetry,
      gauges: {
        xdsConnected: () => 1,
        xdsNacks: (type: string) => (type === 'CDS' ? 2 : 0),
        configVersion: () => 0,
        upstreamPools: () => 3,
        downstreamConnections: () => connections,
      },
    });
    const before = registry.render();
    assert.match(before, /^ferry_proxy_requests_total\{response_code_class="5xx"\} 0$/m);
    assert.match(before, /^ferry_proxy_xds_nacks_total\{type="CDS"\} 2$/m);
    assert.match(before, /^ferry_proxy_xds_nacks_total\{type="LDS"\} 0$/m);
    stats.responses5xx += 4;
    stats.denied++;
    stats.retryOverflows += 2;
    stats.connectionOverflows += 3;
    stats.shadowsBodyTooLarge++;
    stats.inboundUnconfigured += 6;
    limits.hit(LIMIT.H2_RAPID_RESET);
    connections = 9;
    const after = registry.render();
    for (const line of [
      'ferry_proxy_requests_total{response_code_class="5xx"} 4',
      'ferry_proxy_rbac_denied_total 1',
      'ferry_proxy_circuit_breaker_overflows_total{kind="retry"} 2',
      'ferry_proxy_circuit_breaker_overflows_total{kind="connection"} 3',
      'ferry_proxy_mirror_requests_total{result="body_too_large"} 1',
      'ferry_proxy_inbound_unconfigured_total 6',
      'ferry_proxy_downstream_limits_total{limit="h2_rapid_reset"} 1',
      'ferry_proxy_downstream_connections 9',
      'ferry_proxy_upstream_pools 3',
      'ferry_proxy_trace_spans_total{result="exported"} 0',
    ]) {
      assert.ok(after.split('\n').includes(line), `missing: ${line}`);
    }
    await telemetry.close();
  });
});
