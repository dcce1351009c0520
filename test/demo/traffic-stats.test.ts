/** The traffic generator's arithmetic: latency quantiles and the summary line. */
import assert from 'node:assert/strict';
import { formatTrafficStats, LatencyHistogram, TrafficStats } from '../../src/demo/index.js';

describe('LatencyHistogram', () => {
  it('is 0 when empty', () => {
    assert.equal(new LatencyHistogram().quantile(0.5), 0);
  });

  it('gives p50 and p99 within 1%', () => {
    const h = new LatencyHistogram();
    for (let ms = 1; ms <= 1000; ms++) h.record(ms);
    assert.equal(h.count, 1000);
    const near = (actual: number, expected: number) =>
      assert.ok(Math.abs(actual - expected) <= expected * 0.01, `${actual} vs ${expected}`);
    near(h.quantile(0.5), 500);
    near(h.quantile(0.99), 990);
    near(h.quantile(1), 1000);
  });

  it('keeps sub-millisecond and very long latencies in range', () => {
    const h = new LatencyHistogram();
    h.record(0);
    h.record(0.003);
    h.record(10_000_000);
    assert.ok(h.quantile(0.1) <= 0.01);
    assert.ok(h.quantile(1) >= 600_000);
  });
});

describe('formatTrafficStats', () => {
  it('counts successes, reviews versions and failures by status and response flags', () => {
    const s = new TrafficStats(1000);
    for (let i = 0; i < 8; i++) s.record({ status: 200, ms: 5, reviewsVersion: 'v1' });
    s.record({ status: 200, ms: 5, reviewsVersion: 'v2' });
    s.record({ status: 200, ms: 5, reviewsVersion: 'v2' });
    s.record({ status: 502, ms: 20, reviewsVersion: undefined });
    s.record({ status: 503, ms: 20, reviewsVersion: undefined, flags: 'UF,URX' });
    s.record({ status: 0, ms: 5000, reviewsVersion: undefined });
    const line = formatTrafficStats('traffic', s, 3000);
    assert.match(
      line,
      /^traffic: 13 requests in 2\.0 s, 76\.9% ok, reviews v1 8 \(80%\) v2 2 \(20%\), p50 5\.0 ms, p99 \d+ ms, failed: 502 x1, 503 UF,URX x1, no response x1$/,
    );
  });

  it('says so when nothing was sent', () => {
    assert.equal(
      formatTrafficStats('total', new TrafficStats(0), 0),
      'total: 0 requests in 0.0 s, 0.0% ok, reviews -, p50 0.0 ms, p99 0.0 ms',
    );
  });
});
