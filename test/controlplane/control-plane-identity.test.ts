import assert from 'node:assert/strict';
import { servingHosts } from '../../src/controlplane/control-plane-identity.js';

describe('control plane identity: serving certificate names', () => {
  it('has loopback, the address listened on, the Service names and extra names, once each', () => {
    const hosts = servingHosts(
      { serviceName: 'cp', serverNames: ['cp.example.com', 'localhost'] },
      'ferry',
      'cluster.local',
      '10.0.0.5',
    );
    assert.deepEqual(hosts, [
      'localhost',
      '127.0.0.1',
      '::1',
      '10.0.0.5',
      'cp',
      'cp.ferry',
      'cp.ferry.svc',
      'cp.ferry.svc.cluster.local',
      'cp.example.com',
    ]);
  });

  it('leaves out an unspecified address and defaults the Service name', () => {
    for (const host of ['0.0.0.0', '::']) {
      const hosts = servingHosts({}, 'ferry-system', 'cluster.local', host);
      assert.ok(!hosts.includes(host), host);
      assert.ok(hosts.includes('ferry-control-plane.ferry-system.svc'));
    }
  });
});
