import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import {
  backoffMs,
  parseRetryOn,
  RETRY_ON,
  type RetryPolicy,
  shouldRetryError,
  shouldRetryStatus,
} from '../../../src/proxy/router/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { compileError, forward, request, routes } from './helpers.js';

function policy(p: envoy.RetryPolicy): RetryPolicy {
  const m = forward(
    routes({ name: 'r', match: { prefix: '/' }, route: { cluster: 'c', retry_policy: p } }).match(
      request('h'),
    ),
  );
  assert.ok(m.retry);
  return m.retry;
}

function retryError(p: envoy.RetryPolicy): string {
  return compileError({
    virtual_hosts: [
      {
        name: 'v',
        domains: ['*'],
        routes: [{ name: 'r', match: { prefix: '/' }, route: { cluster: 'c', retry_policy: p } }],
      },
    ],
  });
}

describe('router: retry policies', () => {
  describe('retry_on', () => {
    it('parses every condition Envoy knows into bits', () => {
      const r = parseRetryOn(
        '5xx,gateway-error, reset ,connect-failure,refused-stream,retriable-4xx,retriable-status-codes',
      );
      assert.ok(r.ok);
      assert.equal(
        r.on,
        RETRY_ON.FIVE_XX |
          RETRY_ON.GATEWAY_ERROR |
          RETRY_ON.RESET |
          RETRY_ON.CONNECT_FAILURE |
          RETRY_ON.REFUSED_STREAM |
          RETRY_ON.RETRIABLE_4XX |
          RETRY_ON.RETRIABLE_STATUS_CODES,
      );
      const g = parseRetryOn('cancelled,deadline-exceeded,resource-exhausted,unavailable,internal');
      assert.ok(g.ok);
      assert.equal(
        g.on,
        RETRY_ON.GRPC_CANCELLED |
          RETRY_ON.GRPC_DEADLINE_EXCEEDED |
          RETRY_ON.GRPC_RESOURCE_EXHAUSTED |
          RETRY_ON.GRPC_UNAVAILABLE |
          RETRY_ON.GRPC_INTERNAL,
      );
      for (const name of [
        'retriable-headers',
        'envoy-ratelimited',
        'reset-before-request',
        'http3-post-connect-failure',
      ]) {
        assert.ok(parseRetryOn(name).ok, name);
      }
      assert.deepEqual(parseRetryOn(''), { ok: true, on: 0 });
      assert.deepEqual(parseRetryOn(undefined), { ok: true, on: 0 });
      assert.deepEqual(parseRetryOn('reset,,'), { ok: true, on: RETRY_ON.RESET });
    });

    it('gives every condition its own bit', () => {
      const bits = Object.values(RETRY_ON);
      assert.equal(new Set(bits).size, bits.length);
      for (const b of bits) assert.equal(b & (b - 1), 0);
    });

    it('names unknown conditions', () => {
      assert.deepEqual(parseRetryOn('5xx,bogus,Reset'), {
        ok: false,
        error: 'unknown retry_on conditions "bogus", "Reset"',
      });
      assert.match(
        retryError({ retry_on: '5xx,nope' }),
        /route #0 "r": retry_policy: unknown retry_on condition "nope"/,
      );
    });
  });

  describe('compiled fields', () => {
    it("has Envoy's defaults: 1 retry, no per-try timeout, 25 ms / 250 ms back-off", () => {
      const p = policy({ retry_on: '5xx' });
      assert.equal(p.numRetries, 1);
      assert.equal(p.perTryTimeoutMs, 0);
      assert.equal(p.backoffBaseMs, 25);
      assert.equal(p.backoffMaxMs, 250);
      assert.equal(p.hostSelectionMaxAttempts, 1);
      assert.equal(p.retriableStatusCodes.size, 0);
    });

    it('reads num_retries as a wrapper: {} is 0', () => {
      assert.equal(policy({ num_retries: { value: 3 } }).numRetries, 3);
      assert.equal(policy({ num_retries: {} }).numRetries, 0);
    });

    it('reads the per-try timeout, back-off, status codes and host attempts', () => {
      const p = policy({
        retry_on: 'retriable-status-codes',
        per_try_timeout: { nanos: 200_000_000 },
        retry_back_off: { base_interval: { seconds: 0, nanos: 100_000_000 } },
        retriable_status_codes: [503, 429],
        host_selection_retry_max_attempts: 3,
      });
      assert.equal(p.perTryTimeoutMs, 200);
      assert.equal(p.backoffBaseMs, 100);
      assert.equal(p.backoffMaxMs, 1000, 'max defaults to 10x base');
      assert.deepEqual([...p.retriableStatusCodes].sort(), [429, 503]);
      assert.equal(p.hostSelectionMaxAttempts, 3);
      const q = policy({
        retry_back_off: { base_interval: { nanos: 10_000_000 }, max_interval: { seconds: 1 } },
      });
      assert.equal(q.backoffBaseMs, 10);
      assert.equal(q.backoffMaxMs, 1000);
    });

    it('rejects a back-off without base, with base 0, or with max below base', () => {
      assert.match(retryError({ retry_back_off: {} }), /base_interval is required/);
      assert.match(retryError({ retry_back_off: { base_interval: {} } }), /greater than zero/);
      assert.match(
        retryError({
          retry_back_off: { base_interval: { seconds: 1 }, max_interval: { nanos: 1 } },
        }),
        /max_interval must not be less than base_interval/,
      );
      assert.match(retryError({ retriable_status_codes: [42] }), /42 is not an HTTP status/);
    });
  });

  describe('shouldRetryStatus', () => {
    it('5xx: every 5xx status', () => {
      const p = policy({ retry_on: '5xx' });
      assert.ok(shouldRetryStatus(p, 500, undefined));
      assert.ok(shouldRetryStatus(p, 599, undefined));
      assert.ok(!shouldRetryStatus(p, 499, undefined));
      assert.ok(!shouldRetryStatus(p, 200, undefined));
    });

    it('gateway-error: 502, 503, 504 only', () => {
      const p = policy({ retry_on: 'gateway-error' });
      assert.deepEqual(
        [500, 501, 502, 503, 504, 505].filter((s) => shouldRetryStatus(p, s, undefined)),
        [502, 503, 504],
      );
    });

    it('retriable-4xx: 409 only', () => {
      const p = policy({ retry_on: 'retriable-4xx' });
      assert.ok(shouldRetryStatus(p, 409, undefined));
      assert.ok(!shouldRetryStatus(p, 429, undefined));
    });

    it('retriable-status-codes: the listed codes, and only under that condition', () => {
      const p = policy({ retry_on: 'retriable-status-codes', retriable_status_codes: [429] });
      assert.ok(shouldRetryStatus(p, 429, undefined));
      assert.ok(!shouldRetryStatus(p, 503, undefined));
      const off = policy({ retry_on: 'reset', retriable_status_codes: [429] });
      assert.ok(!shouldRetryStatus(off, 429, undefined));
    });

    it('gRPC conditions read grpc-status', () => {
      const p = policy({ retry_on: 'unavailable,cancelled' });
      assert.ok(shouldRetryStatus(p, 200, 14));
      assert.ok(shouldRetryStatus(p, 200, 1));
      assert.ok(!shouldRetryStatus(p, 200, 4));
      assert.ok(!shouldRetryStatus(p, 200, 0));
      assert.ok(!shouldRetryStatus(p, 200, undefined));
      const all = policy({ retry_on: 'deadline-exceeded,resource-exhausted,internal' });
      assert.deepEqual(
        [1, 4, 8, 13, 14].filter((g) => shouldRetryStatus(all, 200, g)),
        [4, 8, 13],
      );
    });

    it('x-envoy-ratelimited responses are retried only under envoy-ratelimited', () => {
      const limited = { 'x-envoy-ratelimited': 'true' };
      assert.ok(!shouldRetryStatus(policy({ retry_on: '5xx' }), 503, undefined, limited));
      assert.ok(
        shouldRetryStatus(policy({ retry_on: 'envoy-ratelimited' }), 429, undefined, limited),
      );
    });

    it('retriable-headers matches response headers, :status included', () => {
      const p = policy({
        retry_on: 'retriable-headers',
        retriable_headers: [
          { name: 'x-retry', present_match: true },
          { name: ':status', string_match: { exact: '418' } },
        ],
      });
      assert.ok(shouldRetryStatus(p, 200, undefined, { 'x-retry': '1' }));
      assert.ok(shouldRetryStatus(p, 418, undefined, {}));
      assert.ok(!shouldRetryStatus(p, 200, undefined, {}));
      assert.ok(!shouldRetryStatus(p, 418, undefined));
    });
  });

  describe('shouldRetryError', () => {
    const kinds = ['connect-failure', 'reset', 'refused-stream', 'timeout'] as const;
    const retried = (retryOn: string) =>
      kinds.filter((k) => shouldRetryError(policy({ retry_on: retryOn }), k));

    it('5xx, gateway-error and reset retry every failure', () => {
      assert.deepEqual(retried('5xx'), [...kinds]);
      assert.deepEqual(retried('gateway-error'), [...kinds]);
      assert.deepEqual(retried('reset'), [...kinds]);
    });

    it('connect-failure, refused-stream and reset-before-request retry their own kind only', () => {
      assert.deepEqual(retried('connect-failure'), ['connect-failure']);
      assert.deepEqual(retried('refused-stream'), ['refused-stream']);
      assert.deepEqual(retried('reset-before-request'), ['connect-failure']);
    });

    it('status and gRPC conditions retry no failure', () => {
      assert.deepEqual(retried('retriable-4xx,retriable-status-codes,unavailable,cancelled'), []);
    });
  });

  describe('backoffMs', () => {
    const p = policy({ retry_on: '5xx' });

    it('is fully jittered below min(max, (2^n - 1) * base)', () => {
      assert.equal(backoffMs(p, 1, 0), 0);
      assert.ok(Math.abs(backoffMs(p, 1, 0.999999) - 25) < 0.001);
      assert.ok(Math.abs(backoffMs(p, 2, 0.999999) - 75) < 0.001);
      assert.ok(Math.abs(backoffMs(p, 3, 0.999999) - 175) < 0.001);
      assert.ok(Math.abs(backoffMs(p, 4, 0.999999) - 250) < 0.001, 'capped at max');
      assert.equal(backoffMs(p, 2, 0.5), 37.5);
    });

    it('stays within [0, max) for any retry number and random value', () => {
      for (const retry of [0, 1, 2, 5, 10, 64, 2000, Number.POSITIVE_INFINITY, -3]) {
        for (const random of [0, 0.25, 0.5, 0.999999, 1, -1, Number.NaN]) {
          const b = backoffMs(p, retry, random);
          assert.ok(b >= 0 && b < p.backoffMaxMs, `retry ${retry} random ${random}: ${b}`);
        }
      }
    });
  });
});
