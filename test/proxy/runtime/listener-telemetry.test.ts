/**
 * What a sidecar reads of a listener's telemetry, from resources as the control plane
 * translates them and as they arrive over the wire (encoded, then decoded), and what it
 * refuses (NACKs) or leaves to its flags.
 */
import assert from 'node:assert/strict';
import type { MeshConfig } from '../../../src/mesh/index.js';
import { endpointPeer } from '../../../src/proxy/http/index.js';
import { assembleRuntime } from '../../../src/proxy/runtime/index.js';
import { types } from '../../../src/xds/index.js';
import type { ProxyConfig } from '../../../src/xds-client/index.js';
import {
  endpoint,
  MESH_SETTINGS,
  service,
  TELEMETRY_MESH,
  workload,
} from '../../controlplane/translate/mesh-fixture.js';
import { compileError, wireProxyConfig } from './wire-config.js';

/** The proxy config a sidecar of `w` would assemble, every resource through the wire. */
function proxyConfig(
  config: MeshConfig,
  w = workload({ service: 'api', appPort: 8080 }),
): ProxyConfig {
  return wireProxyConfig(config, w);
}

function telemetryOf(config: MeshConfig, w?: Parameters<typeof proxyConfig>[1]) {
  const r = assembleRuntime(proxyConfig(config, w), undefined, Math.random);
  assert.deepEqual(r.warnings, []);
  return r.config.telemetry;
}

describe('sidecar: telemetry read from the listeners', () => {
  it("reads the cluster name and the peer switch from the listeners, and each endpoint's workload from EDS, through the wire", () => {
    const reviews = service('reviews', 'shop', [[9080, 'http']], {
      endpoints: [
        endpoint(
          '10.0.0.5',
          { 9080: 15006 },
          {
            labels: { app: 'reviews', version: 'v2' },
            meshed: true,
            serviceAccount: 'bookinfo-reviews',
          },
        ),
      ],
    });
    const named: MeshConfig = {
      mesh: { ...MESH_SETTINGS, telemetry: { clusterName: 'east-1' } },
      services: [reviews],
    };
    const r = assembleRuntime(proxyConfig(named), undefined, Math.random);
    assert.deepEqual(r.warnings, []);
    assert.equal(r.config.telemetry.inbound.clusterName, 'east-1');
    assert.equal(r.config.telemetry.inbound.peerMetadata, undefined, 'on unless switched off');
    const host = r.config.clusters.get('outbound|9080||reviews.shop.svc.cluster.local')?.hostSet
      .hosts[0];
    assert.deepEqual(endpointPeer(host?.metadata, true), {
      workload: 'reviews-v2',
      namespace: 'shop',
      app: 'reviews',
      version: 'v2',
      canonicalService: 'reviews',
      canonicalRevision: 'v2',
      cluster: 'east-1',
      principal: 'spiffe://cluster.local/ns/shop/sa/bookinfo-reviews',
    });
    const off = telemetryOf({
      mesh: { ...MESH_SETTINGS, telemetry: { peerMetadata: false } },
      services: [reviews],
    });
    assert.equal(off.inbound.peerMetadata, false);
    assert.equal(off.outbound.peerMetadata, false);
  });

  it('reads the mesh’s gRPC collector, sampling, propagation, service name and access log', () => {
    const t = telemetryOf(TELEMETRY_MESH);
    const tracing = {
      endpoint: 'http://otel-collector.observability:4317',
      protocol: 'grpc',
      sampling: 0.1,
      propagation: ['w3c', 'b3'],
      serviceName: 'api',
    };
    assert.deepEqual(t.outbound, { tracing, accessLog: '/var/log/ferry/api.jsonl' });
    assert.deepEqual(t.inbound, t.outbound);
  });

  it('reads logs switched off on purpose (a TCP sidecar) as off, not as unsaid', () => {
    const t = telemetryOf(
      TELEMETRY_MESH,
      workload({ service: 'db', namespace: 'data', appPort: 5432 }),
    );
    assert.equal(t.inbound.accessLog, 'off');
    assert.equal(t.outbound.accessLog, 'off');
  });

  it('standard output, and nothing said when the mesh file has no telemetry', () => {
    const stdout: MeshConfig = {
      mesh: { ...MESH_SETTINGS, telemetry: { accessLog: { enabled: true } } },
      services: TELEMETRY_MESH.services.map((s) => ({ ...s, telemetry: undefined })),
    };
    assert.deepEqual(telemetryOf(stdout).outbound, { accessLog: '-' });
    const plain: MeshConfig = { ...stdout, mesh: MESH_SETTINGS };
    assert.deepEqual(telemetryOf(plain), { outbound: {}, inbound: {} });
  });

  it('NACKs a tracing block it cannot follow; ignores a provider it does not speak', () => {
    const listener = (tracing: object) => ({
      name: 'virtualOutbound',
      filter_chains: [
        {
          filters: [
            {
              name: 'envoy.filters.network.http_connection_manager',
              typed_config: { '@type': types.HTTP_CONNECTION_MANAGER, tracing },
            },
          ],
        },
      ],
    });
    const otel = { '@type': 'type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig' };
    assert.match(
      String(
        compileError(
          types.LISTENER,
          'virtualOutbound',
          listener({ provider: { typed_config: otel } }),
        ),
      ),
      /no OTLP exporter address/,
    );
    assert.match(
      String(
        compileError(
          types.LISTENER,
          'virtualOutbound',
          listener({
            random_sampling: { value: 250 },
            provider: {
              typed_config: {
                ...otel,
                http_service: { http_uri: { uri: 'http://c:4318/v1/traces' } },
              },
            },
          }),
        ),
      ),
      /random_sampling 250 is not a percentage/,
    );
    const zipkin = { '@type': 'type.googleapis.com/envoy.config.trace.v3.ZipkinConfig' };
    assert.equal(
      compileError(
        types.LISTENER,
        'virtualOutbound',
        listener({ provider: { typed_config: zipkin } }),
      ),
      undefined,
    );
  });
});
