/**
 * Each resource compiled once when it arrives (issue 16): what cannot be compiled is refused
 * with the reason (the NACK's message), what can is kept in the form the runtime is
 * assembled from, and assembling compiles nothing and cannot fail.
 */
import assert from 'node:assert/strict';
import {
  assembleRuntime,
  type CompiledListener,
  ResourceCompiler,
} from '../../../src/proxy/runtime/index.js';
import { types } from '../../../src/xds/index.js';
import type { ProxyConfig } from '../../../src/xds-client/index.js';
import { TELEMETRY_MESH, workload } from '../../controlplane/translate/mesh-fixture.js';
import { compiledEntries, wireProxyConfig } from './wire-config.js';

const LOCAL_RATE_LIMIT =
  'type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit';

function inboundListener(maxTokens: number): object {
  return {
    name: types.VIRTUAL_INBOUND,
    filter_chains: [
      {
        filters: [
          {
            name: 'envoy.filters.network.http_connection_manager',
            typed_config: {
              '@type': types.HTTP_CONNECTION_MANAGER,
              rds: { route_config_name: 'inbound|8080||', config_source: { ads: {} } },
              http_filters: [
                {
                  name: 'envoy.filters.http.local_ratelimit',
                  typed_config: {
                    '@type': LOCAL_RATE_LIMIT,
                    stat_prefix: 'inbound',
                    token_bucket: {
                      max_tokens: maxTokens,
                      tokens_per_fill: { value: maxTokens },
                      fill_interval: { seconds: 60 },
                    },
                    filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
                    filter_enforced: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
                  },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

describe('sidecar: resources compiled when they arrive', () => {
  it('refuses a cluster whose balancer or inline endpoints cannot be built, with the reason', () => {
    const compiler = new ResourceCompiler();
    const policy = compiler.compile(
      types.CLUSTER,
      'c',
      { name: 'c', type: 'STATIC', lb_policy: 'LOAD_BALANCING_POLICY_CONFIG' },
      undefined,
    );
    assert.ok(!policy.ok);
    assert.match(policy.error, /lb_policy LOAD_BALANCING_POLICY_CONFIG is not supported/);
    const port0 = compiler.compile(
      types.CLUSTER,
      'c',
      {
        name: 'c',
        type: 'STATIC',
        load_assignment: {
          cluster_name: 'c',
          endpoints: [
            {
              lb_endpoints: [
                {
                  endpoint: { address: { socket_address: { address: '10.0.0.1', port_value: 0 } } },
                },
              ],
            },
          ],
        },
      },
      undefined,
    );
    assert.ok(!port0.ok);
    assert.match(port0.error, /port_value: .*must be 1\.\.65535, got 0/);
    const inverted = compiler.compile(
      types.CLUSTER,
      'c',
      {
        name: 'c',
        type: 'EDS',
        lb_policy: 'RING_HASH',
        ring_hash_lb_config: {
          minimum_ring_size: { value: 4096 },
          maximum_ring_size: { value: 1024 },
        },
      },
      undefined,
    );
    assert.ok(!inverted.ok);
    assert.match(
      inverted.error,
      /^ring_hash_lb_config\.minimum_ring_size: .*minimum_ring_size \(4096\) > maximum_ring_size \(1024\)/,
    );
    assert.equal(compiler.counts.clusters, 3);
  });

  it('keeps a listener’s rate limit bucket when an update leaves the limit as it was', () => {
    const compiler = new ResourceCompiler(() => 0);
    const first = compiler.compile(
      types.LISTENER,
      types.VIRTUAL_INBOUND,
      inboundListener(2),
      undefined,
    );
    assert.ok(first.ok);
    const limit = (first.compiled as CompiledListener).limit;
    assert.ok(limit);
    const same = compiler.compile(
      types.LISTENER,
      types.VIRTUAL_INBOUND,
      inboundListener(2),
      first.compiled,
    );
    assert.ok(same.ok);
    assert.equal((same.compiled as CompiledListener).limit?.limiter, limit.limiter);
    const changed = compiler.compile(
      types.LISTENER,
      types.VIRTUAL_INBOUND,
      inboundListener(5),
      same.compiled,
    );
    assert.ok(changed.ok);
    assert.notEqual((changed.compiled as CompiledListener).limit?.limiter, limit.limiter);
  });

  it('assembles a collector named by cluster from that cluster; without it, tracing is off with a warning, the rest applies', () => {
    const source = wireProxyConfig(TELEMETRY_MESH, workload({ service: 'api', appPort: 8080 }));
    // The collector named by its cluster only (no envoy_grpc.authority): looked up there.
    const byCluster = (value: object) =>
      JSON.parse(JSON.stringify(value), (k, v) => (k === 'authority' ? undefined : v));
    const listeners = compiledEntries(
      types.LISTENER,
      [...source.listeners.values()].map((e) => ({ name: e.name, value: byCluster(e.value) })),
    );
    const config = { ...source, listeners } as ProxyConfig;
    const whole = assembleRuntime(config, undefined, Math.random);
    assert.deepEqual(whole.warnings, []);
    assert.equal(
      whole.config.telemetry.outbound.tracing?.endpoint,
      'http://otel-collector.observability:4317',
    );
    const collector = [...source.clusters.keys()].find((n) => n.includes('otel-collector'));
    assert.ok(collector);
    const clusters = new Map(source.clusters);
    clusters.delete(collector);
    const without = assembleRuntime({ ...config, clusters }, undefined, Math.random);
    assert.equal(without.config.telemetry.outbound.tracing, undefined);
    assert.match(
      without.warnings.join('\n'),
      /tracing collector cluster ".*otel-collector.*" has no endpoint; tracing is off/,
    );
    assert.ok(without.config.outbound.table, 'the routes still apply');
  });
});
