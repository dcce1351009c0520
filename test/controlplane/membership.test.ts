/**
 * Who may join a service (membership.ts): the verified identity against what the mesh file
 * admits, and in Kubernetes against the pods the Service selects; a registry drops a member
 * once its service stops admitting it.
 */
import assert from 'node:assert/strict';
import { checkMembership, indexServices, Registry } from '../../src/controlplane/index.js';
import type { Service, Workload } from '../../src/mesh/index.js';
import { endpoint, mesh, service } from '../support/mesh.js';

function workload(extra: Partial<Workload> = {}): Workload {
  return {
    id: 'w-1',
    service: 'web',
    namespace: 'default',
    labels: {},
    serviceAccount: 'web',
    address: '10.244.0.7',
    inboundPort: 15006,
    outboundPort: 15001,
    region: '',
    zone: '',
    health: 'HEALTHY',
    ...extra,
  };
}

const WEB = { namespace: 'default', serviceAccount: 'web' };

/** A Kubernetes Service `web` selecting one pod at 10.244.0.7 that runs as `pod-sa`. */
const CLUSTER_WEB: Service = service('web', 80, 'http', [], {
  serviceAccounts: ['pod-sa'],
  endpoints: [
    {
      ...endpoint('10.244.0.7', 8080, 80),
      meshed: true,
      serviceAccount: 'pod-sa',
      source: 'kubernetes:default/web-abcde',
    },
  ],
});

describe('membership: who may join a service', () => {
  const declared = indexServices(
    mesh(
      service('web', 80, 'http', []),
      service('api', 80, 'http', [], { serviceAccounts: ['api', 'api-v2'] }),
    ).services,
  );
  const none = indexServices([]);

  it('admits the service’s own name by default, and the accounts a service lists', () => {
    assert.equal(checkMembership(workload(), WEB, declared, none), undefined);
    const api = workload({ service: 'api', serviceAccount: 'api-v2' });
    assert.equal(
      checkMembership(api, { namespace: 'default', serviceAccount: 'api-v2' }, declared, none),
      undefined,
    );
  });

  it('refuses an account the service does not admit (not_admitted)', () => {
    const evil = { namespace: 'default', serviceAccount: 'evil' };
    const r = checkMembership(workload({ serviceAccount: 'evil' }), evil, declared, none);
    assert.equal(r?.reason, 'not_admitted');
    assert.match(
      r?.message ?? '',
      /service web\.default admits service accounts \[web\], not evil/,
    );
  });

  it('refuses an announcement that differs from the proven identity (identity_mismatch)', () => {
    const evil = { namespace: 'default', serviceAccount: 'evil' };
    assert.equal(checkMembership(workload(), evil, declared, none)?.reason, 'identity_mismatch');
    const otherNs = { namespace: 'shop', serviceAccount: 'web' };
    assert.equal(checkMembership(workload(), otherNs, declared, none)?.reason, 'identity_mismatch');
  });

  it('a service nobody declared admits its own name only', () => {
    const w = workload({ service: 'new', serviceAccount: 'new' });
    assert.equal(
      checkMembership(w, { namespace: 'default', serviceAccount: 'new' }, declared, none),
      undefined,
    );
    const evil = workload({ service: 'new', serviceAccount: 'evil' });
    assert.equal(
      checkMembership(evil, { namespace: 'default', serviceAccount: 'evil' }, declared, none)
        ?.reason,
      'not_admitted',
    );
  });

  it('Kubernetes: only a pod the Service selects, running as the proven account', () => {
    const cluster = indexServices([CLUSTER_WEB]);
    const podSa = { namespace: 'default', serviceAccount: 'pod-sa' };
    assert.equal(
      checkMembership(workload({ serviceAccount: 'pod-sa' }), podSa, declared, cluster),
      undefined,
    );
    // Another address: the selector does not pick it, whatever the sidecar says.
    const elsewhere = workload({ serviceAccount: 'pod-sa', address: '10.244.9.9' });
    assert.equal(checkMembership(elsewhere, podSa, declared, cluster)?.reason, 'not_selected');
    // The selected pod's address, but another account: the file's default (web) does not help.
    assert.equal(checkMembership(workload(), WEB, declared, cluster)?.reason, 'not_admitted');
  });

  it('a registry drops a verified member once the mesh file stops admitting it, and keeps open ones', () => {
    const registry = new Registry(mesh(service('web', 80, 'http', [])));
    registry.connect(workload(), WEB);
    registry.connect(workload({ id: 'dev-1', serviceAccount: 'anything', address: '10.0.0.2' }));
    const ids = () =>
      registry
        .view()
        .services.find((s) => s.name === 'web')
        ?.endpoints.map((e) => e.source);
    assert.deepEqual(ids(), ['workload:dev-1', 'workload:w-1']);
    registry.setMeshConfig(mesh(service('web', 80, 'http', [], { serviceAccounts: ['other'] })));
    assert.deepEqual(ids(), ['workload:dev-1']);
  });
});
