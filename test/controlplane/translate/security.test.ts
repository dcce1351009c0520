import assert from 'node:assert/strict';
import { translateMesh, translateWorkload } from '../../../src/controlplane/translate/index.js';
import type { AuthorizationRule, MeshConfig, Service } from '../../../src/mesh/index.js';
import { endpoint, MESH_SETTINGS, mesh, policy, service, workload } from './mesh-fixture.js';
import { get, type Loose } from './resource-helpers.js';

const API_HOST = 'api.default.svc.cluster.local';
const CLUSTER = `outbound|8080||${API_HOST}`;

function api(extra: Partial<Service> = {}): Service {
  return service('api', 'default', [[8080, 'http']], {
    serviceAccounts: ['api', 'api-canary'],
    endpoints: [
      endpoint('10.0.0.1', { 8080: 15006 }, { meshed: true, serviceAccount: 'api' }),
      endpoint('10.0.0.2', { 8080: 15006 }, { meshed: true, serviceAccount: 'api-canary' }),
      endpoint('10.0.0.3', { 8080: 8080 }),
    ],
    ...extra,
  });
}

function rule(name: string, extra: Partial<AuthorizationRule> = {}): AuthorizationRule {
  return { name, action: 'ALLOW', from: [], to: [], ...extra };
}

function inbound(config: MeshConfig, name = 'api', extra = {}): Loose {
  const t = translateWorkload(config, workload({ service: name, appPort: 8000, ...extra }));
  return get(t.resources.listeners, 'virtualInbound');
}

function hcmFilters(chain: Loose): string[] {
  return chain.filters[0].typed_config.http_filters.map((f: Loose) =>
    `${f.name} ${f.typed_config.rules?.action ?? ''}`.trim(),
  );
}

describe('translate: mutual TLS to meshed endpoints', () => {
  it('marks meshed endpoints with tlsMode metadata, and only them', () => {
    const cla = get(translateMesh(mesh(api())).resources.endpoints, CLUSTER);
    const marks = cla.endpoints[0].lb_endpoints.map((e: Loose) => [
      e.endpoint.address.socket_address.address,
      e.metadata.filter_metadata['envoy.transport_socket_match']?.fields.tlsMode.stringValue,
    ]);
    assert.deepEqual(marks, [
      ['10.0.0.1', 'istio'],
      ['10.0.0.2', 'istio'],
      ['10.0.0.3', undefined],
    ]);
  });

  it('gives the cluster a TLS transport socket match with the SANs the service admits', () => {
    const cluster = get(translateMesh(mesh(api())).resources.clusters, CLUSTER);
    assert.equal(cluster.transport_socket, undefined, 'plaintext unless an endpoint matches');
    assert.equal(cluster.transport_socket_matches.length, 1);
    const [match] = cluster.transport_socket_matches;
    assert.deepEqual(match.match, { fields: { tlsMode: { stringValue: 'istio' } } });
    assert.equal(match.transport_socket.name, 'envoy.transport_sockets.tls');
    const tls = match.transport_socket.typed_config;
    assert.equal(
      tls['@type'],
      'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
    );
    assert.equal(tls.sni, `outbound_.8080_._.${API_HOST}`);
    const common = tls.common_tls_context;
    assert.equal(common.tls_params.tls_minimum_protocol_version, 'TLSv1_3');
    assert.deepEqual(common.tls_certificate_sds_secret_configs, [{ name: 'default' }]);
    assert.deepEqual(common.combined_validation_context.validation_context_sds_secret_config, {
      name: 'ROOTCA',
    });
    assert.deepEqual(
      common.combined_validation_context.default_validation_context.match_typed_subject_alt_names,
      [
        { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/api' } },
        { san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/api-canary' } },
      ],
    );
    assert.deepEqual(common.alpn_protocols, ['http/1.1']);
  });

  it('regression (issue 12): the SANs are the identities the service admits, not those of whatever registered', () => {
    // A meshed endpoint of `evil` got in (say, before the mesh file changed): clients must
    // still refuse its identity, so it is not among the SANs.
    const withIntruder = api({
      serviceAccounts: ['api'],
      endpoints: [
        endpoint('10.0.0.1', { 8080: 15006 }, { meshed: true, serviceAccount: 'api' }),
        endpoint('10.0.0.9', { 8080: 15006 }, { meshed: true, serviceAccount: 'evil' }),
      ],
    });
    const cluster = get(translateMesh(mesh(withIntruder)).resources.clusters, CLUSTER);
    const sans =
      cluster.transport_socket_matches[0].transport_socket.typed_config.common_tls_context
        .combined_validation_context.default_validation_context.match_typed_subject_alt_names;
    assert.deepEqual(
      sans.map((s: Loose) => s.matcher.exact),
      ['spiffe://cluster.local/ns/default/sa/api'],
    );
  });

  it('offers h2 to HTTP/2 and gRPC clusters, nothing to tcp, and uses the trust domain', () => {
    const config: MeshConfig = {
      mesh: { ...MESH_SETTINGS, trustDomain: 'example.org' },
      services: [
        service(
          'm',
          'prod',
          [
            [50051, 'grpc'],
            [5432, 'tcp'],
          ],
          { endpoints: [endpoint('10.0.0.1', { 50051: 1, 5432: 1 }, { meshed: true })] },
        ),
      ],
    };
    const clusters = translateMesh(config).resources.clusters;
    const tls = (name: string) =>
      get(clusters, name).transport_socket_matches[0].transport_socket.typed_config;
    const grpc = tls('outbound|50051||m.prod.svc.cluster.local');
    assert.deepEqual(grpc.common_tls_context.alpn_protocols, ['h2']);
    assert.equal(
      grpc.common_tls_context.combined_validation_context.default_validation_context
        .match_typed_subject_alt_names[0].matcher.exact,
      'spiffe://example.org/ns/prod/sa/m',
    );
    assert.equal(
      tls('outbound|5432||m.prod.svc.cluster.local').common_tls_context.alpn_protocols,
      undefined,
    );
  });

  it('talks plaintext to a service without meshed endpoints, or whose mode is DISABLE', () => {
    const plain = service('api', 'default', [[8080, 'http']], {
      endpoints: [endpoint('10.0.0.3', { 8080: 8080 })],
    });
    assert.equal(
      get(translateMesh(mesh(plain)).resources.clusters, CLUSTER).transport_socket_matches,
      undefined,
    );
    const disabled = api({ policy: policy({ mtls: 'DISABLE' }) });
    assert.equal(
      get(translateMesh(mesh(disabled)).resources.clusters, CLUSTER).transport_socket_matches,
      undefined,
    );
    const meshDisabled: MeshConfig = {
      mesh: { ...MESH_SETTINGS, mtls: 'DISABLE' },
      services: [api()],
    };
    assert.equal(
      get(translateMesh(meshDisabled).resources.clusters, CLUSTER).transport_socket_matches,
      undefined,
    );
  });
});

describe('translate: inbound mTLS modes', () => {
  it('PERMISSIVE: tls_inspector, a TLS chain matched on transport_protocol, a plaintext chain', () => {
    const listener = inbound(mesh(api()));
    assert.deepEqual(
      listener.listener_filters.map((f: Loose) => f.typed_config['@type'].split('.').at(-1)),
      ['TlsInspector'],
    );
    const [tls, plain] = listener.filter_chains;
    assert.deepEqual(tls.filter_chain_match, { transport_protocol: 'tls' });
    const ctx = tls.transport_socket.typed_config;
    assert.equal(
      ctx['@type'],
      'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
    );
    assert.deepEqual(ctx.require_client_certificate, { value: false });
    assert.deepEqual(ctx.common_tls_context.tls_certificate_sds_secret_configs, [
      { name: 'default' },
    ]);
    assert.deepEqual(ctx.common_tls_context.validation_context_sds_secret_config, {
      name: 'ROOTCA',
    });
    assert.deepEqual(ctx.common_tls_context.alpn_protocols, ['h2', 'http/1.1']);
    assert.equal(plain.filter_chain_match, undefined);
    assert.equal(plain.transport_socket, undefined);
    assert.deepEqual(plain.filters, tls.filters);
  });

  it('STRICT: one TLS chain that requires a client certificate', () => {
    const listener = inbound(mesh(api({ policy: policy({ mtls: 'STRICT' }) })));
    assert.equal(listener.listener_filters, undefined);
    assert.equal(listener.filter_chains.length, 1);
    const [chain] = listener.filter_chains;
    assert.deepEqual(chain.transport_socket.typed_config.require_client_certificate, {
      value: true,
    });
    // The sidecar finds its inbound route configuration on the chain without a match.
    assert.equal(chain.filter_chain_match, undefined);
    assert.equal(chain.filters[0].typed_config.rds.route_config_name, 'inbound|8000||');
  });

  it('DISABLE: one plaintext chain', () => {
    const listener = inbound(mesh(api({ policy: policy({ mtls: 'DISABLE' }) })));
    assert.equal(listener.listener_filters, undefined);
    assert.equal(listener.filter_chains.length, 1);
    assert.equal(listener.filter_chains[0].transport_socket, undefined);
  });

  it('takes the mesh mode when the service sets none, its own when it does', () => {
    const strictMesh = { ...MESH_SETTINGS, mtls: 'STRICT' as const };
    const own = inbound({ mesh: strictMesh, services: [api()] });
    assert.equal(own.filter_chains.length, 1);
    assert.ok(own.filter_chains[0].transport_socket);
    const overridden = inbound({
      mesh: strictMesh,
      services: [api({ policy: policy({ mtls: 'PERMISSIVE' }) })],
    });
    assert.equal(overridden.filter_chains.length, 2);
    // A service the mesh file does not declare gets the mesh's mode.
    const ghost = inbound({ mesh: strictMesh, services: [] }, 'ghost');
    assert.equal(ghost.filter_chains.length, 1);
    assert.ok(ghost.filter_chains[0].transport_socket);
  });
});

describe('translate: authorization as RBAC filters', () => {
  const rules: AuthorizationRule[] = [
    rule('admins-only', {
      action: 'DENY',
      to: [{ methods: [], paths: [{ prefix: '/admin/' }], ports: [] }],
    }),
    rule('web', {
      from: [
        {
          principals: [
            { exact: 'spiffe://cluster.local/ns/default/sa/web' },
            { prefix: 'spiffe://cluster.local/ns/default/sa/web-' },
          ],
          namespaces: ['tools'],
        },
      ],
      to: [{ methods: ['GET', 'HEAD'], paths: [{ exact: '/items' }], ports: [8080] }],
    }),
  ];

  it('puts no RBAC filter in front of a service without rules', () => {
    const [tls, plain] = inbound(mesh(api())).filter_chains;
    assert.deepEqual(hcmFilters(tls), ['envoy.filters.http.router']);
    assert.deepEqual(hcmFilters(plain), ['envoy.filters.http.router']);
  });

  it('puts the DENY filter, then the ALLOW filter, before the router, on every chain', () => {
    const listener = inbound(mesh(api({ authorization: rules })));
    for (const chain of listener.filter_chains) {
      assert.deepEqual(hcmFilters(chain), [
        'envoy.filters.http.rbac DENY',
        'envoy.filters.http.rbac ALLOW',
        'envoy.filters.http.router',
      ]);
    }
  });

  it('names each policy after its rule and translates sources and operations', () => {
    const listener = inbound(mesh(api({ authorization: rules })), 'api', { inboundPort: 25006 });
    const [deny, allow] = listener.filter_chains[0].filters[0].typed_config.http_filters;
    assert.equal(
      deny.typed_config['@type'],
      'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
    );
    assert.deepEqual(deny.typed_config.rules.policies, {
      'api.default/admins-only': {
        permissions: [{ url_path: { path: { prefix: '/admin/' } } }],
        principals: [{ any: true }],
      },
    });
    assert.deepEqual(allow.typed_config.rules.policies, {
      'api.default/web': {
        permissions: [
          {
            and_rules: {
              rules: [
                {
                  or_rules: {
                    rules: [
                      { header: { name: ':method', string_match: { exact: 'GET' } } },
                      { header: { name: ':method', string_match: { exact: 'HEAD' } } },
                    ],
                  },
                },
                { url_path: { path: { exact: '/items' } } },
                // Service port 8080 reaches the sidecar on its inbound port.
                { destination_port: 25006 },
              ],
            },
          },
        ],
        principals: [
          {
            and_ids: {
              ids: [
                {
                  or_ids: {
                    ids: [
                      {
                        authenticated: {
                          principal_name: { exact: 'spiffe://cluster.local/ns/default/sa/web' },
                        },
                      },
                      {
                        authenticated: {
                          principal_name: { prefix: 'spiffe://cluster.local/ns/default/sa/web-' },
                        },
                      },
                    ],
                  },
                },
                {
                  authenticated: {
                    principal_name: { prefix: 'spiffe://cluster.local/ns/tools/sa/' },
                  },
                },
              ],
            },
          },
        ],
      },
    });
  });

  it('emits only the DENY filter when there are only DENY rules (default allow)', () => {
    const listener = inbound(mesh(api({ authorization: [rules[0]] })));
    assert.deepEqual(hcmFilters(listener.filter_chains[0]), [
      'envoy.filters.http.rbac DENY',
      'envoy.filters.http.router',
    ]);
  });

  it('uses network RBAC before the TCP proxy on a tcp-only service', () => {
    const db = service('db', 'default', [[5432, 'tcp']], {
      authorization: [
        rule('no-batch', { action: 'DENY', from: [{ principals: [], namespaces: ['batch'] }] }),
        rule('app', {
          from: [
            { principals: [{ exact: 'spiffe://cluster.local/ns/default/sa/app' }], namespaces: [] },
          ],
        }),
      ],
    });
    const listener = inbound(mesh(db), 'db');
    for (const chain of listener.filter_chains) {
      assert.deepEqual(
        chain.filters.map((f: Loose) => `${f.name} ${f.typed_config.rules?.action ?? ''}`.trim()),
        [
          'envoy.filters.network.rbac DENY',
          'envoy.filters.network.rbac ALLOW',
          'envoy.filters.network.tcp_proxy',
        ],
      );
      assert.equal(chain.filters[0].typed_config.stat_prefix, 'tcp.');
      assert.deepEqual(Object.keys(chain.filters[1].typed_config.rules.policies), [
        'db.default/app',
      ]);
    }
  });

  it('on tcp, as Istio: an ALLOW needing HTTP fields allows nothing, a DENY drops them', () => {
    const db = service('db', 'default', [[5432, 'tcp']], {
      authorization: [
        rule('deny-get', {
          action: 'DENY',
          to: [{ methods: ['GET'], paths: [], ports: [5432] }],
        }),
        rule('allow-get', { to: [{ methods: ['GET'], paths: [], ports: [] }] }),
      ],
    });
    const t = translateWorkload(mesh(db), workload({ service: 'db', appPort: 8000 }));
    const [deny, allow] = get(t.resources.listeners, 'virtualInbound').filter_chains[0].filters;
    assert.deepEqual(deny.typed_config.rules.policies['db.default/deny-get'].permissions, [
      { destination_port: 15006 },
    ]);
    assert.deepEqual(allow.typed_config.rules, { action: 'ALLOW', policies: {} });
    assert.equal(t.warnings.filter((w) => w.includes('tcp port cannot see')).length, 2);
  });

  it('warns when a rule names some ports of a multi-port service', () => {
    const two = service(
      'two',
      'default',
      [
        [80, 'http'],
        [81, 'http'],
      ],
      { authorization: [rule('only-80', { to: [{ methods: [], paths: [], ports: [80] }] })] },
    );
    const t = translateWorkload(mesh(two), workload({ service: 'two', appPort: 8000 }));
    assert.ok(
      t.warnings.some((w) => w.includes('rule only-80 names some of the service')),
      t.warnings.join('\n'),
    );
  });
});
