/**
 * The sidecars' side of the egress gateway: the declared http hosts in every outbound route
 * configuration, routed to a cluster whose endpoints are the connected egress gateway nodes
 * (the registry keeps them from their node metadata), decoded from protobuf as sidecars get them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { Registry } from '../../../src/controlplane/index.js';
import { buildShared } from '../../../src/controlplane/snapshot.js';
import type { Resources } from '../../../src/controlplane/translate/index.js';
import { type MeshConfig, parseMesh } from '../../../src/mesh/index.js';
import {
  decodeResource,
  encodeResource,
  gatewayFromNode,
  jsonToStruct,
} from '../../../src/xds/index.js';
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
    // The tls host is not routed by sidecars (not done: TLS through the gateway).
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
    const endpoints = (config: MeshConfig) =>
      (
        decodedOne(shared(config), 'clusters', CLUSTER).load_assignment.endpoints[0].lb_endpoints ??
        []
      ).map((e: Loose) => e.endpoint.address.socket_address);
    assert.deepEqual(endpoints(registry.view()), [
      { address: '10.1.0.8', port_value: 8180 },
      { address: '10.1.0.9', port_value: 8080 },
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

  it('a mesh without http egress hosts has no gateway cluster and no egress virtual host', () => {
    const resources = shared(
      mesh(`services: []
egress:
  gateway: istio-system/egress
  hosts:
    - { host: api.example.com, port: 443, protocol: tls }
`),
    );
    assert.ok(!resources.clusters.some((c) => c.name.includes('egress.istio-system')));
  });
});
