import assert from 'node:assert/strict';
import { translateWorkload } from '../../../src/controlplane/translate/index.js';
import { endpoint, FIXTURE_MESH, mesh, service, workload } from './mesh-fixture.js';
import { get, type Loose, names } from './resource-helpers.js';

const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function filterTypes(listener: Loose): string[] {
  return listener.filter_chains.map((c: Loose) =>
    c.filters[0].typed_config['@type'].split('.').at(-1),
  );
}

function chain(listener: Loose, name: string): Loose {
  const found = listener.filter_chains.find((c: Loose) => c.name === name);
  assert.ok(found, `no filter chain ${name}`);
  return found;
}

describe('translate: sidecar listeners', () => {
  it('routes outbound HTTP through the namespace route configuration and TCP by port', () => {
    const t = translateWorkload(FIXTURE_MESH, workload({ namespace: 'shop', outboundPort: 25001 }));
    assert.deepEqual(names(t.resources.listeners), ['virtualOutbound']);
    const out = get(t.resources.listeners, 'virtualOutbound');
    assert.deepEqual(out.address, { socket_address: { address: '0.0.0.0', port_value: 25001 } });
    assert.deepEqual(out.use_original_dst, { value: true });
    const hcm = out.filter_chains[0].filters[0].typed_config;
    assert.equal(hcm.codec_type, 'AUTO');
    assert.equal(hcm.stat_prefix, 'outbound_0.0.0.0_25001');
    assert.equal(hcm.rds.route_config_name, 'outbound.shop');
    // A connection made to the listener itself (not redirected) has its port as destination.
    assert.deepEqual(out.filter_chains[0].filter_chain_match, {
      destination_port: { value: 25001 },
    });
    const tcp = chain(out, 'outbound|5432||db.data.svc.cluster.local');
    assert.deepEqual(tcp.filter_chain_match, { destination_port: { value: 5432 } });
    assert.equal(tcp.filters[0].typed_config.cluster, 'outbound|5432||db.data.svc.cluster.local');
    const last = out.filter_chains.at(-1);
    assert.equal(last.name, 'PassthroughFilterChain');
    assert.equal(last.filter_chain_match, undefined);
    assert.equal(last.filters[0].typed_config.cluster, 'PassthroughCluster');
  });

  it("routes a service's virtual IPs on each of its ports, HTTP through the route configuration", () => {
    const config = mesh(
      service('api', 'default', [[8080, 'http']], { addresses: ['10.96.0.1', 'fd00::1'] }),
      service('db', 'default', [[5432, 'tcp']], { addresses: ['10.96.0.2'] }),
    );
    const t = translateWorkload(config, workload());
    const out = get(t.resources.listeners, 'virtualOutbound');
    const api = chain(out, 'outbound|8080||api.default.svc.cluster.local');
    assert.deepEqual(api.filter_chain_match, {
      destination_port: { value: 8080 },
      prefix_ranges: [
        { address_prefix: '10.96.0.1', prefix_len: { value: 32 } },
        { address_prefix: 'fd00::1', prefix_len: { value: 128 } },
      ],
    });
    assert.equal(api.filters[0].typed_config.rds.route_config_name, 'outbound.default');
    const db = chain(out, 'outbound|5432||db.default.svc.cluster.local');
    assert.deepEqual(db.filter_chain_match.prefix_ranges, [
      { address_prefix: '10.96.0.2', prefix_len: { value: 32 } },
    ]);
    assert.equal(db.filters[0].typed_config.cluster, 'outbound|5432||db.default.svc.cluster.local');
    // A tcp service with a virtual IP has no port-only chain: other addresses pass through.
    assert.equal(
      out.filter_chains.filter((c: Loose) => c.filter_chain_match?.destination_port?.value === 5432)
        .length,
      1,
    );
  });

  it("routes a meshed endpoint's own address with mTLS to exactly that address", () => {
    const config = mesh(
      service('api', 'default', [[8080, 'http']], {
        endpoints: [
          endpoint('10.1.0.7', { 8080: 15006 }, { meshed: true, serviceAccount: 'api' }),
          endpoint('10.1.0.8', { 8080: 8080 }),
        ],
      }),
    );
    const t = translateWorkload(config, workload());
    const out = get(t.resources.listeners, 'virtualOutbound');
    const own = chain(out, 'outbound-endpoint|8080||api.default.svc.cluster.local');
    // Only the meshed endpoint: the other is reached through the passthrough.
    assert.deepEqual(own.filter_chain_match, {
      destination_port: { value: 8080 },
      prefix_ranges: [{ address_prefix: '10.1.0.7', prefix_len: { value: 32 } }],
    });
    assert.equal(
      own.filters[0].typed_config.cluster,
      'outbound-endpoint|8080||api.default.svc.cluster.local',
    );
    const cluster = get(
      t.resources.clusters,
      'outbound-endpoint|8080||api.default.svc.cluster.local',
    );
    assert.equal(cluster.type, 'ORIGINAL_DST');
    assert.equal(cluster.lb_policy, 'CLUSTER_PROVIDED');
    assert.deepEqual(cluster.transport_socket_matches[0].match, {});
    const tls = cluster.transport_socket_matches[0].transport_socket.typed_config;
    assert.deepEqual(
      tls.common_tls_context.combined_validation_context.default_validation_context
        .match_typed_subject_alt_names,
      [{ san_type: 'URI', matcher: { exact: 'spiffe://cluster.local/ns/default/sa/api' } }],
    );
    const passthrough = get(t.resources.clusters, 'PassthroughCluster');
    assert.equal(passthrough.type, 'ORIGINAL_DST');
    assert.equal(passthrough.transport_socket_matches, undefined);
  });

  it('gives an address and port to one service only, and warns', () => {
    const config = mesh(
      service('a', 'default', [[80, 'http']], { addresses: ['10.96.0.9'] }),
      service('b', 'default', [[80, 'http']], { addresses: ['10.96.0.9'] }),
    );
    const t = translateWorkload(config, workload());
    const out = get(t.resources.listeners, 'virtualOutbound');
    assert.ok(chain(out, 'outbound|80||a.default.svc.cluster.local'));
    assert.equal(
      out.filter_chains.find((c: Loose) => c.name === 'outbound|80||b.default.svc.cluster.local'),
      undefined,
    );
    assert.match(
      t.warnings.join('\n'),
      /address 10\.96\.0\.9 port 80 of service b\.default is already matched for a\.default/,
    );
  });

  it('keeps the first service of a shared TCP port and warns', () => {
    const config = mesh(
      service('b', 'default', [[6379, 'tcp']]),
      service('a', 'default', [[6379, 'tcp']]),
      service('h', 'default', [[6379, 'http']]),
    );
    const t = translateWorkload(config, workload());
    const out = get(t.resources.listeners, 'virtualOutbound');
    assert.deepEqual(
      out.filter_chains.map((c: Loose) => c.name),
      [
        'virtualOutbound-http',
        'outbound|6379||a.default.svc.cluster.local',
        'PassthroughFilterChain',
      ],
    );
    assert.equal(t.warnings.length, 2, t.warnings.join('\n'));
  });

  it('adds no inbound listener without an app port', () => {
    const t = translateWorkload(FIXTURE_MESH, workload());
    assert.deepEqual(names(t.resources.listeners), ['virtualOutbound']);
    assert.deepEqual(
      names(t.resources.clusters).filter((n) => !n.startsWith('outbound-endpoint|')),
      ['PassthroughCluster'],
    );
    assert.equal(t.resources.routes.length, 0);
  });

  it('forwards inbound gRPC to the app over HTTP/2 with no route timeout', () => {
    const t = translateWorkload(FIXTURE_MESH, workload({ appPort: 50052, inboundPort: 25006 }));
    const inbound = get(t.resources.listeners, 'virtualInbound');
    assert.equal(inbound.address.socket_address.port_value, 25006);
    const hcm = inbound.filter_chains[0].filters[0].typed_config;
    assert.equal(hcm.rds.route_config_name, 'inbound|50052||');
    const cluster = get(t.resources.clusters, 'inbound|50052||');
    assert.equal(cluster.type, 'STATIC');
    assert.deepEqual(
      cluster.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address,
      { address: '127.0.0.1', port_value: 50052 },
    );
    assert.ok(cluster.typed_extension_protocol_options[HTTP_OPTIONS].explicit_http_config);
    const rc = get(t.resources.routes, 'inbound|50052||');
    assert.deepEqual(rc.virtual_hosts[0].domains, ['*']);
    assert.deepEqual(rc.virtual_hosts[0].routes[0].route, {
      cluster: 'inbound|50052||',
      timeout: { seconds: 0 },
    });
  });

  it('implies an undeclared service from the workload: HTTP/1.1 by default, else its protocol', () => {
    const plain = translateWorkload(FIXTURE_MESH, workload({ service: 'ghost', appPort: 7000 }));
    // PERMISSIVE (the mesh's mode): a TLS chain and a plaintext chain, with the same filters.
    assert.deepEqual(filterTypes(get(plain.resources.listeners, 'virtualInbound')), [
      'HttpConnectionManager',
      'HttpConnectionManager',
    ]);
    assert.equal(
      get(plain.resources.clusters, 'inbound|7000||').typed_extension_protocol_options,
      undefined,
    );

    const grpc = translateWorkload(
      FIXTURE_MESH,
      workload({ service: 'ghost', appPort: 7000, protocol: 'grpc' }),
    );
    assert.ok(get(grpc.resources.clusters, 'inbound|7000||').typed_extension_protocol_options);

    const tcp = translateWorkload(
      FIXTURE_MESH,
      workload({ service: 'ghost', appPort: 7000, protocol: 'tcp' }),
    );
    assert.deepEqual(filterTypes(get(tcp.resources.listeners, 'virtualInbound')), [
      'TcpProxy',
      'TcpProxy',
    ]);
    assert.equal(tcp.resources.routes.length, 0);
  });

  it('follows the downstream protocol for an app serving both HTTP/1.1 and gRPC', () => {
    const config = mesh(
      service('m', 'default', [
        [80, 'http'],
        [81, 'grpc'],
      ]),
    );
    const t = translateWorkload(config, workload({ service: 'm', appPort: 8000 }));
    const options = get(t.resources.clusters, 'inbound|8000||').typed_extension_protocol_options;
    assert.deepEqual(options[HTTP_OPTIONS].use_downstream_protocol_config, {
      http_protocol_options: {},
      http2_protocol_options: {},
    });
  });

  it('depends on nothing of the workload but its service, namespace, ports and protocol', () => {
    const a = translateWorkload(FIXTURE_MESH, workload({ appPort: 50052 }));
    const b = translateWorkload(
      FIXTURE_MESH,
      workload({ appPort: 50052, id: 'other', address: '10.9.9.9', labels: { x: 'y' }, zone: 'z' }),
    );
    assert.deepEqual(a, b);
  });
});
