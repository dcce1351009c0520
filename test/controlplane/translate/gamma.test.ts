/**
 * GAMMA: an HTTPRoute whose parentRef is a Service gives the sidecars the same outbound
 * routes as the equivalent route in the mesh file, its filters exactly what the same rule
 * gives on a gateway, and consumer routes to the clients of their own namespace only. After
 * the mesh conformance scenarios (MeshHTTPRouteRedirect*, MeshHTTPRouteRewritePath,
 * MeshHTTPRouteRequestHeaderModifier, MeshConsumerRoute, MeshHTTPRouteSimpleSameNamespace).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import {
  INVALID_BACKEND_CLUSTER,
  translateGateway,
  translateMesh,
} from '../../../src/controlplane/translate/index.js';
import type { MeshConfig } from '../../../src/mesh/index.js';
import { gateway, httpRoute, meshOf, SERVICES } from '../../gatewayapi/support.js';
import { configOf } from '../../mesh/mesh-fixtures.js';
import { protoProblems } from './proto-check.js';
import { get, type Loose } from './resource-helpers.js';

const API_HOST = 'api.default.svc.cluster.local:8080';
const API = 'outbound|8080||api.default.svc.cluster.local';
const API_V2 = 'outbound|8080||api-v2.default.svc.cluster.local';

const GAMMA_SPLIT = httpRoute(
  'split',
  `      parentRefs: [{ group: "", kind: Service, name: api, port: 8080 }]
      rules:
        - backendRefs:
            - { name: api, port: 8080, weight: 80 }
            - { name: api-v2, port: 8080, weight: 20 }
`,
);

/** The same split as a mesh file route of `api`. */
const FILE_SPLIT = SERVICES.replace(
  '    endpoints: [{ address: 10.0.0.1, port: 18080 }]\n',
  `    endpoints: [{ address: 10.0.0.1, port: 18080 }]
    routes:
      - name: split
        match: [{ path: { prefix: / } }]
        backends: [{ service: api, weight: 80 }, { service: api-v2, weight: 20 }]
`,
);

function outboundRoutes(config: MeshConfig): unknown {
  return get(translateMesh(config).resources.routes, 'outbound.default');
}

/** The routes of `api:8080` in the outbound route configuration of `namespace`. */
function apiRoutes(config: MeshConfig, namespace = 'default', namespaces: string[] = []): Loose[] {
  const t = translateMesh(config, namespaces);
  const rc = get(t.resources.routes, `outbound.${namespace}`);
  assert.deepEqual(protoProblems('envoy.config.route.v3.RouteConfiguration', rc), []);
  const vh = rc.virtual_hosts.find((v: { name: string }) => v.name === API_HOST);
  assert.ok(vh, `no virtual host ${API_HOST} in outbound.${namespace}`);
  return vh.routes;
}

const ON_API = '      parentRefs: [{ group: "", kind: Service, name: api, port: 8080 }]\n';

/** Rules with every filter that was once dropped on a Service parent. */
const FILTER_RULES = `      rules:
        - matches: [{ path: { type: PathPrefix, value: /old } }]
          filters:
            - type: RequestRedirect
              requestRedirect: { hostname: example.org, path: { type: ReplacePrefixMatch, replacePrefixMatch: /new }, statusCode: 301 }
        - matches: [{ path: { type: Exact, value: /moved } }]
          filters: [{ type: RequestRedirect, requestRedirect: { scheme: https } }]
        - matches: [{ path: { type: PathPrefix, value: /full } }]
          filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplaceFullPath, replaceFullPath: /one } } }]
          backendRefs: [{ name: api-v2, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /strip-prefix } }]
          filters: [{ type: URLRewrite, urlRewrite: { hostname: inner.example, path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
          backendRefs: [{ name: api-v2, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /headers } }]
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier: { set: [{ name: x-set, value: s }], add: [{ name: x-add, value: a }], remove: [x-remove] }
            - type: ResponseHeaderModifier
              responseHeaderModifier: { set: [{ name: x-answer, value: "42" }], remove: [server] }
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /partial } }]
          backendRefs: [{ name: api-v2, port: 8080, weight: 2 }, { name: nothing, port: 8080, weight: 1 }]
        - matches: [{ path: { type: PathPrefix, value: /none } }]
          backendRefs: [{ name: nothing, port: 8080 }]
`;

/** A route without its name: what it matches and does. */
function unnamed(route: Loose): Loose {
  const { name: _, ...rest } = route;
  return rest;
}

describe('translate: GAMMA routes', () => {
  it('an 80/20 HTTPRoute on a Service gives the same RDS as the mesh file route', () => {
    const gamma = outboundRoutes(meshOf(GAMMA_SPLIT));
    const file = outboundRoutes(configOf(FILE_SPLIT));
    assert.deepEqual(gamma, file);
    // And it is a split, not the plain service route.
    assert.match(JSON.stringify(gamma), /"weighted_clusters".*"weight":\{"value":80\}/);
  });

  it("matches in precedence order ahead of the service's own routes, PathPrefix by whole segments", () => {
    const route = httpRoute(
      'r',
      `${ON_API}      rules:
        - matches: [{ path: { type: PathPrefix, value: /a } }]
          backendRefs: [{ name: api-v2, port: 8080 }]
        - matches: [{ path: { type: Exact, value: /a/b } }]
          backendRefs: [{ name: mirror, port: 8080 }]
`,
    );
    assert.deepEqual(
      apiRoutes(meshOf(route)).map((r) => [r.name, r.match]),
      [
        ['r-1-0', { path: '/a/b' }],
        ['r-0-0', { path_separated_prefix: '/a' }],
        ['default', { prefix: '/' }],
      ],
    );
  });

  it('header modifiers, redirects and path rewrites: exactly the routes the same rules give on a gateway', () => {
    const gamma = apiRoutes(meshOf(httpRoute('r', ON_API + FILTER_RULES)));
    // The gateway listener on the service's port: a redirect keeps the port asked for.
    const onGateway = meshOf(
      gateway('        - { name: http, port: 8080, protocol: HTTP }\n') +
        httpRoute('r', `      parentRefs: [{ name: gw }]\n${FILTER_RULES}`),
    );
    const rc = get(translateGateway(onGateway, 'default/gw').resources.routes, 'gateway~8080');
    const viaGateway: Loose[] = rc.virtual_hosts[0].routes;
    assert.equal(gamma.length, viaGateway.length + 1, 'the rules, then the catch-all');
    assert.deepEqual(gamma.slice(0, -1).map(unnamed), viaGateway.map(unnamed));
    // And what that is, as the spec (and the mesh conformance scenarios) ask.
    const byPath = new Map(gamma.map((r) => [JSON.stringify(r.match), r]));
    const at = (match: object) => byPath.get(JSON.stringify(match));
    assert.deepEqual(at({ path: '/moved' }).redirect, {
      scheme_redirect: 'https',
      port_redirect: 443,
      response_code: 'FOUND',
    });
    assert.deepEqual(at({ path_separated_prefix: '/old' }).redirect, {
      host_redirect: 'example.org',
      port_redirect: 8080,
      prefix_rewrite: '/new',
      response_code: 'MOVED_PERMANENTLY',
    });
    assert.equal(at({ path_separated_prefix: '/old' }).route, undefined);
    assert.deepEqual(at({ path_separated_prefix: '/full' }).route, {
      cluster: API_V2,
      regex_rewrite: { pattern: { regex: '^/.*$' }, substitution: '/one' },
    });
    // `/strip-prefix/three` → `/three` and `/strip-prefix` → `/`, not `//three`.
    assert.deepEqual(at({ path_separated_prefix: '/strip-prefix' }).route, {
      cluster: API_V2,
      regex_rewrite: { pattern: { regex: '^/strip-prefix/*' }, substitution: '/' },
      host_rewrite_literal: 'inner.example',
    });
    const headers = at({ path_separated_prefix: '/headers' });
    assert.deepEqual(headers.request_headers_to_add, [
      { header: { key: 'x-set', value: 's' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'x-add', value: 'a' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    assert.deepEqual(headers.request_headers_to_remove, ['x-remove']);
    assert.deepEqual(headers.response_headers_to_add, [
      { header: { key: 'x-answer', value: '42' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
    assert.deepEqual(headers.response_headers_to_remove, ['server']);
    assert.deepEqual(headers.route, { cluster: API });
    // The share of an invalid backend is answered 500; a rule with no valid one, all of it.
    assert.deepEqual(at({ path_separated_prefix: '/partial' }).route, {
      weighted_clusters: {
        clusters: [
          { name: API_V2, weight: { value: 2 } },
          { name: INVALID_BACKEND_CLUSTER, weight: { value: 1 } },
        ],
      },
      cluster_not_found_response_code: 'INTERNAL_SERVER_ERROR',
    });
    assert.deepEqual(at({ path_separated_prefix: '/none' }).direct_response, { status: 500 });
  });

  it("a service policy's header-conditioned fault splits a GAMMA route as it splits a mesh route", () => {
    const withFault = (text: string) =>
      text.replace(
        '    endpoints: [{ address: 10.0.0.1, port: 18080 }]\n',
        `    endpoints: [{ address: 10.0.0.1, port: 18080 }]
    policy:
      fault: { abort: { httpStatus: 503, percentage: 100 }, headers: { x-chaos: { exact: "on" } } }
`,
      );
    const route = httpRoute(
      'r',
      `${ON_API}      rules:
        - matches: [{ path: { type: PathPrefix, value: /a }, method: GET }]
          backendRefs: [{ name: api-v2, port: 8080 }]
`,
    );
    const config = configOf(withFault(`${SERVICES}gatewayApi:\n${route}`));
    const [faulted, plain] = apiRoutes(config);
    assert.deepEqual(faulted.match, {
      path_separated_prefix: '/a',
      headers: [
        { name: ':method', string_match: { exact: 'GET' } },
        { name: 'x-chaos', string_match: { exact: 'on' } },
      ],
    });
    assert.ok(faulted.typed_per_filter_config, 'the fault is on the first');
    assert.deepEqual(plain.match, {
      path_separated_prefix: '/a',
      headers: [{ name: ':method', string_match: { exact: 'GET' } }],
    });
    assert.equal(plain.typed_per_filter_config, undefined);
  });

  it('a backend in another namespace needs no ReferenceGrant on a Service parent (GEP-1294), but does on a Gateway', () => {
    const route = httpRoute(
      'r',
      `      parentRefs: [{ group: "", kind: Service, name: api }, { name: gw }]
      rules:
        - backendRefs: [{ name: api-v2, port: 8080 }, { name: billing, namespace: other, port: 9090 }]
`,
    );
    const config = meshOf(gateway('        - { name: http, port: 80, protocol: HTTP }\n') + route);
    const [first] = apiRoutes(config);
    assert.deepEqual(first.route.weighted_clusters.clusters, [
      { name: API_V2, weight: { value: 1 } },
      { name: 'outbound|9090||billing.other.svc.cluster.local', weight: { value: 1 } },
    ]);
    const t = translateMesh(config);
    const warnings = t.warnings.join('\n');
    assert.match(warnings, /parent Gateway default\/gw: ResolvedRefs False \(RefNotPermitted\)/);
    assert.doesNotMatch(warnings, /parent Service default\/api: ResolvedRefs/);
  });

  describe('consumer routes', () => {
    /** A producer route sending api to itself, and a consumer route of `client` splitting it. */
    const PRODUCER = httpRoute(
      'producer',
      `${ON_API}      rules:
        - filters: [{ type: ResponseHeaderModifier, responseHeaderModifier: { set: [{ name: x-route, value: producer }] } }]
          backendRefs: [{ name: api, port: 8080 }]
`,
    );
    const CONSUMER = httpRoute(
      'consumer',
      `      parentRefs: [{ group: "", kind: Service, name: api, namespace: default, port: 8080 }]
      rules:
        - backendRefs: [{ name: api, namespace: default, port: 8080, weight: 50 }, { name: api-v2, namespace: default, port: 8080, weight: 50 }]
`,
      'client',
    );

    it("the clients of the route's namespace get it instead of the producer route; others get the producer route", () => {
      const config = meshOf(PRODUCER + CONSUMER);
      const [consumer, consumerDefault] = apiRoutes(config, 'client', ['client', 'elsewhere']);
      assert.equal(consumer.name, 'consumer');
      assert.deepEqual(consumer.route.weighted_clusters.clusters, [
        { name: API, weight: { value: 50 } },
        { name: API_V2, weight: { value: 50 } },
      ]);
      assert.equal(consumer.response_headers_to_add, undefined, 'no producer filter');
      assert.equal(consumerDefault.name, 'default');
      for (const ns of ['default', 'elsewhere']) {
        const [producer] = apiRoutes(config, ns, ['client', 'elsewhere']);
        assert.equal(producer.name, 'producer', ns);
        assert.deepEqual(producer.route, { cluster: API }, ns);
        assert.equal(producer.response_headers_to_add[0].header.value, 'producer');
      }
    });

    it('the mesh file routes of the service stay, after the consumer routes', () => {
      const text = `${FILE_SPLIT}gatewayApi:\n${CONSUMER}`;
      const routes = apiRoutes(configOf(text), 'client', ['client']);
      assert.deepEqual(
        routes.map((r) => r.name),
        ['consumer', 'split', 'default'],
      );
      assert.deepEqual(
        apiRoutes(configOf(text), 'default', ['client']).map((r) => r.name),
        ['split', 'default'],
      );
    });

    it('route tables are built once per namespace, not per client: namespaces without consumer routes share one', () => {
      const config = meshOf(PRODUCER + CONSUMER);
      const t = translateMesh(config, ['client', 'a', 'b']);
      const routesIn = (ns: string) =>
        get(t.resources.routes, `outbound.${ns}`).virtual_hosts.find(
          (v: { name: string }) => v.name === API_HOST,
        ).routes;
      assert.equal(routesIn('a'), routesIn('b'), 'the same array, built once');
      assert.equal(routesIn('a'), routesIn('default'));
      assert.notEqual(routesIn('client'), routesIn('a'));
    });

    it('while its namespace has no sidecars nothing is built for it, and nothing is said to be wrong', () => {
      const config = meshOf(CONSUMER);
      const t = translateMesh(config);
      // No client of `client` is connected: nothing is built for it, and nothing is wrong.
      assert.ok(!t.resources.routes.some((r) => r.name === 'outbound.client'));
      assert.doesNotMatch(t.warnings.join('\n'), /consumer/);
      // Proxyless gRPC clients do not say their namespace: they get the producer routes.
      const api = get(t.resources.routes, API_HOST);
      assert.deepEqual(
        api.virtual_hosts[0].routes.map((r: Loose) => r.name),
        ['default'],
      );
    });
  });

  describe('parentRef port (GEP-1294 "Ports")', () => {
    const WEB = `services:
  - name: web
    ports: [{ port: 8080, protocol: http }, { port: 8081, protocol: http }]
    endpoints: [{ address: 10.0.0.9, port: 18080 }]
  - name: web-v2
    ports: [{ port: 8080, protocol: http }, { port: 8081, protocol: http }]
    endpoints: [{ address: 10.0.0.10, port: 18080 }]
gatewayApi:
`;
    const route = (name: string, parents: string, namespace = 'default') =>
      httpRoute(
        name,
        `      parentRefs: [${parents}]
      rules: [{ backendRefs: [{ name: web-v2, namespace: default, port: 8080 }] }]
`,
        namespace,
      );
    /** The route names on each port of web, for clients of `namespace`. */
    function webRoutes(resources: string, namespace = 'default'): Record<number, string[]> {
      const t = translateMesh(configOf(WEB + resources), [namespace]);
      const rc = get(t.resources.routes, `outbound.${namespace}`);
      const out: Record<number, string[]> = {};
      for (const port of [8080, 8081]) {
        const vh = rc.virtual_hosts.find(
          (v: { name: string }) => v.name === `web.default.svc.cluster.local:${port}`,
        );
        out[port] = vh.routes.map((r: Loose) => r.name);
      }
      return out;
    }
    const WEB_8080 = '{ group: "", kind: Service, name: web, namespace: default, port: 8080 }';
    const WEB_8081 = '{ group: "", kind: Service, name: web, namespace: default, port: 8081 }';
    const WEB_ALL = '{ group: "", kind: Service, name: web, namespace: default }';

    it("a route naming a port is that port's only; naming none, every port's", () => {
      assert.deepEqual(webRoutes(route('one', WEB_8080)), {
        8080: ['one', 'default'],
        8081: ['default'],
      });
      assert.deepEqual(webRoutes(route('all', WEB_ALL)), {
        8080: ['all', 'default'],
        8081: ['all', 'default'],
      });
    });

    it('a route with parentRefs to two ports of one Service is there once on each', () => {
      assert.deepEqual(webRoutes(route('both', `${WEB_8080}, ${WEB_8081}`)), {
        8080: ['both', 'default'],
        8081: ['both', 'default'],
      });
    });

    it('a consumer route on one port: the producer routes still apply on the other', () => {
      const resources = route('producer', WEB_ALL) + route('consumer', WEB_8080, 'client');
      assert.deepEqual(webRoutes(resources, 'client'), {
        8080: ['consumer', 'default'],
        8081: ['producer', 'default'],
      });
      assert.deepEqual(webRoutes(resources, 'default'), {
        8080: ['producer', 'default'],
        8081: ['producer', 'default'],
      });
    });
  });

  it('proxyless gRPC clients get a GAMMA PathPrefix as a regex of the same paths, no redirect and no 500', () => {
    const route = httpRoute(
      'r',
      `${ON_API}      rules:
        - matches: [{ path: { type: PathPrefix, value: /pkg.Svc } }]
          backendRefs: [{ name: api-v2, port: 8080 }]
        - matches: [{ path: { type: Exact, value: /gone } }]
          filters: [{ type: RequestRedirect, requestRedirect: { hostname: example.org } }]
        - matches: [{ path: { type: Exact, value: /partial } }]
          backendRefs: [{ name: api-v2, port: 8080, weight: 2 }, { name: nothing, port: 8080, weight: 1 }]
        - matches: [{ path: { type: Exact, value: /none } }]
          backendRefs: [{ name: nothing, port: 8080 }]
`,
    );
    const t = translateMesh(meshOf(route));
    const api = get(t.resources.routes, API_HOST);
    assert.deepEqual(protoProblems('envoy.config.route.v3.RouteConfiguration', api), []);
    assert.deepEqual(
      api.virtual_hosts[0].routes.map((r: Loose) => [r.name, r.match, r.route]),
      [
        ['r-2-0', { path: '/partial' }, { cluster: API_V2 }],
        ['r-0-0', { safe_regex: { regex: '/pkg\\.Svc(/.*)?' } }, { cluster: API_V2 }],
        ['default', { prefix: '/' }, { cluster: API }],
      ],
    );
    const warnings = t.warnings.join('\n');
    assert.match(
      warnings,
      /api\.default\.svc\.cluster\.local:8080: route r-1-0 redirects, which gRPC clients cannot do; left out for them/,
    );
    assert.match(warnings, /route r-3-0 answers 500, which gRPC clients cannot do/);
    // Sidecars keep them all.
    assert.deepEqual(
      apiRoutes(meshOf(route)).map((r) => r.name),
      ['r-2-0', 'r-1-0', 'r-3-0', 'r-0-0', 'default'],
    );
  });
});
