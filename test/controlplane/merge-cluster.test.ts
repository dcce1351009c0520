/**
 * The three sources in one registry: mesh file, Kubernetes discovery, auto-registration.
 * The file says how a service is treated, the cluster where it runs, a sidecar's own
 * announcement beats the EndpointSlice's copy of the same pod.
 */
import assert from 'node:assert/strict';
import { mergeCluster, Registry } from '../../src/controlplane/index.js';
import type { Endpoint, Service } from '../../src/mesh/index.js';
import { FakeTimers } from '../support/fake-timers.js';
import { endpoint, mesh, service } from '../support/mesh.js';

function discovered(name: string, namespace: string, addresses: string[]): Service {
  return service(name, 80, 'http', [], {
    namespace,
    endpoints: addresses.map(
      (address): Endpoint => ({
        ...endpoint(address, 8080, 80),
        meshed: true,
        serviceAccount: name,
        source: `kubernetes:${namespace}/${name}-abcde`,
      }),
    ),
  });
}

describe('mergeCluster', () => {
  const fileWeb = service('web', 80, 'http', [], {
    namespace: 'shop',
    endpoints: [endpoint('10.0.0.99', 8080, 80)],
    policy: { loadBalancer: 'least_request', connectTimeoutMs: 1000 },
  });
  const fileEcho = service('echo', 50051, 'grpc', [50061]);

  it('a declared service keeps its settings and gains the cluster’s endpoints after its own', () => {
    const merged = mergeCluster(mesh(fileWeb, fileEcho), [
      discovered('api', 'shop', ['10.244.1.10']),
      discovered('web', 'shop', ['10.0.0.99', '10.244.1.5']),
    ]);
    assert.deepEqual(
      merged.services.map((s) => `${s.name}.${s.namespace}`),
      ['web.shop', 'echo.default', 'api.shop'],
      'the file’s order, then what only the cluster has',
    );
    const web = merged.services[0] as Service;
    assert.equal(web.policy.loadBalancer, 'least_request');
    assert.deepEqual(
      web.endpoints.map((e) => `${e.address} ${e.source}`),
      ['10.0.0.99 mesh-file', '10.244.1.5 kubernetes:shop/web-abcde'],
      'an address the file lists is not added twice',
    );
    assert.equal(merged.services[1], fileEcho, 'untouched services are the same objects');
  });

  it('a declared service without addresses takes the cluster IPs; one with addresses keeps its own', () => {
    const vip = (s: Service, addresses: string[]): Service => ({ ...s, addresses });
    const merged = mergeCluster(mesh(fileWeb, vip(fileEcho, ['10.1.1.1'])), [
      vip(discovered('web', 'shop', ['10.244.1.5']), ['10.96.0.7']),
      vip(discovered('echo', 'default', ['10.244.1.6']), ['10.96.0.8']),
    ]);
    assert.deepEqual(
      merged.services.map((s) => `${s.name} ${s.addresses?.join(',')}`),
      ['web 10.96.0.7', 'echo 10.1.1.1'],
    );
  });

  it('no cluster services: the mesh file as it is', () => {
    const config = mesh(fileWeb);
    assert.equal(mergeCluster(config, []), config);
  });

  it('Registry: cluster services replace the last report; a sidecar’s announcement replaces its pod’s slice endpoint', () => {
    const reg = new Registry(mesh(fileEcho), { timers: new FakeTimers() });
    let changes = 0;
    reg.watch(() => changes++);
    reg.setClusterServices([discovered('web', 'shop', ['10.244.1.5', '10.244.2.9'])]);
    assert.equal(changes, 1);
    reg.connect({
      id: 'web-1.shop',
      service: 'web',
      namespace: 'shop',
      labels: {},
      serviceAccount: 'web',
      address: '10.244.1.5',
      inboundPort: 15006,
      outboundPort: 15001,
      appPort: 8080,
      region: '',
      zone: '',
      health: 'HEALTHY',
    });
    const web = reg.view().services.find((s) => s.name === 'web');
    assert.deepEqual(
      web?.endpoints.map((e) => `${e.address}:${e.ports[80]} ${e.source}`),
      ['10.244.2.9:8080 kubernetes:shop/web-abcde', '10.244.1.5:15006 workload:web-1.shop'],
    );
    reg.setClusterServices([]);
    assert.deepEqual(
      reg.view().services.map((s) => s.name),
      ['echo', 'web'],
      'web stays while its sidecar is registered',
    );
    assert.deepEqual(
      reg
        .view()
        .services.find((s) => s.name === 'web')
        ?.endpoints.map((e) => e.source),
      ['workload:web-1.shop'],
    );
  });
});
