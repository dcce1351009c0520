/**
 * Services, EndpointSlices and Pods (recorded list responses of a small dual-stack cluster)
 * into mesh services: golden output, and the rules it follows, one by one.
 */
import assert from 'node:assert/strict';
import {
  type ClusterState,
  endpointHealth,
  type KubeEndpointSlice,
  type KubePod,
  type KubeService,
  portProtocol,
  translateCluster,
} from '../../../src/kube/discovery/index.js';
import type { Service } from '../../../src/mesh/index.js';
import { expectGoldenJson, fixtureJson } from './fixtures.js';

function recordedCluster(): ClusterState {
  return {
    services: fixtureJson<{ items: KubeService[] }>('services.list.json').items,
    endpointSlices: fixtureJson<{ items: KubeEndpointSlice[] }>('endpointslices.list.json').items,
    pods: fixtureJson<{ items: KubePod[] }>('pods.list.json').items,
  };
}

function byName(services: Service[], name: string): Service {
  const s = services.find((x) => x.name === name);
  assert.ok(s, `no service ${name}`);
  return s;
}

describe('translateCluster (Kubernetes → mesh services)', () => {
  const services = translateCluster(recordedCluster(), { domain: 'cluster.local' });

  it('matches the golden output for the recorded cluster', () => {
    expectGoldenJson('translate.golden.json', services);
  });

  it('one service per Service, ExternalName left out, sorted by host name', () => {
    assert.deepEqual(
      services.map((s) => s.hostname),
      [
        'api.shop.svc.cluster.local',
        'db.shop.svc.cluster.local',
        'kubernetes.default.svc.cluster.local',
        'web.shop.svc.cluster.local',
      ],
    );
  });

  it('ports: TCP only, protocol from appProtocol, name or number, unnamed ones named', () => {
    assert.deepEqual(byName(services, 'api').ports, [
      { port: 9090, protocol: 'grpc', name: 'grpc-api' },
      { port: 9100, protocol: 'http', name: 'metrics' },
    ]);
    assert.deepEqual(byName(services, 'db').ports, [
      { port: 5432, protocol: 'tcp', name: 'tcp-5432' },
    ]);
    assert.deepEqual(byName(services, 'kubernetes').ports, [
      { port: 443, protocol: 'tcp', name: 'https' },
    ]);
  });

  it('endpoints: both address families, target ports by port name, pod labels and service account', () => {
    const api = byName(services, 'api');
    assert.deepEqual(
      api.endpoints.map((e) => [e.address, e.ports, e.labels.version, e.serviceAccount, e.zone]),
      [
        ['10.244.1.10', { 9090: 9090, 9100: 9100 }, 'v1', 'api', 'us-east-1a'],
        ['10.244.2.11', { 9090: 9090, 9100: 9100 }, 'v2', 'api', 'us-east-1b'],
        ['fd00:10:244:1::a', { 9090: 9090, 9100: 9100 }, 'v1', 'api', 'us-east-1a'],
      ],
    );
    assert.deepEqual(byName(services, 'web').endpoints[0].ports, { 80: 8080 });
  });

  it('health from conditions: ready HEALTHY, terminating but serving DRAINING, not ready UNHEALTHY', () => {
    const web = byName(services, 'web');
    assert.deepEqual(
      web.endpoints.map((e) => [e.address, e.health, e.meshed]),
      [
        ['10.244.1.5', 'HEALTHY', true],
        ['10.244.2.7', 'DRAINING', true],
        ['10.244.2.9', 'UNHEALTHY', false],
      ],
      'an address in two slices is one endpoint; a pod without ferry.io/status is not meshed',
    );
    assert.equal(web.endpoints[2].serviceAccount, 'default');
  });

  it('endpoints without a pod: not meshed, default service account, zone and region from topology', () => {
    const [db] = byName(services, 'db').endpoints;
    assert.deepEqual(
      { ...db, labels: { ...db.labels } },
      {
        address: '192.168.10.20',
        ports: { 5432: 5432 },
        labels: {},
        region: 'us-east-1',
        zone: 'us-east-1c',
        weight: 1,
        health: 'HEALTHY',
        meshed: false,
        serviceAccount: 'default',
        source: 'kubernetes:shop/db-static',
      },
    );
  });

  it('the same state in another order gives the same services (replicas agree)', () => {
    const s = recordedCluster();
    const shuffled = translateCluster(
      {
        services: [...s.services].reverse(),
        endpointSlices: [...s.endpointSlices].reverse(),
        pods: [...s.pods].reverse(),
      },
      { domain: 'cluster.local' },
    );
    assert.deepEqual(shuffled, services);
  });

  it('cluster IPs (both families) become the service’s addresses; a headless Service has none', () => {
    assert.deepEqual(byName(services, 'api').addresses, ['10.96.14.2', 'fd00:10:96::e02']);
    const out = translateCluster(
      {
        services: [
          {
            metadata: { name: 'db', namespace: 'n' },
            spec: { clusterIP: 'None', clusterIPs: ['None'], ports: [{ port: 5432 }] },
          },
          {
            metadata: { name: 'old', namespace: 'n' },
            spec: { clusterIP: '10.96.1.1', ports: [{ port: 80 }] },
          },
        ],
        endpointSlices: [],
        pods: [],
      },
      { domain: 'cluster.local' },
    );
    assert.equal(byName(out, 'db').addresses, undefined);
    assert.deepEqual(
      byName(out, 'old').addresses,
      ['10.96.1.1'],
      'clusterIP alone (no clusterIPs)',
    );
  });

  it('a Service whose slices have none of its ports has no endpoints', () => {
    const out = translateCluster(
      {
        services: [
          { metadata: { name: 'x', namespace: 'n' }, spec: { ports: [{ name: 'a', port: 1 }] } },
        ],
        endpointSlices: [
          {
            metadata: {
              name: 'x-1',
              namespace: 'n',
              labels: { 'kubernetes.io/service-name': 'x' },
            },
            addressType: 'IPv4',
            endpoints: [{ addresses: ['10.0.0.1'] }],
            ports: [{ name: 'b', port: 2 }],
          },
        ],
        pods: [],
      },
      { domain: 'example.org' },
    );
    assert.equal(out[0].hostname, 'x.n.svc.example.org');
    assert.deepEqual(out[0].endpoints, []);
  });
});

describe('portProtocol', () => {
  const cases: [Parameters<typeof portProtocol>[0], string][] = [
    [{ port: 1234, appProtocol: 'grpc' }, 'grpc'],
    [{ port: 1234, appProtocol: 'kubernetes.io/h2c' }, 'http2'],
    [{ port: 1234, appProtocol: 'HTTP' }, 'http'],
    [{ port: 80, appProtocol: 'https' }, 'tcp'],
    [{ port: 1234, name: 'http2-internal' }, 'http2'],
    [{ port: 1234, name: 'grpc-web' }, 'http'],
    [{ port: 1234, name: 'grpc' }, 'grpc'],
    [{ port: 1234, name: 'tcp-redis' }, 'tcp'],
    [{ port: 1234, name: 'httpish' }, 'tcp'],
    [{ port: 8080, name: 'web' }, 'http'],
    [{ port: 50051 }, 'grpc'],
    [{ port: 5432 }, 'tcp'],
  ];
  for (const [port, expected] of cases)
    it(`${JSON.stringify(port)} → ${expected}`, () => assert.equal(portProtocol(port), expected));
});

describe('endpointHealth', () => {
  const cases: [Parameters<typeof endpointHealth>[0], string][] = [
    [{ ready: true, serving: true, terminating: false }, 'HEALTHY'],
    [{ ready: false, serving: true, terminating: true }, 'DRAINING'],
    [{ ready: false, serving: false, terminating: true }, 'UNHEALTHY'],
    [{ ready: false, serving: false, terminating: false }, 'UNHEALTHY'],
    [{ ready: false }, 'UNHEALTHY'],
    [{}, 'HEALTHY'],
    [undefined, 'HEALTHY'],
    [{ ready: null, terminating: true }, 'DRAINING'],
  ];
  for (const [conditions, expected] of cases)
    it(`${JSON.stringify(conditions)} → ${expected}`, () =>
      assert.equal(endpointHealth(conditions), expected));
});
