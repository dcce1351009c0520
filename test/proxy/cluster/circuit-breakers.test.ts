import assert from 'node:assert/strict';
import {
  CircuitBreakers,
  DEFAULT_THRESHOLDS,
  parseThresholds,
} from '../../../src/proxy/cluster/index.js';

describe('proxy/cluster: circuit breakers', () => {
  it("uses Envoy's defaults, and a 20%/3 retry budget when no retry limit is set", () => {
    assert.deepEqual(parseThresholds({}), DEFAULT_THRESHOLDS);
    const t = parseThresholds({
      circuit_breakers: { thresholds: [{ priority: 'DEFAULT', max_requests: { value: 5 } }] },
    });
    assert.equal(t.maxRequests, 5);
    assert.equal(t.maxConnections, 1024);
    assert.deepEqual(t.retryBudget, { percent: 20, minConcurrency: 3 });
    // An explicit max_retries means Envoy's fixed limit, without a budget.
    const fixed = parseThresholds({
      circuit_breakers: { thresholds: [{ max_retries: { value: 1 } }] },
    });
    assert.equal(fixed.retryBudget, undefined);
    assert.equal(fixed.maxRetries, 1);
    // HIGH priority thresholds do not apply to default-priority routes.
    assert.equal(
      parseThresholds({
        circuit_breakers: { thresholds: [{ priority: 'HIGH', max_requests: { value: 1 } }] },
      }).maxRequests,
      1024,
    );
  });

  it('admits up to max_requests, then refuses and counts; a released slot admits again', () => {
    const b = new CircuitBreakers({ ...DEFAULT_THRESHOLDS, maxRequests: 2 });
    assert.equal(b.tryRequest(), true);
    assert.equal(b.tryRequest(), true);
    assert.equal(b.tryRequest(), false);
    assert.equal(b.requestOverflows, 1);
    b.releaseRequest();
    assert.equal(b.tryRequest(), true);
  });

  it('a retry budget allows retries in flight up to the larger of the minimum and the share', () => {
    const b = new CircuitBreakers({
      ...DEFAULT_THRESHOLDS,
      retryBudget: { percent: 20, minConcurrency: 3 },
    });
    for (let i = 0; i < 50; i++) b.tryRequest();
    const granted = Array.from({ length: 20 }, () => b.tryRetry()).filter(Boolean).length;
    assert.equal(granted, 10, '20% of 50 in flight');
    assert.equal(b.retryOverflows, 10);
    const few = new CircuitBreakers(DEFAULT_THRESHOLDS);
    few.tryRequest();
    assert.equal(
      [few.tryRetry(), few.tryRetry(), few.tryRetry(), few.tryRetry()].join(),
      'true,true,true,false',
    );
  });

  it('regression: max_connections bounds proxied connections; one over is an overflow', () => {
    const b = new CircuitBreakers({ ...DEFAULT_THRESHOLDS, maxConnections: 1 });
    assert.equal(b.tryConnection(), true);
    assert.equal(b.tryConnection(), false);
    assert.deepEqual([b.activeConnections, b.connectionOverflows], [1, 1]);
    // Request slots are a limit of their own.
    assert.equal(b.tryRequest(), true);
    b.releaseConnection();
    assert.equal(b.tryConnection(), true);
    assert.equal(b.connectionOverflows, 1);
  });
});
