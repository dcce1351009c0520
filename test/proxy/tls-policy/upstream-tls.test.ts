import assert from 'node:assert/strict';
import type { Endpoint } from '../../../src/mesh/index.js';
import { compileUpstreamTls, TlsPolicyError } from '../../../src/proxy/tls-policy/index.js';
import { decodedAssignment, decodedCluster, type Loose, meshOf, svc } from './decoded.js';

const CLUSTER = 'outbound|8080||api.default.svc.cluster.local';

function ep(address: string, extra: Partial<Endpoint> = {}): Endpoint {
  return {
    address,
    ports: { 8080: 18080 },
    labels: {},
    region: '',
    zone: '',
    weight: 1,
    health: 'HEALTHY',
    meshed: false,
    serviceAccount: 'default',
    source: 'mesh-file',
    ...extra,
  };
}

const API = svc('api', {
  serviceAccounts: ['api', 'api-canary'],
  endpoints: [
    ep('10.0.0.1', { meshed: true, serviceAccount: 'api' }),
    ep('10.0.0.2', { meshed: true, serviceAccount: 'api-canary' }),
    ep('10.0.0.3'),
  ],
});

/** Each endpoint's address with the TLS the policy gives it. */
function perEndpoint(
  policy: ReturnType<typeof compileUpstreamTls>,
  cla: Loose,
): Array<[string, unknown]> {
  return cla.endpoints[0].lb_endpoints.map((e: Loose) => [
    e.endpoint.address.socket_address.address,
    policy.forEndpoint(e.metadata)?.source,
  ]);
}

describe('tls-policy: upstream TLS from a decoded Cluster', () => {
  it('gives meshed endpoints (tlsMode metadata) mTLS, and plaintext to the others', () => {
    const config = meshOf([API]);
    const policy = compileUpstreamTls(decodedCluster(config, CLUSTER));
    assert.equal(policy.plaintextOnly, false);
    assert.deepEqual(perEndpoint(policy, decodedAssignment(config, CLUSTER)), [
      ['10.0.0.1', 'tlsMode-istio'],
      ['10.0.0.2', 'tlsMode-istio'],
      ['10.0.0.3', undefined],
    ]);
  });

  it('reads SDS names, ALPN, TLS 1.3, SNI and the allowed SPIFFE IDs', () => {
    const policy = compileUpstreamTls(decodedCluster(meshOf([API]), CLUSTER));
    const tls = policy.forEndpoint({
      filter_metadata: {
        'envoy.transport_socket_match': { fields: { tlsMode: { stringValue: 'istio' } } },
      },
    });
    assert.deepEqual(tls, {
      sdsCertName: 'default',
      sdsRootName: 'ROOTCA',
      alpn: ['http/1.1'],
      minVersion: 'TLSv1.3',
      maxVersion: 'TLSv1.3',
      allowedSans: [
        'spiffe://cluster.local/ns/default/sa/api',
        'spiffe://cluster.local/ns/default/sa/api-canary',
      ],
      sni: 'outbound_.8080_._.api.default.svc.cluster.local',
      source: 'tlsMode-istio',
    });
    // Another tlsMode value, or none, is plaintext.
    assert.equal(
      policy.forEndpoint({
        filter_metadata: {
          'envoy.transport_socket_match': { fields: { tlsMode: { stringValue: 'disabled' } } },
        },
      }),
      undefined,
    );
    assert.equal(policy.forEndpoint(undefined), undefined);
  });

  it('is plaintext only for a cluster with no meshed endpoints or mode DISABLE', () => {
    const plain = svc('api', { endpoints: [ep('10.0.0.3')] });
    assert.equal(compileUpstreamTls(decodedCluster(meshOf([plain]), CLUSTER)).plaintextOnly, true);
    assert.equal(
      compileUpstreamTls(decodedCluster(meshOf([API], 'DISABLE'), CLUSTER)).plaintextOnly,
      true,
    );
  });

  it('falls back to the cluster transport_socket; an empty match matches every endpoint', () => {
    const upstream = (sni: string) => ({
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: 'default' }],
          validation_context_sds_secret_config: { name: 'ROOTCA' },
        },
        sni,
      },
    });
    const policy = compileUpstreamTls({
      transport_socket_matches: [
        {
          name: 'a',
          match: { fields: { zone: { stringValue: 'a' } } },
          transport_socket: upstream('a'),
        },
      ],
      transport_socket: upstream('fallback'),
    });
    const meta = (zone: string) => ({
      filter_metadata: {
        'envoy.transport_socket_match': { fields: { zone: { stringValue: zone } } },
      },
    });
    assert.equal(policy.forEndpoint(meta('a'))?.sni, 'a');
    assert.equal(policy.forEndpoint(meta('b'))?.sni, 'fallback');
    // TLS_AUTO: Envoy's defaults, 1.2 to 1.3.
    assert.equal(policy.forEndpoint(meta('b'))?.minVersion, 'TLSv1.2');
    const catchAll = compileUpstreamTls({
      transport_socket_matches: [{ name: 'all', transport_socket: upstream('x') }],
    });
    assert.equal(catchAll.forEndpoint(undefined)?.sni, 'x');
  });

  it('refuses key material or pinning in xDS, and non-URI SAN matchers, naming the field', () => {
    const cluster = (common: object, type = 'UpstreamTlsContext') => ({
      transport_socket_matches: [
        {
          name: 'm',
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': `type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.${type}`,
              common_tls_context: common,
            },
          },
        },
      ],
    });
    const base = {
      tls_certificate_sds_secret_configs: [{ name: 'default' }],
      validation_context_sds_secret_config: { name: 'ROOTCA' },
    };
    const at = 'transport_socket_matches[0].transport_socket.typed_config';
    const CASES: Array<[object, string]> = [
      [cluster({ ...base, tls_certificates: [{}] }), `${at}.common_tls_context.tls_certificates`],
      [
        cluster({ validation_context_sds_secret_config: { name: 'ROOTCA' } }),
        `${at}.common_tls_context.tls_certificate_sds_secret_configs`,
      ],
      [
        cluster({ tls_certificate_sds_secret_configs: [{ name: 'default' }] }),
        `${at}.common_tls_context.validation_context_sds_secret_config`,
      ],
      [
        cluster({
          tls_certificate_sds_secret_configs: [{ name: 'default' }],
          combined_validation_context: {
            validation_context_sds_secret_config: { name: 'ROOTCA' },
            default_validation_context: {
              match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'a' } }],
            },
          },
        }),
        `${at}.common_tls_context.combined_validation_context.default_validation_context.match_typed_subject_alt_names[0].san_type`,
      ],
      [
        cluster({ ...base, tls_params: { tls_minimum_protocol_version: 'TLSv1_0' } }),
        `${at}.common_tls_context.tls_params.tls_minimum_protocol_version`,
      ],
      [cluster(base, 'DownstreamTlsContext'), at],
      [
        {
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: { type_url: 'x', value: '' },
          },
        },
        'transport_socket.typed_config',
      ],
    ];
    for (const [c, field] of CASES) {
      assert.throws(
        () => compileUpstreamTls(c),
        (err: unknown) =>
          err instanceof TlsPolicyError &&
          err.field === field &&
          err.code === 'FERRY_TLS_POLICY_INVALID_CONFIG',
        field,
      );
    }
  });
});
