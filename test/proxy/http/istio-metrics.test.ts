import assert from 'node:assert/strict';
import { MetricsRegistry } from '../../../src/metrics/index.js';
import { IstioMetrics, type RequestOutcome } from '../../../src/proxy/http/index.js';

function outcome(over: Partial<RequestOutcome> = {}): RequestOutcome {
  return {
    clusterName: 'outbound|8080|v2|api.shop.svc.cluster.local',
    status: 200,
    grpc: false,
    grpcStatus: '',
    flags: '',
    startedAt: performance.now() - 3,
    requestBytes: 0,
    responseBytes: 120,
    downstreamSocket: undefined,
    ...over,
  };
}

/** The sample lines of one metric, as "labels value" with the labels that matter here. */
function samples(text: string, metric: string, keep: string[]): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`))
    .map((l) => {
      const labels = Object.fromEntries(
        [...l.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
      );
      return `${keep.map((k) => `${k}=${labels[k]}`).join(' ')} ${l.split(' ').pop()}`;
    })
    .sort();
}

describe('proxy/http: Istio standard metrics', () => {
  it('labels a source-side request by cluster: destination service, name, namespace, version from the subset', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, {
      service: 'web',
      namespace: 'shop',
      labels: { version: 'v1' },
    });
    const record = m.recorder('source');
    record(outcome());
    record(outcome());
    record(outcome({ status: 503, flags: 'UF,URX' }));
    record(outcome({ grpc: true, grpcStatus: '14' }));
    const text = registry.render();
    assert.deepEqual(
      samples(text, 'istio_requests_total', [
        'reporter',
        'source_workload',
        'destination_service',
        'destination_service_name',
        'destination_service_namespace',
        'destination_version',
        'request_protocol',
        'response_code',
        'grpc_response_status',
        'response_flags',
      ]),
      [
        'reporter=source source_workload=web-v1 destination_service=api.shop.svc.cluster.local destination_service_name=api destination_service_namespace=shop destination_version=v2 request_protocol=grpc response_code=200 grpc_response_status=14 response_flags=- 1',
        'reporter=source source_workload=web-v1 destination_service=api.shop.svc.cluster.local destination_service_name=api destination_service_namespace=shop destination_version=v2 request_protocol=http response_code=200 grpc_response_status= response_flags=- 2',
        'reporter=source source_workload=web-v1 destination_service=api.shop.svc.cluster.local destination_service_name=api destination_service_namespace=shop destination_version=v2 request_protocol=http response_code=503 grpc_response_status= response_flags=UF,URX 1',
      ],
    );
    // Milliseconds, in Istio's buckets: two requests of at least 3 ms each (later if this
    // machine is slow to record them, so only lower bounds are asserted on time).
    const ok200 = '[^}]*request_protocol="http",response_code="200"[^}]*';
    assert.match(
      text,
      new RegExp(`istio_request_duration_milliseconds_bucket\\{${ok200}le="1"\\} 0`),
    );
    assert.match(
      text,
      new RegExp(`istio_request_duration_milliseconds_bucket\\{${ok200}le="\\+Inf"\\} 2`),
    );
    const sum = new RegExp(`istio_request_duration_milliseconds_sum\\{${ok200}\\} ([0-9.]+)`).exec(
      text,
    );
    assert.ok(sum && Number(sum[1]) >= 6, `sum ${sum?.[1]} ms`);
    assert.match(text, /istio_response_bytes_sum\{[^}]*response_code="503"[^}]*\} 120/);
  });

  it('bounds the label combinations per cluster: past the limit, outcomes count as "other"', () => {
    const registry = new MetricsRegistry();
    const record = new IstioMetrics(registry, {
      service: 'web',
      namespace: 'default',
      labels: {},
    }).recorder('source');
    for (let i = 0; i < 1000; i++) record(outcome({ status: 500, flags: `F${i}` }));
    const lines = samples(registry.render(), 'istio_requests_total', ['response_code']);
    assert.equal(lines.length, 201);
    assert.ok(lines.includes('response_code=other 800'), lines.slice(-3).join('\n'));
  });
});
