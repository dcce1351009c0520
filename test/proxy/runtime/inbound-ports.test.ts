/**
 * Every port of the pod, at config time: from resources as the control plane translates
 * them (through the wire), where a connection captured on another port of the pod goes:
 * that port of the app, with the protocol its service declares for it (or detected), the
 * inbound routes kept and their cluster pointed at that port, HTTP/2 for HTTP/2 clients.
 */
import assert from 'node:assert/strict';
import type { MeshConfig } from '../../../src/mesh/index.js';
import type { RouteView } from '../../../src/proxy/http/index.js';
import {
  assembleRuntime,
  declaredPorts,
  InboundPorts,
  inboundDestination,
} from '../../../src/proxy/runtime/index.js';
import { types } from '../../../src/xds/index.js';
import type { ProxyConfig } from '../../../src/xds-client/index.js';
import { mesh, service, workload } from '../../controlplane/translate/mesh-fixture.js';
import { wireProxyConfig } from './wire-config.js';

/** A connection captured on `port` of the pod (its address 10.0.0.9, as the workload's). */
const at = (port: number, address = '10.0.0.9') => inboundDestination(address, port);

function proxyConfig(config: MeshConfig, appPort: number): ProxyConfig {
  return wireProxyConfig(config, workload({ service: 'shop', appPort }));
}

function inboundPorts(
  config: MeshConfig,
  appPort: number,
): { ports: InboundPorts; view: RouteView } {
  const source = proxyConfig(config, appPort);
  const r = assembleRuntime(source, undefined, Math.random);
  assert.deepEqual(r.warnings, []);
  const view = r.config.inbound;
  return {
    ports: InboundPorts.compile(source, view, 'shop', 'default', new Set([5432]), Math.random),
    view,
  };
}

/** The host a view's inbound route reaches: the cluster behind the base cluster's name. */
function upstream(view: RouteView | undefined): string | undefined {
  const cluster = view?.clusters.get('inbound|8080||');
  return cluster
    ? `${cluster.name} ${cluster.hostSet.hosts[0]?.key} ${cluster.protocol}`
    : undefined;
}

describe('sidecar: every port of the pod (inbound ports)', () => {
  // With a virtual IP, every port of the service has its outbound chain, HTTP ones too.
  const shop = mesh(
    service(
      'shop',
      'default',
      [
        [8080, 'http'],
        [9000, 'tcp'],
        [8081, 'http'],
      ],
      { addresses: ['10.96.0.10'] },
    ),
  );

  it("leaves the app port to the configuration's own inbound cluster", () => {
    const { ports } = inboundPorts(shop, 8080);
    assert.equal(ports.active, true);
    assert.equal(ports.defaultPort, 8080);
    assert.equal(ports.target(at(8080)), undefined);
  });

  it('sends another port to that port of the app at the address it was sent to (not loopback), with the protocol the service declares', () => {
    const { ports, view } = inboundPorts(shop, 8080);
    const tcp = ports.target(at(9000))!;
    assert.equal(tcp.kind, 'tcp');
    assert.equal(tcp.cluster.hostSet.hosts[0]?.key, '10.0.0.9:9000');
    assert.equal(tcp.http1, undefined);
    const http = ports.target(at(8081))!;
    assert.equal(http.kind, 'http');
    assert.equal(upstream(http.http1), 'inbound|8081|| 10.0.0.9:8081 http1');
    assert.equal(upstream(http.http2), 'inbound|8081|| 10.0.0.9:8081 http2');
    // The routes, authorization and telemetry are the inbound listener's own.
    assert.equal(http.http1?.table, view.table);
    assert.equal(http.http1?.rbac, view.rbac);
    // The configuration's view is not changed.
    assert.equal(upstream(view), 'inbound|8080|| 127.0.0.1:8080 http1');
    // Built once per destination; the pod's IPv6 address is another one.
    assert.equal(ports.target(at(8081)), http);
    const v6 = ports.target(at(8081, 'fd00::9'))!;
    assert.notEqual(v6, http);
    assert.equal(v6.cluster.hostSet.hosts[0]?.key, '[fd00::9]:8081');
  });

  it('detects undeclared ports; opaque ports are TCP at once', () => {
    const { ports } = inboundPorts(shop, 8080);
    const grpc = ports.target(at(50051))!;
    assert.equal(grpc.kind, 'detect');
    assert.equal(upstream(grpc.http2), 'inbound|50051|| 10.0.0.9:50051 http2');
    assert.equal(ports.target(at(5432))?.kind, 'tcp');
  });

  it('a tcp-only service has no routes: every port is TCP', () => {
    const { ports } = inboundPorts(mesh(service('shop', 'default', [[9000, 'tcp']])), 9000);
    assert.equal(ports.defaultPort, 9000);
    const other = ports.target(at(7000))!;
    assert.equal(other.kind, 'tcp');
    assert.equal(other.cluster.hostSet.hosts[0]?.key, '10.0.0.9:7000');
  });

  it('without an inbound cluster (no app port) nothing is redirected elsewhere', () => {
    const source = proxyConfig(shop, 8080);
    const clusters = new Map([...source.clusters].filter(([n]) => !n.startsWith('inbound|')));
    const ports = InboundPorts.compile(
      { ...source, clusters },
      { table: undefined, clusters: new Map() },
      'shop',
      'default',
      new Set(),
      Math.random,
    );
    assert.equal(ports.active, false);
    assert.equal(ports.target(at(9000)), undefined);
  });

  it("reads the declared ports from the outbound listener's chains for its own service only", () => {
    const config = mesh(
      service('shop', 'default', [
        [8080, 'http'],
        [9000, 'tcp'],
      ]),
      service('db', 'default', [[5433, 'tcp']]),
    );
    const source = proxyConfig(config, 8080);
    const declared = declaredPorts(
      source.listeners.get(types.VIRTUAL_OUTBOUND)?.value,
      'shop',
      'default',
    );
    // Without a virtual IP only the TCP ports have chains: HTTP ones are detected.
    assert.deepEqual([...declared], [[9000, 'tcp']]);
    assert.equal(inboundPorts(config, 8080).ports.target(at(8081))?.kind, 'detect');
    const withVip = proxyConfig(shop, 8080).listeners.get(types.VIRTUAL_OUTBOUND)?.value;
    assert.deepEqual(
      [...declaredPorts(withVip, 'shop', 'default')].sort(([a], [b]) => a - b),
      [
        [8080, 'http'],
        [8081, 'http'],
        [9000, 'tcp'],
      ],
    );
  });
});
