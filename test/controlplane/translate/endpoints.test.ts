import assert from 'node:assert/strict';
import { translateMesh } from '../../../src/controlplane/translate/index.js';
import { endpoint, mesh, service } from './mesh-fixture.js';
import { get, type Loose } from './resource-helpers.js';

const HOST = 's.default.svc.cluster.local';

function addresses(cla: Loose): string[] {
  return cla.endpoints.flatMap((l: Loose) =>
    l.lb_endpoints.map(
      (e: Loose) =>
        `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`,
    ),
  );
}

describe('translate: cluster load assignments', () => {
  it('groups endpoints by locality, weighting each locality by the sum of its endpoints', () => {
    const config = mesh(
      service('s', 'default', [[80, 'http']], {
        endpoints: [
          endpoint('10.0.0.3', { 80: 8080 }, { region: 'us', zone: 'b', weight: 2 }),
          endpoint('10.0.0.1', { 80: 8080 }, { region: 'eu', zone: 'a', weight: 5 }),
          endpoint(
            '10.0.0.2',
            { 80: 8081 },
            { region: 'us', zone: 'b', weight: 3, health: 'UNHEALTHY' },
          ),
          endpoint('10.0.0.4', { 80: 8080 }),
        ],
      }),
    );
    const cla = get(translateMesh(config).resources.endpoints, `outbound|80||${HOST}`);
    assert.equal(cla.cluster_name, `outbound|80||${HOST}`);
    assert.deepEqual(
      cla.endpoints.map((l: Loose) => [l.locality, l.load_balancing_weight, l.priority]),
      [
        [{ region: '', zone: '' }, { value: 1 }, 0],
        [{ region: 'eu', zone: 'a' }, { value: 5 }, 0],
        [{ region: 'us', zone: 'b' }, { value: 5 }, 0],
      ],
    );
    const { metadata: _m0, ...first } = cla.endpoints[2].lb_endpoints[0];
    const { metadata: _m1, ...second } = cla.endpoints[2].lb_endpoints[1];
    assert.deepEqual(
      [first, second],
      [
        {
          endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 8081 } } },
          health_status: 'UNHEALTHY',
          load_balancing_weight: { value: 3 },
        },
        {
          endpoint: { address: { socket_address: { address: '10.0.0.3', port_value: 8080 } } },
          health_status: 'HEALTHY',
          load_balancing_weight: { value: 2 },
        },
      ],
    );
  });

  it("names each endpoint's workload in Istio's format, with app, version and (behind a sidecar) the SPIFFE ID", () => {
    const config = mesh(
      service('reviews', 'shop', [[80, 'http']], {
        endpoints: [
          endpoint('10.0.0.1', { 80: 80 }, { labels: { app: 'reviews', version: 'v2' } }),
          endpoint(
            '10.0.0.2',
            { 80: 80 },
            { labels: { version: 'v1' }, meshed: true, serviceAccount: 'bookinfo-reviews' },
          ),
          endpoint('10.0.0.3', { 80: 80 }, { meshed: true }),
        ],
      }),
    );
    const cla = get(
      translateMesh(config).resources.endpoints,
      'outbound|80||reviews.shop.svc.cluster.local',
    );
    const seen = cla.endpoints[0].lb_endpoints.map((e: Loose) => {
      const m = e.metadata.filter_metadata;
      const ferry = m.ferry.fields;
      return [
        m.istio.fields.workload.stringValue,
        ferry.app.stringValue,
        ferry.version.stringValue,
        ferry.principal?.stringValue,
      ];
    });
    assert.deepEqual(seen, [
      ['reviews-v2;shop;reviews;v2;Kubernetes', 'reviews', 'v2', undefined],
      [
        'reviews-v1;shop;reviews;v1;Kubernetes',
        'reviews',
        'v1',
        'spiffe://cluster.local/ns/shop/sa/bookinfo-reviews',
      ],
      [
        'reviews;shop;reviews;latest;Kubernetes',
        'reviews',
        'unknown',
        'spiffe://cluster.local/ns/shop/sa/default',
      ],
    ]);
  });

  it("carries the mesh file's cluster name (telemetry.clusterName) in the workload string", () => {
    const base = mesh(
      service('s', 'default', [[80, 'http']], { endpoints: [endpoint('10.0.0.1', { 80: 80 })] }),
    );
    const config = { ...base, mesh: { ...base.mesh, telemetry: { clusterName: 'east-1' } } };
    const cla = get(translateMesh(config).resources.endpoints, `outbound|80||${HOST}`);
    assert.equal(
      cla.endpoints[0].lb_endpoints[0].metadata.filter_metadata.istio.fields.workload.stringValue,
      's;default;s;latest;east-1',
    );
  });

  it('leaves the workload out with telemetry.peerMetadata false (the mTLS mark stays)', () => {
    const base = mesh(
      service('s', 'default', [[80, 'http']], {
        endpoints: [
          endpoint('10.0.0.1', { 80: 80 }),
          endpoint('10.0.0.2', { 80: 80 }, { meshed: true }),
        ],
      }),
    );
    const config = { ...base, mesh: { ...base.mesh, telemetry: { peerMetadata: false } } };
    const cla = get(translateMesh(config).resources.endpoints, `outbound|80||${HOST}`);
    assert.deepEqual(
      cla.endpoints[0].lb_endpoints.map((e: Loose) =>
        Object.keys(e.metadata?.filter_metadata ?? {}),
      ),
      [[], ['envoy.transport_socket_match']],
    );
  });

  it('gives subset CLAs only the endpoints whose labels match', () => {
    const config = mesh(
      service('s', 'default', [[80, 'http']], {
        endpoints: [
          endpoint('10.0.0.1', { 80: 80 }, { labels: { version: 'v1', track: 'stable' } }),
          endpoint('10.0.0.2', { 80: 80 }, { labels: { version: 'v2', track: 'stable' } }),
          endpoint('10.0.0.3', { 80: 80 }, { labels: { version: 'v2' } }),
        ],
        subsets: [
          { name: 'v2-stable', labels: { version: 'v2', track: 'stable' } },
          { name: 'v3', labels: { version: 'v3' } },
        ],
      }),
    );
    const { endpoints } = translateMesh(config).resources;
    assert.deepEqual(addresses(get(endpoints, `outbound|80||${HOST}`)), [
      '10.0.0.1:80',
      '10.0.0.2:80',
      '10.0.0.3:80',
    ]);
    assert.deepEqual(addresses(get(endpoints, `outbound|80|v2-stable|${HOST}`)), ['10.0.0.2:80']);
    // A subset nothing matches still has its (empty) CLA, so its cluster is complete.
    assert.deepEqual(get(endpoints, `outbound|80|v3|${HOST}`), {
      cluster_name: `outbound|80|v3|${HOST}`,
      endpoints: [],
    });
  });

  it('skips endpoints without a port for the service port', () => {
    const config = mesh(
      service(
        's',
        'default',
        [
          [80, 'http'],
          [90, 'http'],
        ],
        {
          endpoints: [endpoint('10.0.0.1', { 80: 80, 90: 9000 }), endpoint('10.0.0.2', { 80: 80 })],
        },
      ),
    );
    const { endpoints } = translateMesh(config).resources;
    assert.deepEqual(addresses(get(endpoints, `outbound|90||${HOST}`)), ['10.0.0.1:9000']);
  });

  it('keeps one endpoint per address and port (gRPC rejects duplicates) and warns', () => {
    const config = mesh(
      service('s', 'default', [[80, 'http']], {
        endpoints: [
          endpoint('10.0.0.1', { 80: 80 }, { weight: 4 }),
          endpoint('10.0.0.1', { 80: 80 }, { source: 'workload:x' }),
        ],
        subsets: [{ name: 'all', labels: {} }],
      }),
    );
    const t = translateMesh(config);
    const cla = get(t.resources.endpoints, `outbound|80||${HOST}`);
    assert.deepEqual(addresses(cla), ['10.0.0.1:80']);
    assert.deepEqual(cla.endpoints[0].load_balancing_weight, { value: 4 });
    assert.equal(t.warnings.length, 1);
  });
});
