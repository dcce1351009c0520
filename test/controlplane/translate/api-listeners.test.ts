import assert from 'node:assert/strict';
import { translateMesh } from '../../../src/controlplane/translate/index.js';
import { FIXTURE_MESH, mesh, service } from './mesh-fixture.js';
import { get, type Loose, names } from './resource-helpers.js';

const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/** The route configuration a proxyless client reaches from `xds:///<target>`. */
function routeConfigOf(
  listeners: readonly { name: string; value: object }[],
  target: string,
): string {
  const hcm = get(listeners, target).api_listener.api_listener;
  assert.equal(hcm['@type'], HCM);
  return hcm.rds.route_config_name;
}

describe('translate: API listeners for proxyless gRPC', () => {
  const { resources } = translateMesh(FIXTURE_MESH);
  const listeners = resources.listeners;

  it('resolves every way of naming echo to its port route configuration', () => {
    for (const target of [
      'echo',
      'echo:50051',
      'echo.default',
      'echo.default:50051',
      'echo.default.svc',
      'echo.default.svc:50051',
      'echo.default.svc.cluster.local',
      'echo.default.svc.cluster.local:50051',
    ]) {
      assert.equal(
        routeConfigOf(listeners, target),
        'echo.default.svc.cluster.local:50051',
        target,
      );
    }
    assert.equal(routeConfigOf(listeners, 'echo.other'), 'echo.other.svc.cluster.local:50051');
  });

  it('produces each name once, on demand, with its route configuration present', () => {
    const all = names(listeners);
    assert.equal(new Set(all).size, all.length);
    for (const l of listeners) {
      assert.equal(l.onDemand, true, l.name);
      const rc = routeConfigOf(listeners, l.name);
      const route = resources.routes.find((r) => r.name === rc);
      assert.ok(route, `${l.name} -> ${rc}`);
      assert.equal(route.onDemand, true);
    }
  });

  it('answers the bare name only for the first HTTP port, and never for TCP ports', () => {
    assert.equal(routeConfigOf(listeners, 'web'), 'web.default.svc.cluster.local:8080');
    assert.equal(routeConfigOf(listeners, 'web:9090'), 'web.default.svc.cluster.local:9090');
    assert.ok(!names(listeners).some((n) => n.startsWith('db')));
  });

  it('gives a short name to the first namespace in order when default has no such service', () => {
    const config = mesh(
      service('api', 'zeta', [[80, 'grpc']]),
      service('api', 'beta', [[80, 'grpc']]),
      service('api', 'alpha', [[81, 'grpc']]),
    );
    const l = translateMesh(config).resources.listeners;
    assert.equal(routeConfigOf(l, 'api'), 'api.alpha.svc.cluster.local:81');
    assert.equal(routeConfigOf(l, 'api:81'), 'api.alpha.svc.cluster.local:81');
    // alpha has no port 80, so `api:80` goes to the next namespace that has it.
    assert.equal(routeConfigOf(l, 'api:80'), 'api.beta.svc.cluster.local:80');
    assert.equal(routeConfigOf(l, 'api.zeta'), 'api.zeta.svc.cluster.local:80');
  });

  it('routes in the API route configuration as in the sidecars, for any authority', () => {
    const api = get(resources.routes, 'echo.default.svc.cluster.local:50051');
    const sidecar = get(resources.routes, 'outbound.default').virtual_hosts.find(
      (v: Loose) => v.name === 'echo.default.svc.cluster.local:50051',
    );
    assert.equal(api.virtual_hosts.length, 1);
    assert.deepEqual(api.virtual_hosts[0].domains, ['*']);
    assert.deepEqual(api.virtual_hosts[0].routes, sidecar.routes);
  });
});
