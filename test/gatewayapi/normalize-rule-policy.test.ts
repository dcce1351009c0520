/**
 * An HTTPRoute rule's timeouts (GEP-1742), retry (GEP-1731) and sessionPersistence (GEP-1619)
 * as the mesh file reads them: defaults as the CRDs give them, and the CRDs' checks (their
 * patterns and CEL rules) reported at the line of the field that breaks them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { parseGatewayDuration } from '../../src/gatewayapi/normalize-rule-policy.js';
import { API_HEAD, configOf, errorSummary, expectError, lines } from '../mesh/mesh-fixtures.js';

/** A Gateway and an HTTPRoute whose one rule ends on line 18; a test adds the rule's fields. */
const HEAD = [
  ...API_HEAD,
  'gatewayApi:', // 5
  '  - apiVersion: gateway.networking.k8s.io/v1',
  '    kind: Gateway',
  '    metadata: { name: gw }',
  '    spec:',
  '      gatewayClassName: ferry', // 10
  '      listeners: [{ name: http, port: 80, protocol: HTTP }]',
  '  - apiVersion: gateway.networking.k8s.io/v1',
  '    kind: HTTPRoute',
  '    metadata: { name: web }',
  '    spec:', // 15
  '      parentRefs: [{ name: gw }]',
  '      rules:',
  '        - backendRefs: [{ name: api, port: 8080 }]', // 18
];

function rule(...fields: string[]) {
  const config = configOf(lines(...HEAD, ...fields));
  const route = config.gatewayApi!.routes[0];
  assert.ok(route.kind === 'HTTPRoute');
  return route.rules[0];
}

describe('gatewayapi: a rule’s timeouts, retry and sessionPersistence', () => {
  it('reads them as the Gateway API documentation writes them', () => {
    const r = rule(
      '          timeouts: { request: 10s, backendRequest: 2s }',
      '          retry: { codes: [500, 502, 503], attempts: 2, backoff: 100ms }',
      '          sessionPersistence:',
      '            sessionName: my-session',
      '            type: Cookie',
      '            absoluteTimeout: 1h',
      '            cookieConfig: { lifetimeType: Permanent }',
    );
    assert.deepEqual(r.timeouts, { requestMs: 10_000, backendRequestMs: 2000 });
    assert.deepEqual(r.retry, { codes: [500, 502, 503], attempts: 2, backoffMs: 100 });
    assert.deepEqual(r.sessionPersistence, {
      type: 'Cookie',
      sessionName: 'my-session',
      absoluteTimeoutMs: 3_600_000,
      lifetimeType: 'Permanent',
    });
  });

  it('defaults sessionPersistence to a Session cookie, and leaves absent fields out', () => {
    const r = rule('          sessionPersistence: {}', '          retry: {}');
    assert.deepEqual(r.sessionPersistence, { type: 'Cookie', lifetimeType: 'Session' });
    assert.deepEqual(r.retry, { codes: [] });
    assert.equal(r.timeouts, undefined);
  });

  it('refuses a backendRequest longer than request, at backendRequest (the CRD’s CEL rule)', () => {
    expectError(
      lines(
        ...HEAD,
        '          timeouts:',
        '            request: 1s',
        '            backendRequest: 2s',
      ),
      'gatewayApi[1].spec.rules[0].timeouts.backendRequest',
      21,
      /backendRequest timeout cannot be longer than request timeout \(2s > 1s\)/,
    );
  });

  it('accepts any backendRequest when request is 0s (no limit)', () => {
    const r = rule('          timeouts: { request: 0s, backendRequest: 30s }');
    assert.deepEqual(r.timeouts, { requestMs: 0, backendRequestMs: 30_000 });
  });

  it('refuses a duration the Gateway API does not write (fractions, no unit) at its line', () => {
    const errors = errorSummary(
      lines(
        ...HEAD,
        '          timeouts:',
        '            request: 1.5s',
        '            backendRequest: 100',
      ),
    );
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors[0], /^20 gatewayApi\[1\]\.spec\.rules\[0\]\.timeouts\.request: /);
    assert.match(errors[1], /^21 gatewayApi\[1\]\.spec\.rules\[0\]\.timeouts\.backendRequest: /);
  });

  it('refuses a retry code outside 400..599 and a negative attempts, each at its line', () => {
    const errors = errorSummary(
      lines(
        ...HEAD,
        '          retry:',
        '            codes: [503, 600]',
        '            attempts: -1',
      ),
    );
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(errors[0], /^20 gatewayApi\[1\]\.spec\.rules\[0\]\.retry\.codes\[1\]: /);
    assert.match(errors[1], /^21 gatewayApi\[1\]\.spec\.rules\[0\]\.retry\.attempts: /);
  });

  it('refuses a Permanent cookie without absoluteTimeout (the CRD’s CEL rule)', () => {
    expectError(
      lines(
        ...HEAD,
        '          sessionPersistence:',
        '            cookieConfig:',
        '              lifetimeType: Permanent',
      ),
      'gatewayApi[1].spec.rules[0].sessionPersistence.cookieConfig.lifetimeType',
      21,
      /AbsoluteTimeout must be specified when cookie lifetimeType is Permanent/,
    );
  });

  it('refuses a session name that is not a cookie name', () => {
    expectError(
      lines(...HEAD, '          sessionPersistence:', '            sessionName: "a b;c"'),
      'gatewayApi[1].spec.rules[0].sessionPersistence.sessionName',
      20,
      /is not a valid cookie name/,
    );
  });

  it('reads Gateway API durations (GEP-2257) and nothing else', () => {
    assert.equal(parseGatewayDuration('500ms'), 500);
    assert.equal(parseGatewayDuration('1h30m'), 5_400_000);
    assert.equal(parseGatewayDuration('1m30s250ms'), 90_250);
    assert.equal(parseGatewayDuration('0s'), 0);
    for (const bad of ['1.5s', '100', '-1s', '1d', '123456s', '1s1s1s1s1s', '']) {
      assert.equal(parseGatewayDuration(bad), undefined, bad);
    }
  });
});
