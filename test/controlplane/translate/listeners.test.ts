import assert from 'node:assert/strict';
import { translateWorkload } from '../../../src/controlplane/translate/index.js';
import { FIXTURE_MESH, mesh, service, workload } from './mesh-fixture.js';
import { get, type Loose, names } from './resource-helpers.js';

const HTTP_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';

function filterTypes(listener: Loose): string[] {
  return listener.filter_chains.map((c: Loose) =>
    c.filters[0].typed_config['@type'].split('.').at(-1),
  );
}

describe('translate: sidecar listeners', () => {
  it('routes outbound HTTP through the namespace route configuration and TCP by port', () => {
    const t = translateWorkload(FIXTURE_MESH, workload({ namespace: 'shop', outboundPort: 25001 }));
    assert.deepEqual(names(t.resources.listeners), ['virtualOutbound']);
    const out = get(t.resources.listeners, 'virtualOutbound');
    assert.deepEqual(out.address, { socket_address: { address: '0.0.0.0', port_value: 25001 } });
    const hcm = out.filter_chains[0].filters[0].typed_config;
    assert.equal(hcm.codec_type, 'AUTO');
    assert.equal(hcm.stat_prefix, 'outbound_0.0.0.0_25001');
    assert.equal(hcm.rds.route_config_name, 'outbound.shop');
    assert.equal(out.filter_chains[0].filter_chain_match, undefined);
    assert.deepEqual(out.filter_chains[1].filter_chain_match, {
      destination_port: { value: 5432 },
    });
    assert.deepEqual(filterTypes(out), ['HttpConnectionManager', 'TcpProxy']);
    assert.equal(
      out.filter_chains[1].filters[0].typed_config.cluster,
      'outbound|5432||db.data.svc.cluster.local',
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
    assert.equal(out.filter_chains.length, 2);
    assert.equal(
      out.filter_chains[1].filters[0].typed_config.cluster,
      'outbound|6379||a.default.svc.cluster.local',
    );
    assert.equal(t.warnings.length, 2, t.warnings.join('\n'));
  });

  it('adds no inbound listener without an app port', () => {
    const t = translateWorkload(FIXTURE_MESH, workload());
    assert.deepEqual(names(t.resources.listeners), ['virtualOutbound']);
    assert.equal(t.resources.clusters.length, 0);
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
