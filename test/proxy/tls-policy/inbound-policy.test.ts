import assert from 'node:assert/strict';
import type { AuthorizationRule } from '../../../src/mesh/index.js';
import { compileInboundPolicy, TlsPolicyError } from '../../../src/proxy/tls-policy/index.js';
import { decodedInbound, type Loose, meshOf, svc } from './decoded.js';

const WEB = 'spiffe://cluster.local/ns/default/sa/web';

const RULES: AuthorizationRule[] = [
  {
    name: 'no-admin',
    action: 'DENY',
    from: [],
    to: [{ methods: [], paths: [{ prefix: '/admin' }], ports: [] }],
  },
  {
    name: 'web',
    action: 'ALLOW',
    from: [{ principals: [{ exact: WEB }], namespaces: [] }],
    to: [],
  },
];

describe('tls-policy: inbound ports from a decoded Listener', () => {
  it('PERMISSIVE: TLS (client certificate optional) and plaintext, with the TLS settings', () => {
    const policy = compileInboundPolicy(decodedInbound(meshOf([svc('api')]), 'api'));
    assert.deepEqual([...policy.ports.keys()], [15006]);
    const port = policy.forPort(15006);
    assert.ok(port);
    assert.equal(port.mode, 'PERMISSIVE');
    assert.equal(port.requireClientCert, false);
    assert.equal(port.http, true);
    assert.deepEqual(port.tls, {
      sdsCertName: 'default',
      sdsRootName: 'ROOTCA',
      alpn: ['h2', 'http/1.1'],
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      allowedSans: [],
      requireClientCert: false,
    });
    assert.equal(port.httpRbac.empty, true);
    assert.equal(policy.forPort(15007), undefined);
  });

  it('STRICT: TLS only, client certificate required', () => {
    const port = compileInboundPolicy(
      decodedInbound(meshOf([svc('api')], 'STRICT'), 'api'),
    ).forPort(15006);
    assert.equal(port?.mode, 'STRICT');
    assert.equal(port?.requireClientCert, true);
    assert.equal(port?.tls?.requireClientCert, true);
  });

  it('DISABLE: plaintext only, no TLS settings', () => {
    const api = svc('api', {
      policy: { loadBalancer: 'round_robin', connectTimeoutMs: 1000, mtls: 'DISABLE' },
    });
    const port = compileInboundPolicy(decodedInbound(meshOf([api], 'STRICT'), 'api')).forPort(
      15006,
    );
    assert.equal(port?.mode, 'DISABLE');
    assert.equal(port?.tls, undefined);
    assert.equal(port?.requireClientCert, false);
  });

  it('compiles the HTTP RBAC of the port: deny wins, then the allow list', () => {
    const port = compileInboundPolicy(
      decodedInbound(meshOf([svc('api', { authorization: RULES })]), 'api'),
    ).forPort(15006);
    assert.ok(port);
    const r = (principal: string | undefined, path: string) =>
      port.httpRbac.evaluate({ principal, method: 'GET', path, port: 15006 });
    assert.deepEqual(r(WEB, '/a'), { allowed: true, policy: 'api.default/web' });
    assert.deepEqual(r(WEB, '/admin'), { allowed: false, policy: 'api.default/no-admin' });
    assert.deepEqual(r(undefined, '/a'), { allowed: false });
    assert.equal(port.networkRbac.empty, true);
  });

  it('compiles the network RBAC of a tcp port', () => {
    const db = svc('db', {
      ports: [{ port: 5432, protocol: 'tcp', name: 'pg' }],
      authorization: [
        {
          name: 'web',
          action: 'ALLOW',
          from: [{ principals: [{ exact: WEB }], namespaces: [] }],
          to: [],
        },
      ],
    });
    const port = compileInboundPolicy(decodedInbound(meshOf([db], 'STRICT'), 'db')).forPort(15006);
    assert.ok(port);
    assert.equal(port.http, false);
    assert.equal(port.mode, 'STRICT');
    assert.equal(port.httpRbac.empty, true);
    const conn = (principal: string | undefined) =>
      port.networkRbac.evaluate({ principal, method: undefined, path: undefined, port: 15006 })
        .allowed;
    assert.equal(conn(WEB), true);
    assert.equal(conn('spiffe://cluster.local/ns/default/sa/other'), false);
  });

  it('groups chains by destination_port', () => {
    const base = decodedInbound(meshOf([svc('api')]), 'api');
    const [tls, plain] = base.filter_chains;
    const listener = {
      ...base,
      filter_chains: [
        {
          ...tls,
          filter_chain_match: { ...tls.filter_chain_match, destination_port: { value: 9000 } },
        },
        { ...plain, filter_chain_match: { destination_port: { value: 9000 } } },
        plain,
      ],
    };
    const policy = compileInboundPolicy(listener);
    assert.equal(policy.forPort(9000)?.mode, 'PERMISSIVE');
    assert.equal(policy.forPort(15006)?.mode, 'DISABLE');
  });

  it('refuses what it cannot honour, naming the field', () => {
    const base: Loose = decodedInbound(meshOf([svc('api', { authorization: RULES })]), 'api');
    const [tls, plain] = base.filter_chains;
    const withChains = (...filter_chains: Loose[]) => ({ ...base, filter_chains });
    const hcm = plain.filters[0].typed_config;
    const noRbac = {
      ...plain,
      filters: [
        { ...plain.filters[0], typed_config: { ...hcm, http_filters: hcm.http_filters.slice(-1) } },
      ],
    };
    const badRbac = {
      ...plain,
      filters: [
        {
          ...plain.filters[0],
          typed_config: {
            ...hcm,
            http_filters: [
              {
                name: 'envoy.filters.http.rbac',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC',
                  rules: {
                    policies: {
                      p: { permissions: [{ metadata: {} }], principals: [{ any: true }] },
                    },
                  },
                },
              },
              ...hcm.http_filters.slice(-1),
            ],
          },
        },
      ],
    };
    const CASES: Array<[object, string]> = [
      [withChains(tls, plain, plain), 'filter_chains[2]'],
      [withChains(tls, noRbac), 'filter_chains[1]'],
      [
        withChains({ ...plain, filter_chain_match: { server_names: ['a'] } }),
        'filter_chains[0].filter_chain_match.server_names',
      ],
      [
        withChains({ ...plain, filter_chain_match: { transport_protocol: 'tls' } }),
        'filter_chains[0].transport_socket',
      ],
      [
        withChains(badRbac),
        'filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.rules.policies["p"].permissions[0].metadata',
      ],
      [
        withChains({
          ...plain,
          filters: [{ name: 'envoy.filters.network.rbac', typed_config: { type_url: 'x' } }],
        }),
        'filter_chains[0].filters[0].typed_config',
      ],
    ];
    for (const [listener, field] of CASES) {
      assert.throws(
        () => compileInboundPolicy(listener),
        (err: unknown) => err instanceof TlsPolicyError && err.field === field,
        field,
      );
    }
  });
});
