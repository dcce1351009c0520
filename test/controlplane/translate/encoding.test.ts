/**
 * Everything translation produces is real Envoy configuration: each field exists in its
 * proto (proto-check.ts), encodeResource accepts it, and a proxyless gRPC client's own
 * validation (grpc-js-xds 1.14) accepts the resources it would fetch.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  type Resources,
  translateMesh,
  translateWorkload,
} from '../../../src/controlplane/translate/index.js';
import { encodeResource, envoyRoot, types } from '../../../src/xds/index.js';
import { fullMessageType } from './envoy-protos.js';
import { FIXTURE_MESH, TELEMETRY_MESH, workload } from './mesh-fixture.js';
import { protoProblems } from './proto-check.js';
import { everyResource } from './resource-helpers.js';

const SETS: ReadonlyArray<[string, Resources]> = [
  ['translateMesh', translateMesh(FIXTURE_MESH, ['tools']).resources],
  ['gRPC sidecar', translateWorkload(FIXTURE_MESH, workload({ appPort: 50052 })).resources],
  [
    'undeclared mixed sidecar',
    translateWorkload(FIXTURE_MESH, workload({ service: 'ghost', appPort: 7000 })).resources,
  ],
  [
    'TCP sidecar (STRICT, network RBAC)',
    translateWorkload(FIXTURE_MESH, workload({ service: 'db', namespace: 'data', appPort: 5433 }))
      .resources,
  ],
  [
    'HTTP/2 sidecar (DISABLE)',
    translateWorkload(FIXTURE_MESH, workload({ service: 'shop', namespace: 'shop', appPort: 8444 }))
      .resources,
  ],
  ['telemetry: translateMesh', translateMesh(TELEMETRY_MESH).resources],
  [
    'telemetry: HTTP sidecar',
    translateWorkload(TELEMETRY_MESH, workload({ service: 'api', appPort: 8080 })).resources,
  ],
  [
    'telemetry: TCP sidecar',
    translateWorkload(TELEMETRY_MESH, workload({ service: 'db', namespace: 'data', appPort: 5432 }))
      .resources,
  ],
];

/** Every `@type` in a resource, with where it is. */
function typeUrls(value: unknown, at = '', out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) typeUrls(v, `${at}[${i}]`, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) {
      if (k === '@type') out.push(`${at} ${String(v)}`);
      else typeUrls(v, `${at}.${k}`, out);
    }
  }
  return out;
}

const TO_OBJECT = { enums: String, longs: Number, json: true };

describe('translate: every resource is valid Envoy config', () => {
  it('(the field check itself finds typos, bad enums, wrong types and bad typed configs)', () => {
    const problems = protoProblems('envoy.config.cluster.v3.Cluster', {
      name: 'c',
      conect_timeout: { seconds: 1 },
      type: 'EDSS',
      per_connection_buffer_limit_bytes: { value: -1 },
      load_assignment: undefined,
      lb_policy: 'ROUND_ROBIN',
      typed_extension_protocol_options: {
        x: {
          '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
          explicit_http_config: { http2_protocol_option: {} },
        },
      },
    });
    assert.equal(problems.length, 5, problems.join('\n'));
  });

  for (const [label, resources] of SETS) {
    it(`${label}: no unknown field, bad enum or wrong type anywhere`, () => {
      const problems: string[] = [];
      for (const [typeUrl, r] of everyResource(resources)) {
        problems.push(...protoProblems(typeUrl.slice(typeUrl.lastIndexOf('/') + 1), r.value));
      }
      assert.deepEqual(problems, []);
    });

    it(`${label}: encodeResource accepts every resource`, () => {
      for (const [typeUrl, r] of everyResource(resources)) {
        assert.doesNotThrow(() => encodeResource(typeUrl, r.value), r.name);
      }
    });

    it(`${label}: every typed config survives encoding and decoding with the real protos`, () => {
      for (const [typeUrl, r] of everyResource(resources)) {
        const type = fullMessageType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
        const bytes = type.encode(type.fromObject(r.value as Record<string, unknown>)).finish();
        const decoded = type.toObject(type.decode(bytes), TO_OBJECT);
        assert.deepEqual(typeUrls(decoded).sort(), typeUrls(r.value).sort(), r.name);
      }
    });

    // Without its proto in src/xds/protos.ts ENTRY_FILES, protobufjs encodes a typed config
    // as an empty Any, silently: Envoy would NACK it and the sidecar would not see it.
    it(`${label}: the control plane's own protos know every typed config`, () => {
      const unknown = new Set<string>();
      for (const [, r] of everyResource(resources)) {
        for (const entry of typeUrls(r.value)) {
          const name = entry.slice(entry.lastIndexOf('/') + 1);
          try {
            envoyRoot().lookupType(name);
          } catch {
            unknown.add(name);
          }
        }
      }
      assert.deepEqual([...unknown], []);
    });
  }
});

// grpc-js-xds's resource validation, exactly as its xDS client runs it on a response.
const require = createRequire(import.meta.url);
const XDS_BUILD = '@grpc/grpc-js-xds/build/src';
interface XdsResourceType {
  decode(
    context: object,
    resource: { type_url: string; value: Buffer },
  ): { name: string; error?: string };
}
function resourceType(file: string, exported: string): XdsResourceType {
  return require(`${XDS_BUILD}/xds-resource-type/${file}`)[exported].get();
}

describe('translate: proxyless gRPC (grpc-js-xds) accepts what it fetches', () => {
  before(() => {
    // Registers the router filter, which grpc-js-xds requires last in every HCM, and the
    // fault filter (gRFC A33), which it runs itself; both as grpc-js-xds's index does.
    require(`${XDS_BUILD}/http-filter/router-filter`).setup();
    require(`${XDS_BUILD}/http-filter/fault-injection-filter`).setup();
  });

  const validators: Record<keyof Resources, XdsResourceType> = {
    listeners: resourceType('listener-resource-type', 'ListenerResourceType'),
    routes: resourceType('route-config-resource-type', 'RouteConfigurationResourceType'),
    clusters: resourceType('cluster-resource-type', 'ClusterResourceType'),
    endpoints: resourceType('endpoint-resource-type', 'EndpointResourceType'),
  };
  const context = { server: {}, bootstrap: { certificateProviders: {} } };
  const shared = translateMesh(FIXTURE_MESH).resources;

  for (const kind of Object.keys(validators) as (keyof Resources)[]) {
    it(`${kind}`, () => {
      const typeUrl = {
        listeners: types.LISTENER,
        routes: types.ROUTE,
        clusters: types.CLUSTER,
        endpoints: types.ENDPOINT,
      }[kind];
      const type = fullMessageType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
      const errors: string[] = [];
      for (const r of shared[kind]) {
        const bytes = type.encode(type.fromObject(r.value as Record<string, unknown>)).finish();
        const decoded = validators[kind].decode(context, {
          type_url: typeUrl,
          value: Buffer.from(bytes),
        });
        if (decoded.error) errors.push(`${r.name}: ${decoded.error}`);
      }
      // The fixture's db service balances with least_request, which grpc-js-xds rejects
      // (a warning says so); everything else must pass.
      assert.deepEqual(
        errors.map((e) => e.split(':')[0]),
        kind === 'clusters' ? ['outbound|5432||db.data.svc.cluster.local'] : [],
        errors.join('\n'),
      );
    });
  }

  // Why mTLS sits in transport_socket_matches: grpc-js-xds validates a cluster's
  // transport_socket and accepts only its own certificate providers, so the same TLS there
  // would make every proxyless client NACK the cluster.
  it('(grpc-js-xds rejects the same UpstreamTlsContext as a cluster transport_socket)', () => {
    const echo = shared.clusters.find(
      (c) => c.name === 'outbound|50051||echo.default.svc.cluster.local',
    );
    const value = echo?.value as { transport_socket_matches?: Array<{ transport_socket: object }> };
    assert.ok(value.transport_socket_matches, 'echo has meshed endpoints');
    const { transport_socket_matches: matches, ...rest } = value;
    const moved = { ...rest, transport_socket: matches[0].transport_socket };
    const type = fullMessageType('envoy.config.cluster.v3.Cluster');
    const decoded = validators.clusters.decode(context, {
      type_url: types.CLUSTER,
      value: Buffer.from(type.encode(type.fromObject(moved)).finish()),
    });
    assert.match(String(decoded.error), /tls_certificate_provider_instance unset|tls_params set/);
  });
});
