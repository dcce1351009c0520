/**
 * An egress gateway node's resources (FERRY_MODE egress), decoded from their protobuf bytes as
 * the gateway receives them: only the mesh file's declared external hosts are served.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { buildForGateway, buildShared } from '../../../src/controlplane/snapshot.js';
import { type Resources, translateEgress } from '../../../src/controlplane/translate/index.js';
import { type MeshConfig, parseMesh } from '../../../src/mesh/index.js';
import { decodeResource, encodeResource } from '../../../src/xds/index.js';
import { protoProblems } from './proto-check.js';
import { type Loose, TYPE_URLS } from './resource-helpers.js';

const MESH = `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 10.0.0.1, port: 18080 }]
egress:
  gateway: istio-system/egress
  httpPort: 8080
  tlsPort: 8443
  hosts:
    - { host: api.example.com, port: 443, protocol: tls }
    - { host: httpbin.org, port: 80, protocol: http }
    - { host: 192.0.2.7, port: 8000, protocol: http }
`;

function mesh(text = MESH): MeshConfig {
  const parsed = parseMesh(text, 'mesh.yaml');
  if (!parsed.ok) assert.fail(parsed.errors.map((e) => e.message).join('\n'));
  return parsed.config;
}

const PROTOS: Readonly<Record<keyof Resources, string>> = {
  listeners: 'envoy.config.listener.v3.Listener',
  routes: 'envoy.config.route.v3.RouteConfiguration',
  clusters: 'envoy.config.cluster.v3.Cluster',
  endpoints: 'envoy.config.endpoint.v3.ClusterLoadAssignment',
};

/** The resources of `kind`, each checked field by field and round-tripped through protobuf. */
function decoded(resources: Resources, kind: keyof Resources): Map<string, Loose> {
  const out = new Map<string, Loose>();
  for (const r of resources[kind]) {
    assert.deepEqual(protoProblems(PROTOS[kind], r.value), [], r.name);
    const bytes = encodeResource(TYPE_URLS[kind], r.value);
    out.set(r.name, decodeResource(TYPE_URLS[kind], bytes));
  }
  return out;
}

/**
 * Istio's ISTIO_MUTUAL on a gateway server: its workload certificate (`default`), a client
 * certificate from the mesh's CA (`ROOTCA`) required, TLS 1.3.
 */
function assertMeshMtls(socket: Loose, alpn: string[]): void {
  assert.equal(socket.name, 'envoy.transport_sockets.tls');
  const ctx = socket.typed_config;
  assert.deepEqual(ctx.require_client_certificate, { value: true });
  assert.deepEqual(ctx.common_tls_context.tls_certificate_sds_secret_configs, [
    { name: 'default' },
  ]);
  assert.deepEqual(ctx.common_tls_context.validation_context_sds_secret_config, {
    name: 'ROOTCA',
  });
  assert.equal(ctx.common_tls_context.tls_params.tls_minimum_protocol_version, 'TLSv1_3');
  assert.deepEqual(ctx.common_tls_context.alpn_protocols ?? [], alpn);
}

describe('translate: egress gateway', () => {
  const { resources, warnings } = translateEgress(mesh(), 'istio-system/egress');

  it('serves an HTTP listener and a TLS listener on the declared ports, nothing else', () => {
    assert.deepEqual(warnings, []);
    const listeners = decoded(resources, 'listeners');
    assert.deepEqual([...listeners.keys()], ['gateway~8080', 'gateway~8443']);
    const http = listeners.get('gateway~8080');
    assert.deepEqual(http.address.socket_address, { address: '0.0.0.0', port_value: 8080 });
    const hcm = http.filter_chains[0].filters[0];
    assert.equal(hcm.name, 'envoy.filters.network.http_connection_manager');
    assertMeshMtls(http.filter_chains[0].transport_socket, ['h2', 'http/1.1']);
    assert.equal(hcm.typed_config.rds.route_config_name, 'gateway~8080');
    assert.ok(hcm.typed_config.rds.config_source.ads);
  });

  it('routes HTTP by Host to the declared http hosts only (others: no virtual host, 404 NR)', () => {
    const rc = decoded(resources, 'routes').get('gateway~8080');
    assert.deepEqual(
      rc.virtual_hosts.map((v: Loose) => [v.domains, v.routes[0].match, v.routes[0].route.cluster]),
      [
        [['httpbin.org:80', 'httpbin.org'], { prefix: '/' }, 'outbound|80||httpbin.org'],
        [['192.0.2.7:8000'], { prefix: '/' }, 'outbound|8000||192.0.2.7'],
      ],
    );
    assert.ok(!rc.virtual_hosts.some((v: Loose) => v.domains.includes('*')), 'no catch-all');
  });

  it('routes TLS by the SNI of the mesh mTLS, unwrapped, then the bytes by tcp_proxy', () => {
    const tls = decoded(resources, 'listeners').get('gateway~8443');
    assert.deepEqual(
      tls.listener_filters.map((f: Loose) => f.name),
      ['envoy.filters.listener.tls_inspector'],
    );
    assert.equal(tls.filter_chains.length, 1, 'one chain per declared tls host, no default');
    const [chain] = tls.filter_chains;
    assert.deepEqual(chain.filter_chain_match.server_names, ['api.example.com']);
    assert.equal(chain.filters[0].name, 'envoy.filters.network.tcp_proxy');
    assert.equal(chain.filters[0].typed_config.cluster, 'outbound|443||api.example.com');
    // The sidecar's mTLS is terminated; the app's own TLS inside it is passed on untouched.
    assertMeshMtls(chain.transport_socket, []);
  });

  it('clusters: LOGICAL_DNS for a name, STATIC for an IP literal, plain (no transport socket)', () => {
    const clusters = decoded(resources, 'clusters');
    const summary = [...clusters.values()].map((c: Loose) => [
      c.name,
      c.type,
      c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address,
      c.transport_socket,
    ]);
    assert.deepEqual(summary, [
      [
        'outbound|443||api.example.com',
        'LOGICAL_DNS',
        { address: 'api.example.com', port_value: 443 },
        undefined,
      ],
      ['outbound|8000||192.0.2.7', 'STATIC', { address: '192.0.2.7', port_value: 8000 }, undefined],
      [
        'outbound|80||httpbin.org',
        'LOGICAL_DNS',
        { address: 'httpbin.org', port_value: 80 },
        undefined,
      ],
    ]);
  });

  it('a node that is not the declared egress gateway gets no listeners, and a warning', () => {
    const other = translateEgress(mesh(), 'default/egress');
    assert.deepEqual(other.resources.listeners, []);
    assert.deepEqual(other.resources.clusters, []);
    assert.match(other.warnings.join('\n'), /egress gateway is istio-system\/egress/);
    const none = translateEgress(mesh(MESH.slice(0, MESH.indexOf('egress:'))), 'a/b');
    assert.match(none.warnings.join('\n'), /no egress:/);
  });

  it('only http hosts: no TLS listener (and the reverse)', () => {
    const httpOnly = translateEgress(
      mesh(MESH.replace(/ {4}- \{ host: api.example.com.*\n/, '')),
      'istio-system/egress',
    );
    assert.deepEqual(
      httpOnly.resources.listeners.map((l) => l.name),
      ['gateway~8080'],
    );
    const tlsOnly = translateEgress(
      mesh(MESH.replace(/ {4}- \{ host: (httpbin|192).*\n/g, '')),
      'istio-system/egress',
    );
    assert.deepEqual(
      tlsOnly.resources.listeners.map((l) => l.name),
      ['gateway~8443'],
    );
    assert.deepEqual(tlsOnly.resources.routes, []);
  });

  it('the control plane builds an egress node from this, consistent with the shared resources', () => {
    const config = mesh();
    const shared = buildShared(config, ['default']);
    assert.ok(shared.ok, JSON.stringify(shared));
    const built = buildForGateway(config, shared.resources, {
      gateway: 'istio-system/egress',
      mode: 'egress',
    });
    assert.ok(built.ok, JSON.stringify(built));
    // The shared resources carry proxyless gRPC's listeners (named by host); the gateway's own:
    const own = (r: Resources) =>
      r.listeners.map((l) => l.name).filter((n) => n.startsWith('gateway~'));
    const names = own(built.resources);
    assert.deepEqual(names, ['gateway~8080', 'gateway~8443']);
    // An ingress node of the same name is not given the egress listeners.
    const ingress = buildForGateway(config, shared.resources, {
      gateway: 'istio-system/egress',
      mode: 'gateway',
    });
    assert.ok(ingress.ok);
    assert.deepEqual(own(ingress.resources), []);
  });
});
