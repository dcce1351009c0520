import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { API_HEAD, configOf, errorSummary, lines } from './mesh-fixtures.js';

describe('mesh file: health checks and the panic threshold', () => {
  it('reads an HTTP check with status ranges, and applies the defaults where the file is silent', () => {
    const [api] = configOf(
      lines(
        ...API_HEAD,
        '    policy:',
        '      panicThreshold: 30',
        '      healthCheck:',
        '        http: { path: /healthz, expectedStatuses: [200, "300-399"] }',
        '        interval: 2s',
        '        healthyThreshold: 2',
      ),
    ).services;
    assert.deepEqual(api.policy.healthCheck, {
      kind: {
        type: 'http',
        path: '/healthz',
        expectedStatuses: [
          [200, 201],
          [300, 400],
        ],
      },
      intervalMs: 2000,
      timeoutMs: 1000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
    });
    assert.equal(api.policy.panicThreshold, 30);
  });

  it('reads TCP and gRPC checks, a subset check of its own, and 200 as the default status', () => {
    const [api, db] = configOf(
      lines(
        ...API_HEAD,
        '    policy:',
        '      healthCheck: { http: { path: /ready, host: api.internal } }',
        '    subsets:',
        '      - name: v2',
        '        labels: { version: v2 }',
        '        healthCheck: { grpc: { service: api.Api }, timeout: 250ms, unhealthyThreshold: 1 }',
        '  - name: db',
        '    ports: [{ port: 5432, protocol: tcp }]',
        '    policy: { healthCheck: { tcp: true, interval: 500ms } }',
      ),
    ).services;
    assert.deepEqual(api.policy.healthCheck?.kind, {
      type: 'http',
      path: '/ready',
      host: 'api.internal',
      expectedStatuses: [[200, 201]],
    });
    assert.deepEqual(api.subsets[0].healthCheck, {
      kind: { type: 'grpc', service: 'api.Api' },
      intervalMs: 10_000,
      timeoutMs: 250,
      healthyThreshold: 1,
      unhealthyThreshold: 1,
    });
    assert.deepEqual(db.policy.healthCheck?.kind, { type: 'tcp' });
    assert.equal(db.policy.healthCheck?.intervalMs, 500);
    assert.equal(api.policy.panicThreshold, undefined);
  });

  it('collects every error in one pass, each at its line and field', () => {
    const errors = errorSummary(
      lines(
        ...API_HEAD,
        '    policy:', // 5
        '      panicThreshold: 120', // 6
        '      healthCheck:', // 7
        '        http: { path: healthz, expectedStatuses: ["299-200", 700, "2xx"] }', // 8
        '        interval: 0s', // 9
        '        timeout: 2', // 10
        '        unhealthyThreshold: 0', // 11
        '        healthyTreshold: 2', // 12
        '    subsets:', // 13
        '      - name: v1', // 14
        '        labels: { version: v1 }', // 15
        '        healthCheck: { tcp: true, grpc: {} }', // 16
        '      - name: v2', // 17
        '        labels: { version: v2 }', // 18
        '        healthCheck: { interval: 5s }', // 19
      ),
    );
    const status =
      'expected an HTTP status code from 100 to 599, or an inclusive range of them such as "200-299"';
    assert.deepEqual(errors, [
      '6 services[0].policy.panicThreshold: must be at most 100; got 120',
      "8 services[0].policy.healthCheck.http.path: invalid value 'healthz': expected a path starting with '/'",
      '8 services[0].policy.healthCheck.http.expectedStatuses[0]: the range 299-200 is empty: its first status is above its last',
      `8 services[0].policy.healthCheck.http.expectedStatuses[1]: invalid value 700: ${status}`,
      `8 services[0].policy.healthCheck.http.expectedStatuses[2]: invalid value '2xx': ${status}`,
      '9 services[0].policy.healthCheck.interval: must be greater than 0',
      '10 services[0].policy.healthCheck.timeout: invalid value 2: expected a duration with a unit: ms, s, m or h, e.g. 250ms, 1.5s, 1m30s. A bare number is not accepted',
      '11 services[0].policy.healthCheck.unhealthyThreshold: must be at least 1; got 0',
      "12 services[0].policy.healthCheck.healthyTreshold: unknown property 'healthyTreshold'; did you mean 'healthyThreshold'?",
      '16 services[0].subsets[0].healthCheck: needs exactly one of http, tcp, grpc; has tcp, grpc',
      '19 services[0].subsets[1].healthCheck: needs exactly one of http, tcp, grpc',
    ]);
  });
});
