/**
 * The sidecars' side of the egress gateway: the declared http hosts in every outbound route
 * configuration, routed to a cluster whose endpoints are the connected egress gateway nodes
 * (the registry keeps them from their node metadata), decoded from protobuf as sidecars get them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { Registry } from '../../../src/controlplane/index.js';
import { buildShared } from '../../../src/controlplane/snapshot.js';
import { type Resources, translateWorkload } from '../../../src/controlplane/translate/index.js';
import { type MeshConfig, parseMesh } from '../../../src/mesh/index.js';
import { compileOutboundDestinations } from '../../../src/proxy/runtime/index.js';
import {
  decodeResource,
  encodeResource,
  gatewayFromNode,
  jsonToStruct,
  types,
} from '../../../src/xds/index.js';
import { workload } from './mesh-fixture.js';
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
const CLUSTER = 'outbound|8080||egress.istio-system.svc.cluster.local';
const TLS_CLUSTER = 'outbound|8443|api.example.com|egress.istio-system.svc.cluster.local';

/** The mTLS of a cluster's every-endpoint transport socket match, in brief. */
function mtlsOf(cluster: Loose) {
  assert.equal(cluster.transport_socket, undefined, 'proxyless gRPC NACKs transport_socket');
  const [m] = cluster.transport_socket_matches;
  assert.deepEqual(m.match ?? {}, {}, 'every endpoint');
  const ctx = m.transport_socket.typed_config;
  const common = ctx.common_tls_context;
  return {
    sans: common.combined_validation_context.default_validation_context.match_typed_subject_alt_names.map(
      (x: Loose) => x.matcher.exact,
    ),
    sni: ctx.sni,
    alpn: common.alpn_protocols ?? [],
    cert: common.tls_certificate_sds_secret_configs[0].name,
    roots: common.combined_validation_context.validation_context_sds_secret_config.name,
  };
}

function mesh(text = MESH): MeshConfig {
  const parsed = parseMesh(text, 'mesh.yaml');
  if (!parsed.ok) assert.fail(parsed.errors.map((e) => e.message).join('\n'));
  return parsed.config;
}

function shared(config: MeshConfig): Resources {
  const built = buildShared(config, ['default']);
  assert.ok(built.ok, JSON.stringify(built));
  return built.resources;
}

function decodedOne(resources: Resources, kind: 'routes' | 'clusters', name: string): Loose {
  const r = resources[kind].find((x) => x.name === name);
  assert.ok(r, `${kind} ${name} in ${resources[kind].map((x) => x.name).join(', ')}`);
  const proto =
    kind === 'routes'
      ? 'envoy.config.route.v3.RouteConfiguration'
      : 'envoy.config.cluster.v3.Cluster';
  assert.deepEqual(protoProblems(proto, r.value), [], name);
  return decodeResource(TYPE_URLS[kind], encodeResource(TYPE_URLS[kind], r.value));
}

/** A connected egress gateway node as the registry learns it from its metadata. */
function egressNode(meta: Record<string, string | number>) {
  const read = gatewayFromNode({
    id: 'egress-1',
    metadata: jsonToStruct({ FERRY_GATEWAY: 'istio-system/egress', FERRY_MODE: 'egress', ...meta }),
  });
  assert.ok(read.ok && read.gateway, JSON.stringify(read));
  return read.gateway;
}

describe('translate: sidecars route the declared http hosts to the egress gateway', () => {
  it('gives each declared http host a virtual host routed, Host kept, to the gateway cluster', () => {
    const routes = decodedOne(shared(mesh()), 'routes', 'outbound.default');
    const egress = routes.virtual_hosts.filter((v: Loose) => String(v.name).startsWith('egress/'));
    assert.deepEqual(
      egress.map((v: Loose) => [v.name, v.domains]),
      [
        ['egress/192.0.2.7:8000', ['192.0.2.7:8000']],
        ['egress/httpbin.org:80', ['httpbin.org:80', 'httpbin.org']],
      ],
    );
    for (const v of egress) {
      assert.equal(v.routes.length, 1);
      assert.equal(v.routes[0].route.cluster, CLUSTER);
      // No host rewrite: the gateway routes by the Host the app sent.
      assert.equal(v.routes[0].route.host_rewrite_literal, undefined);
    }
    // The tls host is no virtual host: its TLS is chosen by SNI on the outbound listener.
    assert.ok(!routes.virtual_hosts.some((v: Loose) => v.domains.includes('api.example.com:443')));
  });

  it('the gateway cluster has no endpoint until an egress gateway node with an address connects', () => {
    const cluster = decodedOne(shared(mesh()), 'clusters', CLUSTER);
    assert.equal(cluster.type, 'STATIC');
    assert.deepEqual(cluster.load_assignment.endpoints[0].lb_endpoints ?? [], []);
  });

  it('the registry makes connected egress gateways its endpoints (port offset added) until they leave', () => {
    const registry = new Registry(mesh());
    const leave1 = registry.connectGateway(egressNode({ FERRY_ADDRESS: '10.1.0.9' }));
    const leave2 = registry.connectGateway(
      egressNode({ FERRY_ADDRESS: '10.1.0.8', FERRY_PORT_OFFSET: 100 }),
    );
    // Neither an ingress gateway, nor one without an address, nor another egress gateway.
    registry.connectGateway({
      gateway: 'istio-system/egress',
      mode: 'gateway',
      address: '10.9.9.9',
    });
    registry.connectGateway(egressNode({}));
    registry.connectGateway({ gateway: 'other/egress', mode: 'egress', address: '10.9.9.8' });
    const endpoints = (config: MeshConfig, cluster = CLUSTER) =>
      (
        decodedOne(shared(config), 'clusters', cluster).load_assignment.endpoints[0].lb_endpoints ??
        []
      ).map((e: Loose) => e.endpoint.address.socket_address);
    assert.deepEqual(endpoints(registry.view()), [
      { address: '10.1.0.8', port_value: 8180 },
      { address: '10.1.0.9', port_value: 8080 },
    ]);
    // The TLS listener's cluster: the same nodes at tlsPort, plus their offsets.
    assert.deepEqual(endpoints(registry.view(), TLS_CLUSTER), [
      { address: '10.1.0.8', port_value: 8543 },
      { address: '10.1.0.9', port_value: 8443 },
    ]);
    // Gateways are never endpoints of services.
    assert.ok(
      registry
        .view()
        .services.every((s) => s.endpoints.every((e) => !e.address.startsWith('10.1.'))),
    );
    leave1();
    leave2();
    assert.deepEqual(endpoints(registry.view()), []);
  });

  it("the hop to the gateway is mutual TLS checking the gateway's SPIFFE ID (Istio's ISTIO_MUTUAL)", () => {
    const http = decodedOne(shared(mesh()), 'clusters', CLUSTER);
    assert.deepEqual(mtlsOf(http), {
      sans: ['spiffe://cluster.local/ns/istio-system/sa/egress'],
      sni: 'outbound_.8080_._.egress.istio-system.svc.cluster.local',
      alpn: ['http/1.1'],
      cert: 'default',
      roots: 'ROOTCA',
    });
    // TLS: the hop's SNI names the external host (the gateway picks its chain by it), and the
    // app's own TLS inside it negotiates its own ALPN.
    const tls = decodedOne(shared(mesh()), 'clusters', TLS_CLUSTER);
    assert.deepEqual(mtlsOf(tls), {
      sans: ['spiffe://cluster.local/ns/istio-system/sa/egress'],
      sni: 'api.example.com',
      alpn: [],
      cert: 'default',
      roots: 'ROOTCA',
    });
    // Another service account for the gateway: that is the identity sidecars accept.
    const other = mesh(
      MESH.replace('  httpPort: 8080', '  serviceAccount: egress-gw\n  httpPort: 8080'),
    );
    assert.deepEqual(mtlsOf(decodedOne(shared(other), 'clusters', TLS_CLUSTER)).sans, [
      'spiffe://cluster.local/ns/istio-system/sa/egress-gw',
    ]);
  });

  it('refuses a gateway node whose FERRY_ADDRESS or FERRY_PORT_OFFSET is bad, naming it', () => {
    const read = (meta: Record<string, string | number>) =>
      gatewayFromNode({
        id: 'g',
        metadata: jsonToStruct({
          FERRY_GATEWAY: 'istio-system/egress',
          FERRY_MODE: 'egress',
          ...meta,
        }),
      });
    const bad = read({ FERRY_ADDRESS: 'egress.local' });
    assert.ok(!bad.ok);
    assert.match(bad.error, /FERRY_ADDRESS must be an IP literal, got "egress.local"/);
    const offset = read({ FERRY_ADDRESS: '10.0.0.1', FERRY_PORT_OFFSET: -1 });
    assert.ok(!offset.ok);
    assert.match(offset.error, /FERRY_PORT_OFFSET must be a whole number 0..65535/);
  });

  it('a mesh with tls egress hosts only has their clusters, no HTTP one', () => {
    const resources = shared(
      mesh(`services: []
egress:
  gateway: istio-system/egress
  hosts:
    - { host: api.example.com, port: 443, protocol: tls }
`),
    );
    assert.deepEqual(
      resources.clusters.filter((c) => c.name.includes('egress.istio-system')).map((c) => c.name),
      ['outbound|443|api.example.com|egress.istio-system.svc.cluster.local'],
    );
    const none = shared(mesh('services: []\n'));
    assert.ok(!none.clusters.some((c) => c.name.includes('egress')));
  });
});

describe("translate: the sidecar's outbound listener sends connections for declared hosts to the egress gateway", () => {
  const outbound = (config: MeshConfig) => {
    const l = translateWorkload(config, workload({ outboundPort: 15001 })).resources.listeners.find(
      (x) => x.name === 'virtualOutbound',
    );
    assert.ok(l);
    assert.deepEqual(protoProblems('envoy.config.listener.v3.Listener', l.value), []);
    return decodeResource(types.LISTENER, encodeResource(types.LISTENER, l.value)) as Loose;
  };

  it('a tls host by SNI on its port and on the listener own port; an http IP literal by address', () => {
    const l = outbound(mesh());
    assert.deepEqual(
      l.listener_filters.map((f: Loose) => f.name),
      ['envoy.filters.listener.tls_inspector'],
    );
    const egress = l.filter_chains
      .filter((c: Loose) => String(c.name).startsWith('egress|'))
      .map((c: Loose) => [
        c.name,
        c.filter_chain_match,
        c.filters[0].name === 'envoy.filters.network.tcp_proxy'
          ? c.filters[0].typed_config.cluster
          : c.filters[0].typed_config.rds.route_config_name,
      ]);
    assert.deepEqual(egress, [
      [
        'egress|443|api.example.com',
        {
          destination_port: { value: 443 },
          server_names: ['api.example.com'],
          transport_protocol: 'tls',
        },
        TLS_CLUSTER,
      ],
      [
        'egress|15001|api.example.com',
        {
          destination_port: { value: 15001 },
          server_names: ['api.example.com'],
          transport_protocol: 'tls',
        },
        TLS_CLUSTER,
      ],
      [
        'egress|192.0.2.7:8000',
        {
          destination_port: { value: 8000 },
          prefix_ranges: [{ address_prefix: '192.0.2.7', prefix_len: { value: 32 } }],
        },
        'outbound.default',
      ],
    ]);
    // The passthrough stays last: what nothing declares leaves as it came.
    assert.equal(l.filter_chains.at(-1).name, 'PassthroughFilterChain');
  });

  it('without tls hosts no ClientHello is read (no tls_inspector)', () => {
    const l = outbound(mesh(MESH.replace(/ {4}- \{ host: api.example.com.*\n/, '')));
    assert.equal(l.listener_filters, undefined);
  });

  it('the sidecar compiles them into its lookup: SNI picks on the port, the address elsewhere', () => {
    const l = translateWorkload(mesh(), workload({ outboundPort: 15001 })).resources.listeners.find(
      (x) => x.name === 'virtualOutbound',
    )!.value;
    const table = compileOutboundDestinations(l);
    const at443 = table.route('203.0.113.9', 443);
    assert.equal(at443?.kind, 'sni');
    if (at443?.kind !== 'sni') return;
    const named = at443.names.get('api.example.com');
    assert.equal(named?.kind === 'tcp' && named.cluster, TLS_CLUSTER);
    // Another name (or no TLS) on that port: what the port had without it, the passthrough.
    assert.equal(at443.otherwise?.kind === 'tcp' && at443.otherwise.cluster, 'PassthroughCluster');
    const own = table.route('127.0.0.1', 15001);
    assert.equal(own?.kind === 'sni' && own.otherwise?.kind, 'http');
    assert.equal(table.route('192.0.2.7', 8000)?.kind, 'http');
    const other = table.route('192.0.2.8', 8000);
    assert.equal(other?.kind === 'tcp' && other.cluster, 'PassthroughCluster');
    // No SNI chains on a port: the plain lookup, unchanged.
    assert.equal(table.route('203.0.113.9', 80)?.kind, 'tcp');
  });

  it('an egress IP that is a service address goes to the service, with a warning', () => {
    const text = MESH.replace(
      'endpoints: [{ address: 10.0.0.1, port: 18080 }]',
      'addresses: [192.0.2.7]\n    endpoints: [{ address: 10.0.0.1, port: 18080 }]',
    ).replace('port: 8080, protocol: http }]', 'port: 8000, protocol: http }]');
    const t = translateWorkload(mesh(text), workload({ outboundPort: 15001 }));
    assert.match(t.warnings.join('\n'), /egress host 192\.0\.2\.7:8000 is an address of a service/);
    const listener = t.resources.listeners.find((x) => x.name === 'virtualOutbound')!
      .value as Loose;
    const chains = (listener.filter_chains as Loose[]).map((c) => c.name);
    assert.ok(!chains.includes('egress|192.0.2.7:8000'), chains.join(', '));
  });
});
