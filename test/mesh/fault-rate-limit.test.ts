import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { API_HEAD, configOf, errorSummary, lines } from './mesh-fixtures.js';

describe('mesh file: fault injection and rate limits', () => {
  // Errors come sorted by line, schema and semantic ones together.
  it('reads route and policy faults, with header conditions in lower case', () => {
    const [api] = configOf(
      lines(
        ...API_HEAD,
        '    policy:',
        '      fault: { abort: { httpStatus: 503, percentage: 0.5 } }',
        '    routes:',
        '      - name: slow',
        '        fault:',
        '          delay: { fixed: 100ms, percentage: 10 }',
        '          abort: { grpcStatus: UNAVAILABLE, percentage: 5 }',
        '          headers: { X-Fault: { exact: "on" } }',
      ),
    ).services;
    assert.deepEqual(api.policy.fault, {
      abort: { httpStatus: 503, percentage: 0.5 },
      headers: [],
    });
    assert.deepEqual(api.routes[0].fault, {
      delay: { fixedDelayMs: 100, percentage: 10 },
      abort: { grpcStatus: 14, percentage: 5 },
      headers: [{ name: 'x-fault', match: { exact: 'on' }, invert: false }],
    });
  });

  it('reads rate limits of services and routes, burst defaulting to 0', () => {
    const [api] = configOf(
      lines(
        ...API_HEAD,
        '    policy:',
        '      rateLimit: { requestsPerUnit: 100, unit: second, burst: 20 }',
        '    routes:',
        '      - name: search',
        '        rateLimit: { requestsPerUnit: 600, unit: minute }',
      ),
    ).services;
    assert.deepEqual(api.policy.rateLimit, { requestsPerUnit: 100, unit: 'second', burst: 20 });
    assert.deepEqual(api.routes[0].rateLimit, { requestsPerUnit: 600, unit: 'minute', burst: 0 });
    assert.equal(api.routes[0].fault, undefined);
  });

  it('collects every error in one pass, each at its line and field', () => {
    const errors = errorSummary(
      lines(
        ...API_HEAD,
        '    policy:', // 5
        '      fault: { headers: { x-fault: { exact: "on" } } }', // 6
        '      rateLimit: { requestsPerUnit: 0, unit: hour }', // 7
        '    routes:', // 8
        '      - name: a', // 9
        '        fault:', // 10
        '          delay: { fixed: 0s, percentage: 150 }', // 11
        '          abort: { httpStatus: 503, grpcStatus: UNAVAILABLE, percentage: 5 }', // 12
        '      - name: b', // 13
        '        fault:', // 14
        '          abort: { grpcStatus: OK, percentage: 5 }', // 15
        '        rateLimit: { unit: second, burst: -1 }', // 16
      ),
    );
    assert.deepEqual(errors, [
      '6 services[0].policy.fault: needs delay, abort or both',
      '7 services[0].policy.rateLimit.requestsPerUnit: must be at least 1; got 0',
      "7 services[0].policy.rateLimit.unit: must be one of second, minute; got 'hour'",
      '11 services[0].routes[0].fault.delay.fixed: must be greater than 0',
      '11 services[0].routes[0].fault.delay.percentage: must be at most 100; got 150',
      '12 services[0].routes[0].fault.abort: needs exactly one of httpStatus, grpcStatus; has both',
      "15 services[0].routes[1].fault.abort.grpcStatus: must be one of CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED; got 'OK'",
      "16 services[0].routes[1].rateLimit.requestsPerUnit: required property 'requestsPerUnit' is missing",
      '16 services[0].routes[1].rateLimit.burst: must be at least 0; got -1',
    ]);
  });

  it('refuses a fault or rate limit on a service with only tcp ports', () => {
    const errors = errorSummary(
      lines(
        'services:',
        '  - name: db',
        '    ports: [{ port: 5432, protocol: tcp }]',
        '    policy:', // 4
        '      rateLimit: { requestsPerUnit: 10, unit: second }', // 5
        '      fault: { abort: { httpStatus: 503, percentage: 1 } }', // 6
      ),
    );
    assert.deepEqual(errors, [
      '5 services[0].policy.rateLimit: rateLimit applies to http, http2 and grpc ports, and this service has only tcp ports',
      '6 services[0].policy.fault: fault applies to http, http2 and grpc ports, and this service has only tcp ports',
    ]);
  });
});
