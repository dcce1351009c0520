/** The primary's metrics: workers' registries rendered for real, then summed. */
import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../../src/metrics/index.js';
import { cpuLimitOf, sumPrometheusText } from '../../../src/proxy/workers/index.js';

function worker(requests: number, open: number, version: number, latencies: number[]): string {
  const m = new MetricsRegistry();
  m.counter('istio_requests_total', 'Requests.', ['reporter', 'response_code'])
    .labels('source', '200')
    .inc(requests);
  m.gauge('ferry_proxy_downstream_connections', 'Open connections.').labels().set(open);
  m.gauge('ferry_proxy_config_version', 'Config version.').labels().set(version);
  const h = m
    .histogram('istio_request_duration_milliseconds', 'Latency.', [], [1, 10, 100])
    .labels();
  for (const l of latencies) h.observe(l);
  return m.render();
}

describe('summing workers’ metrics', () => {
  it('adds counters, histograms and count gauges; keeps one value of a shared gauge', () => {
    const text = sumPrometheusText([worker(3, 2, 7, [0.5, 50]), worker(4, 1, 7, [5])]);
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      assert.ok(line, `${series} in\n${text}`);
      return Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    assert.equal(value('istio_requests_total{reporter="source",response_code="200"}'), 7);
    assert.equal(value('ferry_proxy_downstream_connections'), 3);
    assert.equal(value('ferry_proxy_config_version'), 7);
    assert.equal(value('istio_request_duration_milliseconds_bucket{le="1"}'), 1);
    assert.equal(value('istio_request_duration_milliseconds_bucket{le="10"}'), 2);
    assert.equal(value('istio_request_duration_milliseconds_count'), 3);
    assert.equal(value('istio_request_duration_milliseconds_sum'), 55.5);
    // One HELP and TYPE per family, as one process renders them.
    assert.equal(
      text.split('\n').filter((l) => l === '# TYPE istio_requests_total counter').length,
      1,
    );
  });
});

describe('default concurrency', () => {
  it('reads cgroup v2 cpu.max: quota over period, rounded up; no limit is undefined', () => {
    assert.equal(cpuLimitOf('200000 100000\n'), 2);
    assert.equal(cpuLimitOf('150000 100000'), 2);
    assert.equal(cpuLimitOf('50000 100000'), 1);
    assert.equal(cpuLimitOf('max 100000'), undefined);
    assert.equal(cpuLimitOf('garbage'), undefined);
  });
});
