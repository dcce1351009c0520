import assert from 'node:assert/strict';
import { Registry } from '../../src/controlplane/index.js';
import type { Workload } from '../../src/mesh/index.js';
import { FakeTimers } from '../support/fake-timers.js';
import { mesh, service } from '../support/mesh.js';

function workload(id: string, extra: Partial<Workload> = {}): Workload {
  return {
    id,
    service: 'echo',
    namespace: 'default',
    labels: { version: 'v2' },
    serviceAccount: 'echo',
    address: '127.0.0.9',
    inboundPort: 15006,
    outboundPort: 15001,
    appPort: 8080,
    region: '',
    zone: 'z1',
    health: 'HEALTHY',
    ...extra,
  };
}

describe('Registry', () => {
  it('adds a connected workload as a meshed endpoint on every service port', () => {
    const reg = new Registry(mesh(service('echo', 50051, 'grpc', [50061])), {
      timers: new FakeTimers(),
    });
    reg.connect(workload('pod-1'));
    const echo = reg.view().services.find((s) => s.name === 'echo');
    const added = echo?.endpoints.find((e) => e.source === 'workload:pod-1');
    assert.ok(added);
    assert.deepEqual(added.ports, { 50051: 15006 });
    assert.equal(added.meshed, true);
    assert.equal(added.zone, 'z1');
    assert.equal(echo?.endpoints.length, 2);
  });

  it('keeps a disconnected workload for the grace period, then drops it', () => {
    const timers = new FakeTimers();
    const reg = new Registry(mesh(service('echo', 50051, 'grpc', [])), {
      timers,
      gracePeriodMs: 10_000,
    });
    let changes = 0;
    reg.watch(() => changes++);
    const disconnect = reg.connect(workload('pod-1'));
    assert.equal(changes, 1);
    disconnect();
    timers.advance(9_999);
    assert.equal(reg.workloads().length, 1);
    assert.equal(reg.isConnected('pod-1'), false);
    timers.advance(1);
    assert.equal(reg.workloads().length, 0);
    assert.equal(changes, 2);
  });

  it('a workload that reconnects within the grace period is never dropped', () => {
    const timers = new FakeTimers();
    const reg = new Registry(mesh(), { timers, gracePeriodMs: 1000 });
    let changes = 0;
    reg.watch(() => changes++);
    reg.connect(workload('pod-1'))();
    timers.advance(500);
    reg.connect(workload('pod-1'));
    timers.advance(5000);
    assert.equal(reg.workloads().length, 1);
    assert.equal(changes, 1, 'the same workload reconnecting is not a change');
  });

  it('counts streams: the workload stays while any stream of it is open', () => {
    const timers = new FakeTimers();
    const reg = new Registry(mesh(), { timers, gracePeriodMs: 100 });
    const a = reg.connect(workload('pod-1'));
    const b = reg.connect(workload('pod-1'));
    a();
    a();
    timers.advance(1000);
    assert.equal(reg.workloads().length, 1);
    b();
    timers.advance(100);
    assert.equal(reg.workloads().length, 0);
  });

  it('implies a service the mesh file does not declare', () => {
    const reg = new Registry(mesh(), { timers: new FakeTimers() });
    reg.connect(workload('pod-1', { service: 'ghost', servicePort: 9000, protocol: 'http2' }));
    const ghost = reg.view().services.find((s) => s.name === 'ghost');
    assert.deepEqual(ghost?.ports, [{ port: 9000, protocol: 'http2', name: 'http2-9000' }]);
    assert.equal(ghost?.hostname, 'ghost.default.svc.cluster.local');
    assert.deepEqual(
      ghost?.endpoints.map((e) => e.ports),
      [{ 9000: 15006 }],
    );
  });

  it('re-announcing a changed workload updates its endpoint', () => {
    const reg = new Registry(mesh(service('echo', 50051, 'grpc', [])), {
      timers: new FakeTimers(),
    });
    reg.connect(workload('pod-1'));
    reg.connect(workload('pod-1', { health: 'DRAINING' }));
    const ep = reg.view().services[0].endpoints[0];
    assert.equal(ep.health, 'DRAINING');
  });
});
