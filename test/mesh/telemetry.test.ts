import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { effectiveAccessLog } from '../../src/mesh/index.js';
import { configOf, errorsOf, lines } from './mesh-fixtures.js';

const SERVICES = [
  'services:',
  '  - name: api',
  '    ports: [{ port: 8080, protocol: http }]',
  '  - name: web',
  '    ports: [{ port: 80, protocol: http }]',
  '    telemetry:',
  '      accessLog: { enabled: true }',
];

/** Every error of `text` as `line:column field: message`, in file order. */
function summary(text: string): string[] {
  return errorsOf(text).map((e) => `${e.line}:${e.column} ${e.field}: ${e.message}`);
}

describe('mesh file: telemetry', () => {
  it('reads the mesh-wide tracing block with its defaults', () => {
    const config = configOf(
      lines(
        'mesh:',
        '  telemetry:',
        '    tracing: { collector: otel.observability:4318 }',
        ...SERVICES.slice(0, 3),
      ),
    );
    assert.deepEqual(config.mesh.telemetry, {
      tracing: {
        host: 'otel.observability',
        port: 4318,
        protocol: 'http',
        path: '/v1/traces',
        sampling: 100,
        propagation: ['w3c'],
      },
    });
  });

  it('reads gRPC export, sampling, propagation and an IPv6 collector', () => {
    const config = configOf(
      lines(
        'mesh:',
        '  telemetry:',
        '    tracing:',
        "      collector: '[::1]:4317'",
        '      protocol: grpc',
        '      sampling: 2.5',
        '      propagation: [b3, w3c]',
        ...SERVICES.slice(0, 3),
      ),
    );
    assert.deepEqual(config.mesh.telemetry?.tracing, {
      host: '::1',
      port: 4317,
      protocol: 'grpc',
      path: '/v1/traces',
      sampling: 2.5,
      propagation: ['b3', 'w3c'],
    });
  });

  it('a service’s access log overrides the mesh’s, taking the mesh’s path when it has none', () => {
    const config = configOf(
      lines('mesh:', '  telemetry:', '    accessLog: { enabled: false }', ...SERVICES),
    );
    const [api, web] = config.services;
    assert.deepEqual(effectiveAccessLog(api, config.mesh), { enabled: false });
    assert.deepEqual(effectiveAccessLog(web, config.mesh), { enabled: true });
    const withPath = configOf(
      lines('mesh:', '  telemetry:', '    accessLog: { enabled: false }', ...SERVICES),
    );
    assert.deepEqual(effectiveAccessLog(withPath.services[1], withPath.mesh), { enabled: true });
    const meshPath = {
      ...withPath.mesh,
      telemetry: { accessLog: { enabled: true, path: '/var/log/ferry.jsonl' } },
    };
    assert.deepEqual(effectiveAccessLog(withPath.services[1], meshPath), {
      enabled: true,
      path: '/var/log/ferry.jsonl',
    });
  });

  it('says nothing when the mesh file has no telemetry (sidecar flags decide)', () => {
    const config = configOf(lines(...SERVICES.slice(0, 5)));
    assert.equal(config.mesh.telemetry, undefined);
    assert.equal(effectiveAccessLog(config.services[0], config.mesh), undefined);
  });

  it('reports every mistake of a telemetry block at its line and field', () => {
    assert.deepEqual(
      summary(
        lines(
          'mesh:', // 1
          '  telemetry:', // 2
          '    tracing:', // 3
          '      collector: collector:99999', // 4
          '      protocol: grpc', // 5
          '      path: /v1/traces', // 6
          '      sampling: 150', // 7
          '      propagation: [w3c, zipkin]', // 8
          '    accessLog: { enabled: yes please }', // 9
          '    metrics: {}', // 10
          'services:', // 11
          '  - name: api', // 12
          '    ports: [{ port: 8080, protocol: http }]', // 13
          '    telemetry:', // 14
          '      accessLog: { path: relative.log }', // 15
        ),
      ),
      [
        '4:18 mesh.telemetry.tracing.collector: port 99999 is out of range 1..65535',
        '6:7 mesh.telemetry.tracing.path: path applies to protocol http; OTLP over gRPC has no request path',
        '7:17 mesh.telemetry.tracing.sampling: must be at most 100; got 150',
        "8:26 mesh.telemetry.tracing.propagation[1]: must be one of w3c, b3, b3multi; got 'zipkin'",
        "9:27 mesh.telemetry.accessLog.enabled: must be a boolean, not a string 'yes please'",
        "10:5 mesh.telemetry.metrics: unknown property 'metrics' (allowed: tracing, accessLog, clusterName, peerMetadata)",
        "15:18 services[0].telemetry.accessLog.enabled: required property 'enabled' is missing",
        "15:26 services[0].telemetry.accessLog.path: invalid value 'relative.log': expected an absolute file path for the lines, or - for standard output. Default standard output",
      ],
    );
  });

  it('needs a collector with a port', () => {
    assert.deepEqual(
      summary(
        lines(
          'mesh:',
          '  telemetry:',
          '    tracing: { collector: otel, sampling: 1 }',
          ...SERVICES.slice(0, 3),
        ),
      ),
      [
        "3:27 mesh.telemetry.tracing.collector: invalid value 'otel': expected the OTLP collector, host:port, e.g. otel-collector.observability:4318 or 127.0.0.1:4317 ([::1]:4317 for IPv6)",
      ],
    );
  });
});
