/**
 * An HTTPRoute rule's timeouts, retry and sessionPersistence in xDS, on a Gateway parent and
 * on a Service parent (GAMMA) alike: RouteAction.timeout, retry_policy (retriable status
 * codes, num_retries, per_try_timeout, back-off) and the stateful session filter (in the
 * connection manager only when a route uses it; per route in typed_per_filter_config), as
 * Envoy Gateway maps them. Every resource is checked against the Envoy protos.
 * After the conformance scenarios HTTPRouteTimeoutRequest, HTTPRouteTimeoutBackendRequest,
 * HTTPRouteRetry* and HTTPRouteSessionPersistence*.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import {
  translateGateway,
  translateMesh,
  translateWorkload,
} from '../../../src/controlplane/translate/index.js';
import { type MeshConfig, parseMesh } from '../../../src/mesh/index.js';
import { gateway, HTTP_LISTENER, httpRoute, meshOf, SERVICES } from '../../gatewayapi/support.js';
import { workload } from './mesh-fixture.js';
import { protoProblems } from './proto-check.js';
import { get, type Loose } from './resource-helpers.js';

const SESSION_FILTER = 'envoy.filters.http.stateful_session';

function checked(resources: {
  readonly listeners: readonly Loose[];
  readonly routes: readonly Loose[];
}) {
  for (const l of resources.listeners) {
    assert.deepEqual(protoProblems('envoy.config.listener.v3.Listener', l.value), [], l.name);
  }
  for (const r of resources.routes) {
    assert.deepEqual(
      protoProblems('envoy.config.route.v3.RouteConfiguration', r.value),
      [],
      r.name,
    );
  }
}

/** The gateway's port-80 routes and the filters of its connection manager. */
function onGateway(rule: string): { routes: Loose[]; httpFilters: string[] } {
  const t = translateGateway(
    meshOf(
      gateway(HTTP_LISTENER) +
        httpRoute('web', `      parentRefs: [{ name: gw }]\n      rules:\n${rule}`),
    ),
    'default/gw',
  );
  checked(t.resources);
  const routes = get(t.resources.routes, 'gateway~80').virtual_hosts[0].routes;
  const hcm = get(t.resources.listeners, 'gateway~80').filter_chains[0].filters[0].typed_config;
  return { routes, httpFilters: hcm.http_filters.map((f: Loose) => f.name) };
}

/** The outbound routes of `api` on a sidecar in default, and its outbound HCM's filters. */
function onService(rule: string, services = SERVICES): { routes: Loose[]; httpFilters: string[] } {
  const text = `${services}gatewayApi:\n${httpRoute(
    'web',
    `      parentRefs: [{ group: "", kind: Service, name: api, port: 8080 }]\n      rules:\n${rule}`,
  )}`;
  const parsed = parseMesh(text, 'mesh.yaml');
  if (!parsed.ok) assert.fail(parsed.errors.map((e) => e.message).join('\n'));
  const config: MeshConfig = parsed.config;
  const t = translateMesh(config);
  checked(t.resources);
  const vh = get(t.resources.routes, 'outbound.default').virtual_hosts.find(
    (v: Loose) => v.name === 'api.default.svc.cluster.local:8080',
  );
  const sidecar = translateWorkload(config, workload({ service: 'api' })).resources;
  checked(sidecar);
  const hcm = get(sidecar.listeners, 'virtualOutbound').filter_chains[0].filters[0].typed_config;
  return { routes: vh.routes, httpFilters: hcm.http_filters.map((f: Loose) => f.name) };
}

const RETRYING = `        - backendRefs: [{ name: api, port: 8080 }]
          timeouts: { request: 10s, backendRequest: 500ms }
          retry: { codes: [500, 503], attempts: 2, backoff: 100ms }
`;

const RETRY_POLICY = {
  retry_on: 'connect-failure,refused-stream,retriable-status-codes',
  num_retries: { value: 2 },
  per_try_timeout: { seconds: 0, nanos: 500_000_000 },
  retry_back_off: {
    base_interval: { seconds: 0, nanos: 100_000_000 },
    max_interval: { seconds: 1 },
  },
  retriable_status_codes: [500, 503],
};

describe('translate: HTTPRoute timeouts, retry and sessionPersistence', () => {
  for (const [parent, of] of [
    ['Gateway', onGateway],
    ['Service (GAMMA)', onService],
  ] as const) {
    describe(`on a ${parent} parent`, () => {
      it('request is the route timeout; codes, attempts, backoff and backendRequest the retry policy', () => {
        const [route] = of(RETRYING).routes;
        assert.deepEqual(route.route.timeout, { seconds: 10 });
        assert.deepEqual(route.route.retry_policy, RETRY_POLICY);
      });

      it('backendRequest without retries bounds the one try: it is the (shorter) route timeout', () => {
        const [route] = of(`        - backendRefs: [{ name: api, port: 8080 }]
          timeouts: { request: 10s, backendRequest: 2s }
`).routes;
        assert.deepEqual(route.route.timeout, { seconds: 2 });
        assert.equal(route.route.retry_policy, undefined);
      });

      it('request 0s turns the route timeout off', () => {
        const [route] = of(`        - backendRefs: [{ name: api, port: 8080 }]
          timeouts: { request: 0s }
`).routes;
        assert.deepEqual(route.route.timeout, { seconds: 0 });
      });

      it('a cookie session: the route overrides the stateful session filter, which the HCM then has', () => {
        const { routes, httpFilters } =
          of(`        - matches: [{ path: { type: PathPrefix, value: /cart/ } }]
          backendRefs: [{ name: api, port: 8080 }]
          sessionPersistence:
            sessionName: cart-session
            absoluteTimeout: 1h
            cookieConfig: { lifetimeType: Permanent }
`);
        assert.ok(httpFilters.includes(SESSION_FILTER), httpFilters.join());
        assert.equal(httpFilters.at(-1), 'envoy.filters.http.router');
        const config = routes[0].typed_per_filter_config[SESSION_FILTER];
        assert.equal(config['@type'], 'type.googleapis.com/envoy.config.route.v3.FilterConfig');
        assert.equal(config.is_optional, true);
        assert.deepEqual(config.config.stateful_session.session_state, {
          name: 'envoy.http.stateful_session.cookie',
          typed_config: {
            '@type':
              'type.googleapis.com/envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState',
            cookie: { name: 'cart-session', path: '/cart', ttl: { seconds: 3600 } },
          },
        });
      });

      it('a header session, with the default name', () => {
        const { routes } = of(`        - backendRefs: [{ name: api, port: 8080 }]
          sessionPersistence: { type: Header }
`);
        const state =
          routes[0].typed_per_filter_config[SESSION_FILTER].config.stateful_session.session_state;
        assert.equal(state.name, 'envoy.http.stateful_session.header');
        assert.equal(state.typed_config.name, 'x-ferry-session');
      });

      it('without sessions, neither the filter nor a per-route config: nothing changes', () => {
        const { routes, httpFilters } = of(RETRYING);
        assert.ok(!httpFilters.includes(SESSION_FILTER));
        assert.equal(routes[0].typed_per_filter_config, undefined);
      });
    });
  }

  it('attempts 0 turns retries off, even those of the service’s own policy (GAMMA)', () => {
    const withPolicy = SERVICES.replace(
      '    endpoints: [{ address: 10.0.0.1, port: 18080 }]\n',
      '    endpoints: [{ address: 10.0.0.1, port: 18080 }]\n    policy: { retries: { attempts: 3 } }\n',
    );
    const off = onService(
      `        - backendRefs: [{ name: api, port: 8080 }]\n          retry: { attempts: 0 }\n`,
      withPolicy,
    );
    assert.equal(off.routes[0].route.retry_policy, undefined);
    // Without a retry stanza the service's policy applies, as on any mesh route.
    const inherited = onService(`        - backendRefs: [{ name: api, port: 8080 }]\n`, withPolicy);
    assert.equal(inherited.routes[0].route.retry_policy.num_retries.value, 3);
  });

  it('says which sessionPersistence fields are not applied (idleTimeout; a Session cookie’s absoluteTimeout)', () => {
    // Said once, where the control plane says the Gateway API's problems (translateMesh).
    const t = translateMesh(
      meshOf(
        gateway(HTTP_LISTENER) +
          httpRoute(
            'web',
            `      parentRefs: [{ name: gw }]
      rules:
        - backendRefs: [{ name: api, port: 8080 }]
          sessionPersistence: { idleTimeout: 5m, absoluteTimeout: 1h }
        - backendRefs: [{ name: api, port: 8080 }]
          sessionPersistence: { absoluteTimeout: 1h, cookieConfig: { lifetimeType: Permanent } }
`,
          ),
      ),
    );
    assert.deepEqual(
      t.warnings.filter((w) => w.includes('sessionPersistence')),
      [
        'HTTPRoute default/web rule 0: sessionPersistence idleTimeout is not applied',
        'HTTPRoute default/web rule 0: sessionPersistence absoluteTimeout of a Session cookie is not applied',
      ],
    );
  });

  it('retries without request: each try bounded by backendRequest, the route timeout off', () => {
    const [route] = onGateway(`        - backendRefs: [{ name: api, port: 8080 }]
          timeouts: { backendRequest: 1s }
          retry: { codes: [503] }
`).routes;
    assert.deepEqual(route.route.timeout, { seconds: 0 });
    assert.deepEqual(route.route.retry_policy.per_try_timeout, { seconds: 1 });
    assert.deepEqual(route.route.retry_policy.num_retries, { value: 1 });
  });
});
