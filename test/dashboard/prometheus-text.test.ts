/** The exposition-format parser: what Istio sidecars and Prometheus client libraries write. */
import assert from 'node:assert/strict';
import { type PrometheusTextError, parsePrometheusText } from '../../src/dashboard/index.js';
import { FakeSidecarMetrics } from './fake-sidecar-metrics.js';

describe('parsePrometheusText', () => {
  it('reads names, labels, values, skipping comments, blank lines and timestamps', () => {
    const samples = parsePrometheusText(
      [
        '# HELP istio_requests_total Total requests.',
        '# TYPE istio_requests_total counter',
        '',
        'istio_requests_total{reporter="source",response_code="200"} 42 1700000000000',
        'up 1',
        'x{le="+Inf"} +Inf',
        'y NaN',
        'z{a="1",} -3.5e2',
      ].join('\n'),
    );
    assert.deepEqual(samples[0], {
      name: 'istio_requests_total',
      labels: { reporter: 'source', response_code: '200' },
      value: 42,
    });
    assert.deepEqual(samples[1], { name: 'up', labels: {}, value: 1 });
    assert.equal(samples[2]?.value, Number.POSITIVE_INFINITY);
    assert.equal(samples[2]?.labels.le, '+Inf');
    assert.ok(Number.isNaN(samples[3]?.value));
    assert.deepEqual(samples[4], { name: 'z', labels: { a: '1' }, value: -350 });
  });

  it('unescapes backslash, quote and newline in label values', () => {
    const [s] = parsePrometheusText('m{path="a\\\\b \\"q\\" \\n end",x="}{,="} 1\n');
    assert.deepEqual(s?.labels, { path: 'a\\b "q" \n end', x: '}{,=' });
  });

  it('skips the metrics a caller does not keep', () => {
    const text = 'a 1\nb{x="y"} 2\nc 3\n';
    assert.deepEqual(
      parsePrometheusText(text, (n) => n !== 'b').map((s) => s.name),
      ['a', 'c'],
    );
  });

  it('names the line of a malformed sample', () => {
    assert.throws(
      () => parsePrometheusText('ok 1\nbad{x="1" 2\n'),
      (e: PrometheusTextError) => e.code === 'FERRY_PROMETHEUS_TEXT' && e.line === 2,
    );
    assert.throws(() => parsePrometheusText('m abc\n'), /line 1: bad value "abc"/);
    assert.throws(() => parsePrometheusText('m{x="open} 1\n'), /unterminated label value/);
  });

  it("reads a whole Istio-format page: every series with Istio's label set", () => {
    const m = new FakeSidecarMetrics();
    m.record({
      reporter: 'destination',
      source: { workload: 'frontend-v1', app: 'frontend', version: 'v1' },
      destination: { workload: 'reviews-v2', app: 'reviews', version: 'v2' },
      code: 503,
      flags: 'UF,URX',
      ms: 12,
      mtls: true,
    });
    const samples = parsePrometheusText(m.text());
    const req = samples.find((s) => s.name === 'istio_requests_total');
    assert.equal(req?.labels.response_flags, 'UF,URX');
    assert.equal(req?.labels.destination_service, 'reviews.default.svc.cluster.local');
    assert.equal(Object.keys(req?.labels ?? {}).length, 23);
    const buckets = samples.filter((s) => s.name === 'istio_request_duration_milliseconds_bucket');
    assert.equal(buckets.length, 20);
    assert.deepEqual(
      buckets
        .filter((b) => b.value === 1)
        .map((b) => b.labels.le)
        .slice(0, 2),
      ['25', '50'],
    );
  });
});
