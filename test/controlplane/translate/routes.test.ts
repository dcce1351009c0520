import assert from 'node:assert/strict';
import { translateMesh } from '../../../src/controlplane/translate/index.js';
import { FIXTURE_MESH, mesh, policy, route, service } from './mesh-fixture.js';
import { get, type Loose, names } from './resource-helpers.js';

const ECHO = 'echo.default.svc.cluster.local';
const WEB = 'web.default.svc.cluster.local';

function vhost(routeConfig: Loose, name: string): Loose {
  const found = routeConfig.virtual_hosts.find((v: Loose) => v.name === name);
  assert.ok(found, `no virtual host ${name}`);
  return found;
}

/** The virtual host a request with this Host header reaches (exact domains only). */
function hostFor(routeConfig: Loose, host: string): string | undefined {
  return routeConfig.virtual_hosts.find((v: Loose) => v.domains.includes(host))?.name;
}

describe('translate: outbound route configurations', () => {
  const shared = translateMesh(FIXTURE_MESH, ['tools']);

  it('makes one per namespace with a service, plus the namespaces asked for', () => {
    assert.deepEqual(
      names(shared.resources.routes).filter((n) => n.startsWith('outbound.')),
      ['outbound.data', 'outbound.default', 'outbound.other', 'outbound.shop', 'outbound.tools'],
    );
  });

  it('never lists a domain twice in one route configuration', () => {
    for (const rc of shared.resources.routes) {
      const domains = (rc.value as Loose).virtual_hosts.flatMap((v: Loose) => v.domains);
      assert.equal(new Set(domains).size, domains.length, `duplicate domain in ${rc.name}`);
    }
  });

  it('resolves short names within the client namespace, qualified names everywhere', () => {
    const inDefault = get(shared.resources.routes, 'outbound.default');
    const inOther = get(shared.resources.routes, 'outbound.other');
    const inTools = get(shared.resources.routes, 'outbound.tools');
    assert.equal(hostFor(inDefault, 'echo'), `${ECHO}:50051`);
    assert.equal(hostFor(inDefault, 'echo:50051'), `${ECHO}:50051`);
    assert.equal(hostFor(inOther, 'echo:50051'), 'echo.other.svc.cluster.local:50051');
    assert.equal(hostFor(inTools, 'echo'), undefined);
    for (const rc of [inDefault, inOther, inTools]) {
      assert.equal(hostFor(rc, 'echo.default'), `${ECHO}:50051`);
      assert.equal(hostFor(rc, 'echo.default.svc:50051'), `${ECHO}:50051`);
      assert.equal(hostFor(rc, ECHO), `${ECHO}:50051`);
      assert.equal(hostFor(rc, 'echo.other'), 'echo.other.svc.cluster.local:50051');
    }
    // Only the first HTTP port answers without a port; TCP ports have no virtual host.
    assert.equal(hostFor(inDefault, 'web'), `${WEB}:8080`);
    assert.equal(hostFor(inDefault, 'web:9090'), `${WEB}:9090`);
    assert.equal(hostFor(inDefault, 'db.data:5432'), undefined);
  });

  it('ends every virtual host with a catch-all to the service, carrying its policy', () => {
    const echo = vhost(get(shared.resources.routes, 'outbound.default'), `${ECHO}:50051`);
    assert.deepEqual(echo.routes.at(-1), {
      name: 'default',
      match: { prefix: '/' },
      route: {
        cluster: `outbound|50051||${ECHO}`,
        timeout: { seconds: 2 },
        retry_policy: {
          retry_on: 'unavailable,reset',
          num_retries: { value: 2 },
          retry_back_off: {
            base_interval: { seconds: 0, nanos: 25_000_000 },
            max_interval: { seconds: 0, nanos: 250_000_000 },
          },
        },
      },
    });
  });

  it('splits by weight between subsets and routes a match to one subset', () => {
    const echo = vhost(get(shared.resources.routes, 'outbound.default'), `${ECHO}:50051`);
    // The canary's fault is conditional on a header: its route comes twice (faults.test.ts).
    assert.deepEqual(
      echo.routes.map((r: Loose) => r.name),
      ['canary', 'canary', 'split', 'default'],
    );
    assert.deepEqual(echo.routes[1].match, {
      prefix: '/',
      headers: [{ name: 'x-canary', string_match: { exact: 'true' } }],
    });
    assert.equal(echo.routes[1].route.cluster, `outbound|50051|v2|${ECHO}`);
    assert.deepEqual(echo.routes[2].route.weighted_clusters, {
      clusters: [
        { name: `outbound|50051|v1|${ECHO}`, weight: { value: 90 } },
        { name: `outbound|50051|v2|${ECHO}`, weight: { value: 10 } },
      ],
    });
  });

  it('turns each alternative match into its own route with the same action', () => {
    const web = vhost(get(shared.resources.routes, 'outbound.default'), `${WEB}:8080`);
    const api = web.routes.filter((r: Loose) => r.name === 'api');
    assert.equal(api.length, 2);
    assert.deepEqual(api[0].match, {
      prefix: '/api/',
      headers: [{ name: ':method', string_match: { exact: 'GET' } }],
    });
    assert.deepEqual(api[1].match, {
      safe_regex: { regex: '/v[0-9]+/.*' },
      headers: [{ name: 'x-debug', present_match: true, invert_match: true }],
      query_parameters: [
        { name: 'q', string_match: { prefix: 'a' } },
        { name: 'flag', present_match: true },
      ],
    });
    assert.deepEqual(api[0].route, api[1].route);
    assert.deepEqual(api[0].route, {
      cluster: `outbound|8080||${WEB}`,
      prefix_rewrite: '/',
      host_rewrite_literal: 'api.internal',
      timeout: { seconds: 0, nanos: 500_000_000 },
      retry_policy: {
        retry_on: 'unavailable,reset,retriable-status-codes',
        num_retries: { value: 2 },
        per_try_timeout: { seconds: 0, nanos: 200_000_000 },
        retry_back_off: {
          base_interval: { seconds: 0, nanos: 25_000_000 },
          max_interval: { seconds: 0, nanos: 250_000_000 },
        },
        retriable_status_codes: [503],
      },
      hash_policy: [{ header: { header_name: 'x-user' } }],
      // 12.5% of the route's requests copied to web's other port, out of a million as Istio.
      request_mirror_policies: [
        {
          cluster: `outbound|9090||${WEB}`,
          runtime_fraction: { default_value: { numerator: 125_000, denominator: 'MILLION' } },
        },
      ],
    });
    const exact = web.routes.find((r: Loose) => r.name === 'exact');
    assert.deepEqual(exact.match, { path: '/healthz' });
    // A backend in another service, on its own port; its balancer (round robin) needs no hash.
    assert.deepEqual(exact.route, { cluster: 'outbound|8443||shop.shop.svc.cluster.local' });
  });

  it('skips backends that do not resolve and routes none of whose backends do', () => {
    const config = mesh(
      service('a', 'default', [[80, 'http']], {
        subsets: [{ name: 'v1', labels: {} }],
        routes: [
          route('partly', {
            backends: [
              { service: 'a', namespace: 'default', subset: 'v1', weight: 1 },
              { service: 'missing', namespace: 'default', weight: 1 },
              { service: 'b', namespace: 'default', weight: 1 },
              { service: 'a', namespace: 'default', subset: 'v9', weight: 1 },
            ],
          }),
          route('none', {
            backends: [{ service: 'a', namespace: 'default', port: 81, weight: 1 }],
          }),
          route('zero', {
            backends: [
              { service: 'a', namespace: 'default', weight: 0 },
              { service: 'a', namespace: 'default', subset: 'v1', weight: 0 },
            ],
          }),
        ],
      }),
      service('b', 'default', [[90, 'http']]),
    );
    const t = translateMesh(config);
    const a = vhost(get(t.resources.routes, 'outbound.default'), 'a.default.svc.cluster.local:80');
    assert.deepEqual(
      a.routes.map((r: Loose) => r.name),
      ['partly', 'default'],
    );
    assert.equal(a.routes[0].route.cluster, 'outbound|80|v1|a.default.svc.cluster.local');
    assert.equal(t.warnings.length, 6, t.warnings.join('\n'));
    assert.ok(t.warnings.some((w) => /missing\.default does not exist/.test(w)));
    assert.ok(t.warnings.some((w) => /b\.default has no port 80/.test(w)));
    assert.ok(t.warnings.some((w) => /no subset v9/.test(w)));
    assert.ok(t.warnings.some((w) => /route none: no backend resolves/.test(w)));
    assert.ok(t.warnings.some((w) => /route zero: backend weights add up to 0/.test(w)));
  });

  it('mirrors to a subset (every request by default) and skips a mirror that does not resolve', () => {
    const config = mesh(
      service('a', 'default', [[80, 'http']], {
        subsets: [{ name: 'v2', labels: { version: 'v2' } }],
        routes: [
          route('shadowed', {
            match: [{ path: { prefix: '/s' }, headers: [], queryParams: [] }],
            mirror: { service: 'a', namespace: 'default', subset: 'v2', percentage: 100 },
          }),
          route('lost', {
            mirror: { service: 'gone', namespace: 'default', percentage: 0.1 },
          }),
        ],
      }),
    );
    const t = translateMesh(config);
    const a = vhost(get(t.resources.routes, 'outbound.default'), 'a.default.svc.cluster.local:80');
    const [shadowed, lost] = a.routes;
    assert.equal(shadowed.route.cluster, 'outbound|80||a.default.svc.cluster.local');
    assert.deepEqual(shadowed.route.request_mirror_policies, [
      {
        cluster: 'outbound|80|v2|a.default.svc.cluster.local',
        runtime_fraction: { default_value: { numerator: 1_000_000, denominator: 'MILLION' } },
      },
    ]);
    assert.equal(lost.name, 'lost');
    assert.equal(lost.route.request_mirror_policies, undefined);
    assert.deepEqual(t.warnings, [
      'service a.default port 80 route lost: mirror skipped: service gone.default does not exist',
    ]);
  });

  it('keeps zero weights in a split whose total is positive, and sums repeated backends', () => {
    const config = mesh(
      service('a', 'default', [[80, 'http']], {
        subsets: [{ name: 'v1', labels: {} }],
        routes: [
          route('r', {
            backends: [
              { service: 'a', namespace: 'default', weight: 0 },
              { service: 'a', namespace: 'default', subset: 'v1', weight: 2 },
              { service: 'a', namespace: 'default', subset: 'v1', weight: 3 },
            ],
          }),
        ],
      }),
    );
    const rc = get(translateMesh(config).resources.routes, 'outbound.default');
    assert.deepEqual(rc.virtual_hosts[0].routes[0].route.weighted_clusters.clusters, [
      { name: 'outbound|80||a.default.svc.cluster.local', weight: { value: 0 } },
      { name: 'outbound|80|v1|a.default.svc.cluster.local', weight: { value: 5 } },
    ]);
  });

  it('hashes on a cookie or the source IP for ring hash and Maglev only', () => {
    const config = mesh(
      service('c', 'default', [[80, 'http']], {
        policy: policy({ loadBalancer: 'maglev', hashOn: { cookie: 'sid', ttlMs: 60_000 } }),
      }),
      service('i', 'default', [[80, 'http']], {
        policy: policy({ loadBalancer: 'ring_hash', hashOn: { sourceIp: true } }),
      }),
      service('r', 'default', [[80, 'http']], {
        policy: policy({ loadBalancer: 'round_robin', hashOn: { header: 'x' } }),
      }),
    );
    const rc = get(translateMesh(config).resources.routes, 'outbound.default');
    const action = (host: string) =>
      vhost(rc, `${host}.default.svc.cluster.local:80`).routes[0].route;
    assert.deepEqual(action('c').hash_policy, [{ cookie: { name: 'sid', ttl: { seconds: 60 } } }]);
    assert.deepEqual(action('i').hash_policy, [{ connection_properties: { source_ip: true } }]);
    assert.equal(action('r').hash_policy, undefined);
  });

  it('omits the timeout and a retry policy that allows no retries', () => {
    const config = mesh(
      service('a', 'default', [[80, 'http']], {
        policy: policy({
          retries: {
            attempts: 0,
            on: ['5xx'],
            retriableStatusCodes: [],
            backoffBaseMs: 25,
            backoffMaxMs: 250,
          },
        }),
      }),
    );
    const rc = get(translateMesh(config).resources.routes, 'outbound.default');
    assert.deepEqual(rc.virtual_hosts[0].routes[0].route, {
      cluster: 'outbound|80||a.default.svc.cluster.local',
    });
  });
});
