/**
 * Discovery as the control plane starts it, in process against the replaying API server: a
 * cluster that cannot be listed yet does not hold the control plane up past the bound, the
 * mesh file is served meanwhile, and the cluster's services follow once the lists succeed.
 */
import assert from 'node:assert/strict';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { fixtureJson } from '../../kube/discovery/fixtures.js';
import { gate, ReplayApiServer, status } from '../../kube/support/replay-api-server.js';
import { mesh, service } from '../../support/mesh.js';
import { waitFor } from '../../support/wait-for.js';

const UNAVAILABLE = status(
  503,
  'ServiceUnavailable',
  'the server is currently unable to handle the request',
);

describe('Kubernetes discovery in the control plane', () => {
  let server: ReplayApiServer;
  let cp: ControlPlane | undefined;

  beforeEach(async () => {
    server = await ReplayApiServer.start();
  });
  afterEach(async () => {
    await cp?.close();
    cp = undefined;
    await server.close();
  });

  it('an API server failing or stalling at start: the mesh file is served after the bound, the cluster follows', async () => {
    const recovered = gate();
    server
      .list('/api/v1/services', UNAVAILABLE, { body: fixtureJson('services.list.json') })
      .list('/apis/discovery.k8s.io/v1/endpointslices', {
        body: fixtureJson('endpointslices.list.json'),
      })
      // No answer at all until the test says so (an API server that accepts and stalls).
      .list('/api/v1/pods', { body: fixtureJson('pods.list.json'), gate: recovered.promise })
      .list('/api/v1/namespaces', { body: fixtureJson('namespaces.list.json') });
    cp = await ControlPlane.start({
      config: mesh(service('echo', 50051, 'grpc', [50061])),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      kubernetes: {
        kubeConfig: server.kubeConfig(),
        discovery: true,
        syncTimeoutMs: 50,
        retryMs: 20,
      },
      log: silentLogger(),
    });
    const names = () => cp?.registry.view().services.map((s) => `${s.name}.${s.namespace}`) ?? [];
    assert.deepEqual(names(), ['echo.default'], 'started on the mesh file alone');
    recovered.open();
    await waitFor('the cluster’s services', () => names().includes('web.shop'), 10_000);
    assert.deepEqual(names(), [
      'echo.default',
      'api.shop',
      'db.shop',
      'kubernetes.default',
      'web.shop',
    ]);
    assert.equal(
      server.requestsTo('/api/v1/services', 'list').length,
      2,
      'listed again after the 503',
    );
    const metrics = cp.metrics.render();
    assert.match(metrics, /^ferry_kubernetes_watch_failures_total\{kind="Service"\} 1$/m);
    assert.match(metrics, /^ferry_kubernetes_services 4$/m);
  });
});
