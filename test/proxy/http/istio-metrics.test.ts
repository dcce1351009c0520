import assert from 'node:assert/strict';
import { endpointMetadata } from '../../../src/controlplane/translate/index.js';
import type { Endpoint } from '../../../src/mesh/index.js';
import { MetricsRegistry } from '../../../src/metrics/index.js';
import { IstioMetrics, type RequestOutcome } from '../../../src/proxy/http/index.js';
import { endpoint, mesh, service } from '../../controlplane/translate/mesh-fixture.js';

const MESH = mesh().mesh;

/** A host as the sidecar has it from EDS: the metadata the control plane writes. */
function host(svc: string, ns: string, address: string, extra: Partial<Endpoint> = {}) {
  const e = endpoint(address, { 8080: 8080 }, extra);
  return { address, metadata: endpointMetadata(e, service(svc, ns, [[8080, 'http']]), MESH) };
}

/** A request that came over mTLS from `principal` at `address` (the fields the metrics read). */
function mtlsRequest(principal: string, address: string): unknown {
  return {
    socket: {
      encrypted: true,
      remoteAddress: address,
      getPeerCertificate: () => ({ subjectaltname: `URI:${principal}` }),
    },
  };
}

/** Every label of the first istio_requests_total sample matching `reporter`. */
function firstSample(text: string, reporter: string): Record<string, string> {
  const line = text
    .split('\n')
    .find((l) => l.startsWith('istio_requests_total{') && l.includes(`reporter="${reporter}"`));
  assert.ok(line, `no ${reporter} sample`);
  return Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
}

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
  it('labels a source-side request by cluster: destination service, name, namespace; version from the host', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, {
      service: 'web',
      namespace: 'shop',
      labels: { version: 'v1' },
    });
    const record = m.recorder('source');
    const api = host('api', 'shop', '10.0.0.2', { labels: { version: 'v2' } });
    record(outcome({ upstreamHost: api }));
    record(outcome({ upstreamHost: api }));
    record(outcome({ status: 503, flags: 'UF,URX', upstreamHost: api }));
    record(outcome({ grpc: true, grpcStatus: '14', upstreamHost: api }));
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

  it("names the picked host's workload on the source side; its principal only over mTLS", () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, {
      service: 'productpage',
      namespace: 'shop',
      labels: { app: 'productpage', version: 'v1' },
      principal: () => 'spiffe://cluster.local/ns/shop/sa/productpage',
    });
    const reviews = host('reviews', 'shop', '10.0.0.7', {
      labels: { app: 'reviews', version: 'v3' },
      meshed: true,
      serviceAccount: 'bookinfo-reviews',
    });
    m.configure([], 'east');
    const record = m.recorder('source');
    record(
      outcome({
        clusterName: 'outbound|9080||reviews.shop.svc.cluster.local',
        upstreamHost: reviews,
        upstreamSecure: true,
      }),
    );
    const s = firstSample(registry.render(), 'source');
    assert.deepEqual(
      [
        s.source_workload,
        s.source_workload_namespace,
        s.source_principal,
        s.source_app,
        s.source_version,
        s.source_canonical_service,
        s.source_canonical_revision,
        s.source_cluster,
      ],
      [
        'productpage-v1',
        'shop',
        'spiffe://cluster.local/ns/shop/sa/productpage',
        'productpage',
        'v1',
        'productpage',
        'v1',
        'east',
      ],
    );
    assert.deepEqual(
      [
        s.destination_workload,
        s.destination_workload_namespace,
        s.destination_principal,
        s.destination_app,
        s.destination_version,
        s.destination_canonical_service,
        s.destination_canonical_revision,
        s.destination_cluster,
        s.destination_service,
        s.connection_security_policy,
      ],
      [
        'reviews-v3',
        'shop',
        'spiffe://cluster.local/ns/shop/sa/bookinfo-reviews',
        'reviews',
        'v3',
        'reviews',
        'v3',
        'Kubernetes',
        'reviews.shop.svc.cluster.local',
        'unknown',
      ],
    );
    // The same host in plaintext (mTLS off): no principal on either side, as in Istio.
    const plain = new MetricsRegistry();
    const p = new IstioMetrics(plain, { service: 'productpage', namespace: 'shop', labels: {} });
    p.recorder('source')(outcome({ upstreamHost: reviews, upstreamSecure: false }));
    const ps = firstSample(plain.render(), 'source');
    assert.equal(ps.destination_principal, 'unknown');
    assert.equal(ps.source_principal, 'unknown');
    assert.equal(ps.destination_workload, 'reviews-v3');
    assert.equal(ps.source_canonical_revision, 'latest', 'no version label: latest');
  });

  it('relabels a host whose EDS metadata changed (same Host object, new workload)', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, { service: 'web', namespace: 'default', labels: {} });
    const record = m.recorder('source');
    const h: { metadata: object | undefined } = {
      metadata: host('api', 'default', '10.0.0.2', { labels: { version: 'v1' } }).metadata,
    };
    record(outcome({ upstreamHost: h }));
    h.metadata = host('api', 'default', '10.0.0.2', { labels: { version: 'v2' } }).metadata;
    record(outcome({ upstreamHost: h }));
    assert.deepEqual(samples(registry.render(), 'istio_requests_total', ['destination_workload']), [
      'destination_workload=api-v1 1',
      'destination_workload=api-v2 1',
    ]);
  });

  it('names a verified caller from the workloads EDS lists, by SPIFFE ID and address; plaintext stays unknown', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, {
      service: 'reviews',
      namespace: 'shop',
      labels: { app: 'reviews', version: 'v1' },
      principal: () => 'spiffe://cluster.local/ns/shop/sa/reviews',
    });
    const sa = (name: string) => `spiffe://cluster.local/ns/shop/sa/${name}`;
    const meshed = (svc: string, address: string, version: string, account: string) =>
      host(svc, 'shop', address, {
        labels: { app: svc, version },
        meshed: true,
        serviceAccount: account,
      });
    m.configure([
      { hostSet: { hosts: [meshed('productpage', '10.0.0.1', 'v1', 'productpage')] } },
      // One account, two versions at two addresses: the address tells them apart.
      {
        hostSet: {
          hosts: [
            meshed('ratings', '10.0.0.2', 'v1', 'ratings'),
            meshed('ratings', '10.0.0.3', 'v2', 'ratings'),
          ],
        },
      },
      // One account, two versions at one address: only what they share (app, canonical service) is named.
      {
        hostSet: {
          hosts: [
            meshed('details', '10.0.0.4', 'v1', 'details'),
            meshed('details', '10.0.0.4', 'v2', 'details'),
          ],
        },
      },
    ]);
    const record = m.recorder('destination');
    const inbound = 'inbound|9080||';
    record(
      outcome({
        clusterName: inbound,
        downstreamSocket: mtlsRequest(sa('productpage'), '10.0.0.1'),
      }),
    );
    record(
      outcome({
        clusterName: inbound,
        downstreamSocket: mtlsRequest(sa('ratings'), '::ffff:10.0.0.3'),
      }),
    );
    record(
      outcome({ clusterName: inbound, downstreamSocket: mtlsRequest(sa('details'), '10.0.0.4') }),
    );
    record(
      outcome({ clusterName: inbound, downstreamSocket: mtlsRequest(sa('stranger'), '10.0.0.9') }),
    );
    record(
      outcome({
        clusterName: inbound,
        downstreamSocket: { socket: { remoteAddress: '10.0.0.1' } },
      }),
    );
    const keep = [
      'source_workload',
      'source_app',
      'source_version',
      'source_canonical_service',
      'source_canonical_revision',
      'source_workload_namespace',
      'source_principal',
      'destination_principal',
      'connection_security_policy',
    ];
    assert.deepEqual(samples(registry.render(), 'istio_requests_total', keep), [
      `source_workload=productpage-v1 source_app=productpage source_version=v1 source_canonical_service=productpage source_canonical_revision=v1 source_workload_namespace=shop source_principal=${sa('productpage')} destination_principal=${sa('reviews')} connection_security_policy=mutual_tls 1`,
      `source_workload=ratings-v2 source_app=ratings source_version=v2 source_canonical_service=ratings source_canonical_revision=v2 source_workload_namespace=shop source_principal=${sa('ratings')} destination_principal=${sa('reviews')} connection_security_policy=mutual_tls 1`,
      `source_workload=unknown source_app=details source_version=unknown source_canonical_service=details source_canonical_revision=unknown source_workload_namespace=shop source_principal=${sa('details')} destination_principal=${sa('reviews')} connection_security_policy=mutual_tls 1`,
      `source_workload=unknown source_app=unknown source_version=unknown source_canonical_service=unknown source_canonical_revision=unknown source_workload_namespace=shop source_principal=${sa('stranger')} destination_principal=${sa('reviews')} connection_security_policy=mutual_tls 1`,
      'source_workload=unknown source_app=unknown source_version=unknown source_canonical_service=unknown source_canonical_revision=unknown source_workload_namespace=unknown source_principal=unknown destination_principal=unknown connection_security_policy=none 1',
    ]);
  });

  it('labels TCP connections with both peers, and a connection that never opened with UF', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, {
      service: 'web',
      namespace: 'default',
      labels: { version: 'v1' },
    });
    const db = host('db', 'default', '10.0.0.5', { labels: { version: 'v7' }, meshed: true });
    const tcp = m.tcpRecorder('source');
    const cluster = 'outbound|5432||db.default.svc.cluster.local';
    tcp.opened(cluster, undefined, db, true);
    tcp.closed({
      clusterName: cluster,
      sent: 10,
      received: 20,
      downstreamSocket: undefined,
      failed: false,
      upstreamHost: db,
      upstreamSecure: true,
    });
    tcp.closed({
      clusterName: cluster,
      sent: 0,
      received: 0,
      downstreamSocket: undefined,
      failed: true,
      upstreamHost: db,
      upstreamSecure: true,
    });
    const text = registry.render();
    const keep = [
      'source_workload',
      'destination_workload',
      'destination_canonical_revision',
      'destination_principal',
      'response_flags',
    ];
    assert.deepEqual(samples(text, 'istio_tcp_connections_closed_total', keep), [
      'source_workload=web-v1 destination_workload=db-v7 destination_canonical_revision=v7 destination_principal=spiffe://cluster.local/ns/default/sa/default response_flags=- 1',
      'source_workload=web-v1 destination_workload=db-v7 destination_canonical_revision=v7 destination_principal=spiffe://cluster.local/ns/default/sa/default response_flags=UF 1',
    ]);
    assert.deepEqual(samples(text, 'istio_tcp_received_bytes_total', ['response_flags']), [
      'response_flags=- 20',
      'response_flags=UF 0',
    ]);
  });

  it('regression: names PassthroughCluster traffic as Istio does, not "unknown"', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, { service: 'web', namespace: 'default', labels: {} });
    const tcp = m.tcpRecorder('source');
    const out = { address: '203.0.113.9', port: 443, key: '203.0.113.9:443' };
    tcp.opened('PassthroughCluster', undefined, out, false);
    const keep = [
      'destination_service',
      'destination_service_name',
      'destination_service_namespace',
    ];
    assert.deepEqual(samples(registry.render(), 'istio_tcp_connections_opened_total', keep), [
      'destination_service=PassthroughCluster destination_service_name=PassthroughCluster destination_service_namespace=unknown 1',
    ]);
  });

  it('with peer metadata off (mesh.telemetry.peerMetadata: false) names no peer workload', () => {
    const registry = new MetricsRegistry();
    const m = new IstioMetrics(registry, { service: 'web', namespace: 'default', labels: {} });
    const api = host('api', 'default', '10.0.0.2', { labels: { version: 'v1' }, meshed: true });
    m.configure([{ hostSet: { hosts: [api] } }], undefined, false);
    m.recorder('source')(outcome({ upstreamHost: api, upstreamSecure: true }));
    m.recorder('destination')(
      outcome({
        clusterName: 'inbound|8080||',
        downstreamSocket: mtlsRequest('spiffe://cluster.local/ns/default/sa/default', '10.0.0.2'),
      }),
    );
    const text = registry.render();
    assert.equal(firstSample(text, 'source').destination_workload, 'unknown');
    const d = firstSample(text, 'destination');
    assert.equal(d.source_workload, 'unknown');
    assert.equal(d.source_principal, 'spiffe://cluster.local/ns/default/sa/default');
  });
});
