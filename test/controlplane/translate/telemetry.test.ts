/**
 * The mesh file's telemetry in standard Envoy fields: HCM tracing with the OpenTelemetry
 * provider and random sampling, access_log on HCM and tcp_proxy, the collector's cluster, and
 * the propagation formats in the listener metadata.
 */
import assert from 'node:assert/strict';
import {
  checkConsistency,
  mergeResources,
  translateMesh,
  translateWorkload,
} from '../../../src/controlplane/translate/index.js';
import type { MeshConfig } from '../../../src/mesh/index.js';
import { expectGolden } from './golden.js';
import { MESH_SETTINGS, service, TELEMETRY_MESH, workload } from './mesh-fixture.js';

const API = workload({ service: 'api', appPort: 8080 });
const DB = workload({ service: 'db', namespace: 'data', appPort: 5432 });

/** The fields of an HCM's tracing these tests read. */
interface HcmTracing {
  readonly random_sampling: { readonly value: number };
  readonly provider: {
    readonly name: string;
    readonly typed_config: {
      readonly service_name: string;
      readonly http_service: { readonly http_uri: { readonly uri: string } };
    };
  };
}

/** The tracing of a listener's first chain's HTTP connection manager. */
function tracingOf(config: MeshConfig, w = API, name = 'virtualInbound'): HcmTracing {
  const l = translateWorkload(config, w).resources.listeners.find((r) => r.name === name);
  assert.ok(l, name);
  const chains = (l.value as { filter_chains: Array<{ filters: Array<{ typed_config: object }> }> })
    .filter_chains;
  const filters = chains[0].filters;
  return (filters[filters.length - 1].typed_config as { tracing: HcmTracing }).tracing;
}

describe('translate: telemetry', () => {
  it('golden: the shared resources carry the collector’s cluster', () => {
    expectGolden('telemetry-mesh.golden.json', translateMesh(TELEMETRY_MESH));
  });

  it('golden: an HTTP sidecar traces and logs to its service’s file', () => {
    expectGolden('telemetry-api.golden.json', translateWorkload(TELEMETRY_MESH, API));
  });

  it('golden: a TCP sidecar with access logs switched off', () => {
    expectGolden('telemetry-db.golden.json', translateWorkload(TELEMETRY_MESH, DB));
  });

  it('the sets are consistent (every collector cluster exists)', () => {
    const shared = translateMesh(TELEMETRY_MESH).resources;
    const errors = [API, DB].flatMap((w) =>
      checkConsistency(mergeResources(shared, translateWorkload(TELEMETRY_MESH, w).resources)),
    );
    assert.deepEqual(errors, []);
    // Without the shared set the collector's cluster is missing, and the check says so.
    const alone = checkConsistency(translateWorkload(TELEMETRY_MESH, API).resources);
    assert.deepEqual(
      [...new Set(alone.filter((e) => e.includes('tracing')))],
      [
        'listener virtualInbound tracing: cluster outbound|4317||otel-collector.observability does not exist',
        'listener virtualOutbound tracing: cluster outbound|4317||otel-collector.observability does not exist',
      ],
    );
  });

  it('OTLP over HTTP to an IP literal: a STATIC cluster and the request URL', () => {
    const config: MeshConfig = {
      ...TELEMETRY_MESH,
      mesh: {
        ...MESH_SETTINGS,
        telemetry: {
          tracing: {
            host: '::1',
            port: 4318,
            protocol: 'http',
            path: '/otlp/v1/traces',
            sampling: 100,
            propagation: ['b3multi'],
          },
        },
      },
    };
    const tracing = tracingOf(config, API, 'virtualOutbound');
    assert.deepEqual(tracing.random_sampling, { value: 100 });
    assert.equal(tracing.provider.name, 'envoy.tracers.opentelemetry');
    assert.deepEqual(
      tracing.provider.typed_config.http_service.http_uri.uri,
      'http://[::1]:4318/otlp/v1/traces',
    );
    assert.equal(tracing.provider.typed_config.service_name, 'api');
    const cluster = translateMesh(config).resources.clusters.find(
      (c) => c.name === 'outbound|4318||::1',
    );
    assert.equal((cluster?.value as { type?: string } | undefined)?.type, 'STATIC');
  });

  it('a collector that is a mesh service port uses that service’s cluster, not a second one', () => {
    const collector = service('otel', 'observability', [[4318, 'http']]);
    const config: MeshConfig = {
      mesh: {
        ...MESH_SETTINGS,
        telemetry: {
          tracing: {
            host: 'otel.observability.svc.cluster.local',
            port: 4318,
            protocol: 'http',
            path: '/v1/traces',
            sampling: 1,
            propagation: ['w3c'],
          },
        },
      },
      services: [...TELEMETRY_MESH.services, collector],
    };
    const names = translateMesh(config).resources.clusters.map((c) => c.name);
    assert.equal(
      names.filter((n) => n === 'outbound|4318||otel.observability.svc.cluster.local').length,
      1,
    );
  });

  it('without telemetry in the mesh file: no tracing, access_log or metadata (sidecar flags decide)', () => {
    const plain: MeshConfig = {
      mesh: MESH_SETTINGS,
      services: TELEMETRY_MESH.services.map((s) => ({ ...s, telemetry: undefined })),
    };
    for (const w of [API, DB]) {
      for (const r of translateWorkload(plain, w).resources.listeners) {
        const text = JSON.stringify(r.value);
        assert.doesNotMatch(text, /tracing|access_log|metadata/, r.name);
      }
    }
  });
});
