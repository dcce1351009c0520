/**
 * Translation of Gateway API resources for a gateway node, checked against the Envoy protos
 * field for field, with behaviour after the conformance scenarios (HTTPRouteExactPathMatching,
 * HTTPRouteMatchingAcrossRoutes, HTTPRouteMethodMatching, HTTPRouteQueryParamMatching,
 * HTTPRouteRequestHeaderModifier, HTTPRouteRedirect*, HTTPRouteRewrite*, HTTPRouteRequestMirror,
 * HTTPRouteWeight, HTTPRouteListenerHostnameMatching).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import {
  INVALID_BACKEND_CLUSTER,
  translateGateway,
} from '../../../src/controlplane/translate/index.js';
import type { MeshConfig } from '../../../src/mesh/index.js';
import { gateway, HTTP_LISTENER, httpRoute, meshOf } from '../../gatewayapi/support.js';
import { protoProblems } from './proto-check.js';
import { get, type Loose } from './resource-helpers.js';

const API = 'outbound|8080||api.default.svc.cluster.local';
const API_V2 = 'outbound|8080||api-v2.default.svc.cluster.local';
const MIRROR = 'outbound|8080||mirror.default.svc.cluster.local';

function translated(config: MeshConfig, name = 'default/gw') {
  const t = translateGateway(config, name);
  for (const l of t.resources.listeners) {
    assert.deepEqual(protoProblems('envoy.config.listener.v3.Listener', l.value), [], l.name);
  }
  for (const r of t.resources.routes) {
    assert.deepEqual(
      protoProblems('envoy.config.route.v3.RouteConfiguration', r.value),
      [],
      r.name,
    );
  }
  for (const s of t.resources.secrets) {
    assert.deepEqual(
      protoProblems('envoy.extensions.transport_sockets.tls.v3.Secret', s.value),
      [],
      s.name,
    );
  }
  return t;
}

function routesOf(resources: string, host = '*'): Loose[] {
  const t = translated(meshOf(gateway(HTTP_LISTENER) + resources));
  const rc = get(t.resources.routes, 'gateway~80');
  const vh = rc.virtual_hosts.find((v: Loose) => v.domains.includes(host));
  assert.ok(
    vh,
    `no virtual host for ${host}: ${JSON.stringify(rc.virtual_hosts.map((v: Loose) => v.domains))}`,
  );
  return vh.routes;
}

const PARENT = '      parentRefs: [{ name: gw }]\n';

describe('translate: gateway', () => {
  it('an HTTP listener: gateway~<port> on 0.0.0.0 with the HCM taking RDS gateway~<port> over ADS', () => {
    const t = translated(meshOf(gateway(HTTP_LISTENER)));
    const l = get(t.resources.listeners, 'gateway~80');
    assert.deepEqual(l.address, { socket_address: { address: '0.0.0.0', port_value: 80 } });
    const [chain] = l.filter_chains;
    assert.equal(chain.filters[0].name, 'envoy.filters.network.http_connection_manager');
    assert.equal(chain.filters[0].typed_config.rds.route_config_name, 'gateway~80');
    assert.deepEqual(chain.filters[0].typed_config.rds.config_source.ads, {});
    assert.equal(l.listener_filters, undefined);
  });

  it('a node naming a Gateway that does not exist gets no listeners, and a warning', () => {
    const t = translated(meshOf(gateway(HTTP_LISTENER)), 'default/nope');
    assert.deepEqual(t.resources.listeners, []);
    assert.match(t.warnings.join('\n'), /no such Gateway/);
  });

  it('orders matches: Exact, then longest prefix, then method, headers, query parameters', () => {
    const spec = `${PARENT}      rules:
        - matches: [{ path: { type: PathPrefix, value: / } }]
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /v1 }, queryParams: [{ name: q, value: "1" }] }]
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /v1 }, headers: [{ name: X-A, value: a }] }]
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /v1 }, method: POST }]
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: PathPrefix, value: /v1/users/ } }]
          backendRefs: [{ name: api, port: 8080 }]
        - matches: [{ path: { type: Exact, value: /v1 } }]
          backendRefs: [{ name: api-v2, port: 8080 }]
`;
    const routes = routesOf(httpRoute('r', spec));
    assert.deepEqual(
      routes.map((r: Loose) => r.match),
      [
        { path: '/v1' },
        { path_separated_prefix: '/v1/users' },
        {
          path_separated_prefix: '/v1',
          headers: [{ name: ':method', string_match: { exact: 'POST' } }],
        },
        { path_separated_prefix: '/v1', headers: [{ name: 'x-a', string_match: { exact: 'a' } }] },
        {
          path_separated_prefix: '/v1',
          query_parameters: [{ name: 'q', string_match: { exact: '1' } }],
        },
        { prefix: '/' },
      ],
    );
    assert.equal(routes[0].route.cluster, API_V2);
  });

  it('breaks ties across routes by age, then namespace/name', () => {
    const rule = `${PARENT}      rules: [{ matches: [{ path: { type: PathPrefix, value: /x } }], backendRefs: [{ name: NAME, port: 8080 }] }]\n`;
    const routes = routesOf(
      httpRoute('b-new', rule.replace('NAME', 'api'), 'default', '2024-02-01T00:00:00Z') +
        httpRoute('c-old', rule.replace('NAME', 'api-v2'), 'default', '2024-01-01T00:00:00Z') +
        httpRoute('a-undated', rule.replace('NAME', 'mirror')),
    );
    assert.deepEqual(
      routes.map((r: Loose) => r.name),
      [
        'default/c-old/rule/0/match/0',
        'default/b-new/rule/0/match/0',
        'default/a-undated/rule/0/match/0',
      ],
    );
  });

  it('a virtual host per intersected hostname, with and without the port', () => {
    const listeners = `        - { name: a, port: 80, protocol: HTTP, hostname: "*.example.com" }
        - { name: b, port: 80, protocol: HTTP, hostname: very.example.com }
`;
    const spec = (section: string) =>
      `      parentRefs: [{ name: gw, sectionName: ${section} }]\n      rules: [{ backendRefs: [{ name: api, port: 8080 }] }]\n`;
    const t = translated(
      meshOf(gateway(listeners) + httpRoute('wild', spec('a')) + httpRoute('very', spec('b'))),
    );
    const rc = get(t.resources.routes, 'gateway~80');
    assert.deepEqual(
      rc.virtual_hosts.map((v: Loose) => [v.domains, v.routes.map((r: Loose) => r.name)]),
      [
        [['*.example.com', '*.example.com:80'], ['default/wild/rule/0/match/0']],
        [['very.example.com', 'very.example.com:80'], ['default/very/rule/0/match/0']],
      ],
    );
  });

  it('header modifiers become request/response headers_to_add (set overwrites, add appends) and _remove', () => {
    const spec = `${PARENT}      rules:
        - backendRefs: [{ name: api, port: 8080 }]
          filters:
            - type: RequestHeaderModifier
              requestHeaderModifier:
                set: [{ name: X-Set, value: one }]
                add: [{ name: X-Add, value: two }]
                remove: [X-Gone]
            - type: ResponseHeaderModifier
              responseHeaderModifier: { set: [{ name: X-Resp, value: three }] }
`;
    const [route] = routesOf(httpRoute('r', spec));
    assert.deepEqual(route.request_headers_to_add, [
      { header: { key: 'X-Set', value: 'one' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
      { header: { key: 'X-Add', value: 'two' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ]);
    assert.deepEqual(route.request_headers_to_remove, ['X-Gone']);
    assert.deepEqual(route.response_headers_to_add, [
      { header: { key: 'X-Resp', value: 'three' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    ]);
  });

  it('redirects: scheme (well-known port), hostname, port, full path, prefix; 301 and 302', () => {
    const rule = (redirect: string, match = '') =>
      `${PARENT}      rules:\n        - ${match}filters: [{ type: RequestRedirect, requestRedirect: ${redirect} }]\n`;
    const one = (redirect: string, match?: string) =>
      routesOf(httpRoute('r', rule(redirect, match)))[0].redirect;
    assert.deepEqual(one('{ scheme: https, statusCode: 301 }'), {
      scheme_redirect: 'https',
      port_redirect: 443,
      response_code: 'MOVED_PERMANENTLY',
    });
    assert.deepEqual(one('{ hostname: example.org }'), {
      host_redirect: 'example.org',
      port_redirect: 80,
      response_code: 'FOUND',
    });
    assert.deepEqual(one('{ port: 8083 }').port_redirect, 8083);
    assert.equal(
      one('{ path: { type: ReplaceFullPath, replaceFullPath: /new } }').path_redirect,
      '/new',
    );
    assert.equal(
      one(
        '{ path: { type: ReplacePrefixMatch, replacePrefixMatch: /new } }',
        'matches: [{ path: { type: PathPrefix, value: /old } }]\n          ',
      ).prefix_rewrite,
      '/new',
    );
  });

  it('URL rewrites: ReplacePrefixMatch (a / replacement leaves one slash), ReplaceFullPath, hostname', () => {
    const rule = (rewrite: string, prefix = '/prefix/one') =>
      `${PARENT}      rules:
        - matches: [{ path: { type: PathPrefix, value: ${prefix} } }]
          backendRefs: [{ name: api, port: 8080 }]
          filters: [{ type: URLRewrite, urlRewrite: ${rewrite} }]
`;
    const action = (rewrite: string, prefix?: string) =>
      routesOf(httpRoute('r', rule(rewrite, prefix)))[0].route;
    assert.equal(
      action('{ path: { type: ReplacePrefixMatch, replacePrefixMatch: /one } }').prefix_rewrite,
      '/one',
    );
    assert.deepEqual(
      action('{ path: { type: ReplacePrefixMatch, replacePrefixMatch: / } }').regex_rewrite,
      {
        pattern: { regex: '^/prefix/one/*' },
        substitution: '/',
      },
    );
    assert.deepEqual(
      action('{ path: { type: ReplaceFullPath, replaceFullPath: /one } }').regex_rewrite,
      {
        pattern: { regex: '^/.*$' },
        substitution: '/one',
      },
    );
    assert.equal(action('{ hostname: mydomain.com }').host_rewrite_literal, 'mydomain.com');
  });

  it('a mirror becomes request_mirror_policies, with its share as a runtime fraction', () => {
    const spec = `${PARENT}      rules:
        - backendRefs: [{ name: api, port: 8080 }]
          filters:
            - { type: RequestMirror, requestMirror: { backendRef: { name: mirror, port: 8080 } } }
            - { type: RequestMirror, requestMirror: { backendRef: { name: api-v2, port: 8080 }, percent: 25 } }
`;
    const [route] = routesOf(httpRoute('r', spec));
    assert.deepEqual(route.route.request_mirror_policies, [
      { cluster: MIRROR },
      {
        cluster: API_V2,
        runtime_fraction: { default_value: { numerator: 250_000, denominator: 'MILLION' } },
      },
    ]);
  });

  it('weighted backends: a weight-0 backend gets nothing; all zero, or none valid, answers 500', () => {
    const spec = (refs: string) => `${PARENT}      rules: [{ backendRefs: [${refs}] }]\n`;
    const split = routesOf(
      httpRoute(
        'r',
        spec(
          '{ name: api, port: 8080, weight: 80 }, { name: api-v2, port: 8080, weight: 20 }, { name: mirror, port: 8080, weight: 0 }',
        ),
      ),
    );
    assert.deepEqual(split[0].route.weighted_clusters, {
      clusters: [
        { name: API, weight: { value: 80 } },
        { name: API_V2, weight: { value: 20 } },
      ],
    });
    const zero = routesOf(httpRoute('r', spec('{ name: api, port: 8080, weight: 0 }')));
    assert.deepEqual(zero[0].direct_response, { status: 500 });
    // Cross-namespace without a ReferenceGrant: the reference is refused, so 500.
    const refused = routesOf(
      httpRoute('r', spec('{ name: billing, namespace: other, port: 9090 }')),
    );
    assert.deepEqual(refused[0].direct_response, { status: 500 });
    assert.equal(refused[0].route, undefined);
  });

  it('weighted backends: invalid ones (not found, refused, other kind) keep their weight, answered 500', () => {
    const spec = (refs: string) => `${PARENT}      rules: [{ backendRefs: [${refs}] }]\n`;
    const split = routesOf(
      httpRoute(
        'r',
        spec(
          '{ name: api, port: 8080, weight: 50 }, { name: gone, port: 8080, weight: 30 }, { name: billing, namespace: other, port: 9090, weight: 15 }, { group: example.com, kind: Bucket, name: b, weight: 5 }',
        ),
      ),
    );
    assert.deepEqual(split[0].route.weighted_clusters, {
      clusters: [
        { name: API, weight: { value: 50 } },
        { name: INVALID_BACKEND_CLUSTER, weight: { value: 50 } },
      ],
    });
    assert.equal(split[0].route.cluster_not_found_response_code, 'INTERNAL_SERVER_ERROR');
    // Only valid backends: nothing about missing clusters.
    const valid = routesOf(httpRoute('r', spec('{ name: api, port: 8080, weight: 1 }')));
    assert.equal(valid[0].route.cluster_not_found_response_code, undefined);
  });

  it('HTTPS: a chain per certificate chosen by SNI, certificates over SDS, the secrets served', () => {
    const listeners = `        - name: a
          port: 443
          protocol: HTTPS
          hostname: a.example.com
          tls: { certificateRefs: [{ name: cert-a }] }
        - name: b
          port: 443
          protocol: HTTPS
          hostname: b.example.com
          tls: { certificateRefs: [{ name: cert-b }] }
`;
    const config = meshOf(gateway(listeners));
    const withSecrets: MeshConfig = {
      ...config,
      tlsSecrets: [
        { name: 'cert-a', namespace: 'default', certificateChain: 'CHAIN-A', privateKey: 'KEY-A' },
        { name: 'cert-b', namespace: 'default', certificateChain: 'CHAIN-B', privateKey: 'KEY-B' },
      ],
    };
    const t = translated(withSecrets);
    const l = get(t.resources.listeners, 'gateway~443');
    assert.equal(l.listener_filters[0].name, 'envoy.filters.listener.tls_inspector');
    assert.deepEqual(
      l.filter_chains.map((c: Loose) => [
        c.filter_chain_match.server_names,
        c.transport_socket.typed_config.common_tls_context.tls_certificate_sds_secret_configs.map(
          (s: Loose) => s.name,
        ),
        c.filters[0].typed_config.rds.route_config_name,
      ]),
      [
        [['a.example.com'], ['default/cert-a'], 'gateway~443'],
        [['b.example.com'], ['default/cert-b'], 'gateway~443'],
      ],
    );
    const secret = get(t.resources.secrets, 'default/cert-a');
    assert.equal(
      Buffer.from(secret.tls_certificate.certificate_chain.inline_bytes, 'base64').toString(),
      'CHAIN-A',
    );
    assert.equal(
      Buffer.from(secret.tls_certificate.private_key.inline_bytes, 'base64').toString(),
      'KEY-A',
    );
    // Without the secrets loaded the listeners are not programmed: nothing is served.
    assert.deepEqual(translated(config).resources.listeners, []);
  });

  it('TLS passthrough routes by SNI to tcp_proxy; TCP takes one tcp_proxy chain', () => {
    const listeners = `        - { name: tls, port: 8443, protocol: TLS, tls: { mode: Passthrough } }
        - { name: tcp, port: 5432, protocol: TCP }
`;
    const routes = `  - apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TLSRoute
    metadata: { name: tls }
    spec:
      parentRefs: [{ name: gw, sectionName: tls }]
      hostnames: [abc.example.com]
      rules: [{ backendRefs: [{ name: api, port: 8080 }] }]
  - apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TCPRoute
    metadata: { name: tcp }
    spec:
      parentRefs: [{ name: gw, sectionName: tcp }]
      rules: [{ backendRefs: [{ name: db, port: 5432 }] }]
`;
    const t = translated(meshOf(gateway(listeners) + routes));
    const tls = get(t.resources.listeners, 'gateway~8443');
    assert.equal(tls.listener_filters[0].name, 'envoy.filters.listener.tls_inspector');
    assert.deepEqual(tls.filter_chains[0].filter_chain_match, {
      server_names: ['abc.example.com'],
    });
    assert.equal(tls.filter_chains[0].filters[0].typed_config.cluster, API);
    assert.equal(tls.filter_chains[0].transport_socket, undefined);
    const tcp = get(t.resources.listeners, 'gateway~5432');
    assert.equal(tcp.filter_chains.length, 1);
    assert.equal(
      tcp.filter_chains[0].filters[0].typed_config.cluster,
      'outbound|5432||db.default.svc.cluster.local',
    );
    assert.equal(t.resources.routes.length, 0);
  });

  it('TLS Terminate beside Passthrough on one port: the terminating chain has the listener’s certificate over SDS and no ALPN, then tcp_proxy', () => {
    const listeners = `        - name: term
          port: 8443
          protocol: TLS
          hostname: "*.term.example.com"
          tls: { mode: Terminate, certificateRefs: [{ name: cert-t }] }
        - { name: pass, port: 8443, protocol: TLS, tls: { mode: Passthrough } }
`;
    const route = (
      name: string,
      section: string,
      host: string,
      to: string,
    ) => `  - apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TLSRoute
    metadata: { name: ${name} }
    spec:
      parentRefs: [{ name: gw, sectionName: ${section} }]
      hostnames: ["${host}"]
      rules: [{ backendRefs: [{ name: ${to}, port: ${to === 'db' ? 5432 : 8080} }] }]
`;
    const config = meshOf(
      gateway(listeners) +
        route('t', 'term', 'db.term.example.com', 'db') +
        route('p', 'pass', 'abc.example.com', 'api'),
    );
    const t = translated({
      ...config,
      tlsSecrets: [
        { name: 'cert-t', namespace: 'default', certificateChain: 'CHAIN', privateKey: 'KEY' },
      ],
    });
    const l = get(t.resources.listeners, 'gateway~8443');
    assert.equal(l.listener_filters[0].name, 'envoy.filters.listener.tls_inspector');
    const chains = new Map<string, Loose>(
      l.filter_chains.map((c: Loose) => [c.filter_chain_match.server_names[0], c]),
    );
    const term = chains.get('db.term.example.com');
    assert.deepEqual(term.transport_socket.typed_config.common_tls_context, {
      tls_certificate_sds_secret_configs: [
        { name: 'default/cert-t', sds_config: { ads: {}, resource_api_version: 'V3' } },
      ],
    });
    assert.equal(term.filters[0].name, 'envoy.filters.network.tcp_proxy');
    assert.equal(
      term.filters[0].typed_config.cluster,
      'outbound|5432||db.default.svc.cluster.local',
    );
    const pass = chains.get('abc.example.com');
    assert.equal(pass.transport_socket, undefined);
    assert.equal(pass.filters[0].typed_config.cluster, API);
    assert.deepEqual(
      t.resources.secrets.map((s) => s.name),
      ['default/cert-t'],
    );
  });

  it('a TLSRoute name an HTTPS listener on the port serves already gets no second chain (the listener stays valid)', () => {
    const listeners = `        - name: https
          port: 443
          protocol: HTTPS
          hostname: a.example.com
          tls: { certificateRefs: [{ name: cert-a }] }
        - { name: pass, port: 443, protocol: TLS, tls: { mode: Passthrough } }
`;
    const route = `  - apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TLSRoute
    metadata: { name: t }
    spec:
      parentRefs: [{ name: gw, sectionName: pass }]
      hostnames: [a.example.com, b.example.com]
      rules: [{ backendRefs: [{ name: api, port: 8080 }] }]
`;
    const config = meshOf(gateway(listeners) + route);
    const t = translated({
      ...config,
      tlsSecrets: [
        { name: 'cert-a', namespace: 'default', certificateChain: 'C', privateKey: 'K' },
      ],
    });
    const l = get(t.resources.listeners, 'gateway~443');
    assert.deepEqual(
      l.filter_chains.map((c: Loose) => [
        c.filter_chain_match.server_names,
        c.filters[0].name.split('.').at(-1),
      ]),
      [
        [['a.example.com'], 'http_connection_manager'],
        [['b.example.com'], 'tcp_proxy'],
      ],
    );
    assert.match(
      t.warnings.join('\n'),
      /a\.example\.com on port 443 is already served by an HTTPS listener/,
    );
  });

  it('a GRPCRoute matches its method as the HTTP/2 path, with header matches', () => {
    const grpc = `  - apiVersion: gateway.networking.k8s.io/v1
    kind: GRPCRoute
    metadata: { name: g }
    spec:
      parentRefs: [{ name: gw }]
      rules:
        - matches:
            - method: { service: helloworld.Greeter, method: SayHello }
              headers: [{ name: x-tenant, value: a }]
            - method: { service: helloworld.Greeter }
          backendRefs: [{ name: api, port: 8080 }]
`;
    const routes = routesOf(grpc);
    assert.deepEqual(
      routes.map((r: Loose) => r.match),
      [
        {
          path: '/helloworld.Greeter/SayHello',
          headers: [{ name: 'x-tenant', string_match: { exact: 'a' } }],
        },
        { path_separated_prefix: '/helloworld.Greeter' },
      ],
    );
    assert.equal(routes[0].route.cluster, API);
  });
});
