import assert from 'node:assert/strict';
import { translateMesh } from '../../../src/controlplane/translate/index.js';
import type { HealthCheck, LoadBalancer } from '../../../src/mesh/index.js';
import { parseHealthCheck } from '../../../src/proxy/cluster/index.js';
import { structToJson } from '../../../src/xds/index.js';
import { mesh, policy, service } from './mesh-fixture.js';
import { get, names } from './resource-helpers.js';

const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

describe('translate: clusters', () => {
  it('maps every load balancer to its Envoy lb_policy', () => {
    const expected: Record<LoadBalancer, string> = {
      round_robin: 'ROUND_ROBIN',
      least_request: 'LEAST_REQUEST',
      ring_hash: 'RING_HASH',
      maglev: 'MAGLEV',
      random: 'RANDOM',
    };
    for (const [lb, envoy] of Object.entries(expected)) {
      const config = mesh(
        service('s', 'default', [[80, 'http']], {
          policy: policy({ loadBalancer: lb as LoadBalancer }),
        }),
      );
      const c = get(
        translateMesh(config).resources.clusters,
        'outbound|80||s.default.svc.cluster.local',
      );
      assert.equal(c.lb_policy, envoy, lb);
    }
  });

  it('makes an EDS cluster over ADS per port and per port and subset', () => {
    const config = mesh(
      service(
        's',
        'ns',
        [
          [80, 'http'],
          [81, 'tcp'],
        ],
        { subsets: [{ name: 'v1', labels: { version: 'v1' } }] },
      ),
    );
    const { clusters } = translateMesh(config).resources;
    assert.deepEqual(names(clusters), [
      'outbound|80|v1|s.ns.svc.cluster.local',
      'outbound|80||s.ns.svc.cluster.local',
      'outbound|81|v1|s.ns.svc.cluster.local',
      'outbound|81||s.ns.svc.cluster.local',
    ]);
    const c = get(clusters, 'outbound|80|v1|s.ns.svc.cluster.local');
    assert.equal(c.type, 'EDS');
    assert.deepEqual(c.eds_cluster_config, {
      eds_config: { ads: {}, resource_api_version: 'V3' },
      service_name: 'outbound|80|v1|s.ns.svc.cluster.local',
    });
    assert.deepEqual(c.connect_timeout, { seconds: 5 });
    assert.deepEqual(structToJson(c.metadata.filter_metadata.ferry), {
      service: 's',
      namespace: 'ns',
      port: 80,
      protocol: 'http',
      subset: 'v1',
    });
  });

  it('speaks HTTP/2 upstream for grpc and http2 ports only', () => {
    const config = mesh(
      service('s', 'default', [
        [1, 'grpc'],
        [2, 'http2'],
        [3, 'http'],
        [4, 'tcp'],
      ]),
    );
    const { clusters } = translateMesh(config).resources;
    for (const port of [1, 2]) {
      const c = get(clusters, `outbound|${port}||s.default.svc.cluster.local`);
      assert.deepEqual(c.typed_extension_protocol_options[HTTP_OPTIONS], {
        '@type': `type.googleapis.com/${HTTP_OPTIONS}`,
        explicit_http_config: { http2_protocol_options: {} },
      });
    }
    for (const port of [3, 4]) {
      const c = get(clusters, `outbound|${port}||s.default.svc.cluster.local`);
      assert.equal(c.typed_extension_protocol_options, undefined);
    }
  });

  it('sets only the circuit breaker thresholds and outlier detection that are configured', () => {
    const config = mesh(
      service('s', 'default', [[80, 'http']], {
        policy: policy({
          connectTimeoutMs: 250,
          circuitBreaker: { maxRequests: 7 },
          outlierDetection: { consecutiveGatewayErrors: 3, maxEjectionPercent: 50 },
        }),
      }),
      service('plain', 'default', [[80, 'http']]),
    );
    const { clusters } = translateMesh(config).resources;
    const c = get(clusters, 'outbound|80||s.default.svc.cluster.local');
    assert.deepEqual(c.connect_timeout, { seconds: 0, nanos: 250_000_000 });
    assert.deepEqual(c.circuit_breakers, {
      thresholds: [{ priority: 'DEFAULT', max_requests: { value: 7 } }],
    });
    assert.deepEqual(c.outlier_detection, {
      consecutive_gateway_failure: { value: 3 },
      enforcing_consecutive_gateway_failure: { value: 100 },
      max_ejection_percent: { value: 50 },
      enforcing_success_rate: { value: 0 },
    });
    const plain = get(clusters, 'outbound|80||plain.default.svc.cluster.local');
    assert.equal(plain.circuit_breakers, undefined);
    assert.equal(plain.outlier_detection, undefined);
  });

  it('splits local origin failures, and enforces success-rate and failure-percentage ejection, only when the file asks', () => {
    const config = mesh(
      service('s', 'default', [[80, 'http']], {
        policy: policy({
          outlierDetection: {
            consecutiveLocalOriginFailures: 3,
            successRate: { requestVolume: 20, stdevFactor: 1.5 },
            failurePercentage: { threshold: 70, minimumHosts: 3 },
          },
        }),
      }),
    );
    const c = get(
      translateMesh(config).resources.clusters,
      'outbound|80||s.default.svc.cluster.local',
    );
    assert.deepEqual(c.outlier_detection, {
      split_external_local_origin_errors: true,
      consecutive_local_origin_failure: { value: 3 },
      enforcing_consecutive_local_origin_failure: { value: 100 },
      enforcing_success_rate: { value: 100 },
      success_rate_request_volume: { value: 20 },
      success_rate_stdev_factor: { value: 1500 },
      enforcing_failure_percentage: { value: 100 },
      failure_percentage_threshold: { value: 70 },
      failure_percentage_minimum_hosts: { value: 3 },
    });
  });

  it('warns when a gRPC service uses a balancer proxyless gRPC rejects', () => {
    const config = mesh(
      service('g', 'default', [[50051, 'grpc']], {
        policy: policy({ loadBalancer: 'least_request' }),
      }),
      service('h', 'default', [[80, 'http']], { policy: policy({ loadBalancer: 'maglev' }) }),
    );
    const { warnings } = translateMesh(config);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /g\.default.*LEAST_REQUEST/);
  });

  it('replaces a non-positive connect timeout with the default and says so', () => {
    const config = mesh(
      service('s', 'default', [[80, 'http']], { policy: policy({ connectTimeoutMs: 0 }) }),
    );
    const t = translateMesh(config);
    const c = get(t.resources.clusters, 'outbound|80||s.default.svc.cluster.local');
    assert.deepEqual(c.connect_timeout, { seconds: 5 });
    assert.equal(t.warnings.length, 1);
  });

  it('sets health_checks (a subset check replacing the service one) and the panic threshold, as the sidecar reads them', () => {
    const http: HealthCheck = {
      kind: { type: 'http', path: '/healthz', expectedStatuses: [[200, 400]] },
      intervalMs: 2000,
      timeoutMs: 250,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
    };
    const grpc: HealthCheck = { ...http, kind: { type: 'grpc', service: 'api.Api' } };
    const config = mesh(
      service('s', 'default', [[80, 'http']], {
        policy: policy({ healthCheck: http, panicThreshold: 0 }),
        subsets: [
          { name: 'v1', labels: { version: 'v1' } },
          { name: 'v2', labels: { version: 'v2' }, healthCheck: grpc },
        ],
      }),
      service('plain', 'default', [[80, 'http']]),
    );
    const { clusters } = translateMesh(config).resources;
    const c = get(clusters, 'outbound|80||s.default.svc.cluster.local');
    assert.deepEqual(c.health_checks, [
      {
        timeout: { seconds: 0, nanos: 250_000_000 },
        interval: { seconds: 2 },
        unhealthy_threshold: { value: 3 },
        healthy_threshold: { value: 2 },
        http_health_check: { path: '/healthz', expected_statuses: [{ start: 200, end: 400 }] },
      },
    ]);
    assert.deepEqual(c.common_lb_config, { healthy_panic_threshold: { value: 0 } });
    assert.deepEqual(parseHealthCheck(c), {
      kind: {
        type: 'http',
        path: '/healthz',
        host: 'outbound|80||s.default.svc.cluster.local',
        expected: [[200, 400]],
      },
      intervalMs: 2000,
      timeoutMs: 250,
      unhealthyThreshold: 3,
      healthyThreshold: 2,
    });
    const v1 = get(clusters, 'outbound|80|v1|s.default.svc.cluster.local');
    assert.deepEqual(v1.health_checks, c.health_checks);
    const v2 = get(clusters, 'outbound|80|v2|s.default.svc.cluster.local');
    assert.deepEqual(v2.health_checks[0].grpc_health_check, { service_name: 'api.Api' });
    assert.deepEqual(parseHealthCheck(v2)?.kind, { type: 'grpc', service: 'api.Api' });
    const plain = get(clusters, 'outbound|80||plain.default.svc.cluster.local');
    assert.equal(plain.health_checks, undefined);
    assert.equal(plain.common_lb_config, undefined);
  });
});
