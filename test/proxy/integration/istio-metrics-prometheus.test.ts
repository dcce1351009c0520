/**
 * Istio's standard metrics, read by a real Prometheus server (Debian's `prometheus`, which
 * .ci/run installs): it scrapes two sidecars' /stats/prometheus, and its query API returns
 * the istio_requests_total series both sides reported, with Istio's labels and the right
 * counts. Client -> sidecar A (web, outbound, reporter=source) -> sidecar B (api, inbound,
 * reporter=destination) -> app.
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { ISTIO_LABELS } from '../../../src/proxy/http/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { PrometheusServer, type PromSeries, requirePrometheus } from '../../support/prometheus.js';
import { waitFor } from '../../support/wait-for.js';

describe('integration: Istio standard metrics scraped by a real Prometheus', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  let app: HttpUpstream;
  let prometheus: PrometheusServer | undefined;

  before(async function () {
    requirePrometheus(this);
    app = await startHttpUpstream('api-app');
    cp = await startControlPlane(mesh(service('api', 8080, 'http', [])));
    b = await startSidecar(cp.xdsPort, {
      service: 'api',
      appPort: app.port,
      labels: { app: 'api', version: 'v1' },
    });
    a = await startSidecar(cp.xdsPort, { service: 'web', labels: { app: 'web' } });
    await waitForHosts(a, clusterName('api', 8080), 1);

    prometheus = await PrometheusServer.start([
      `127.0.0.1:${a.ports.metrics}`,
      `127.0.0.1:${b.ports.metrics}`,
    ]);
  });

  after(async () => {
    prometheus?.stop();
    await Promise.all([a?.stop(0), b?.stop(0)]);
    await cp?.close();
    await app?.close();
  });

  it('reports 30 requests once from each side, with Istio labels, and a 404 NR from the source only', async () => {
    const prom = prometheus!;
    for (let i = 0; i < 30; i++) {
      const r = await send(a.ports.outbound, { host: 'api:8080', path: `/r${i}` });
      assert.equal(r.status, 200);
    }
    const nr = await send(a.ports.outbound, { host: 'nowhere:1', path: '/' });
    assert.equal(nr.status, 404);

    let series: PromSeries[] = [];
    await waitFor(
      'Prometheus to scrape both sidecars after the requests',
      async () => {
        // Prometheus may still be starting: a refused connection means not yet.
        series = await prom.query('istio_requests_total');
        const sum = series
          .filter((s) => s.metric.response_code === '200')
          .reduce((n, s) => n + Number(s.value[1]), 0);
        return sum === 60;
      },
      30_000,
      250,
    );
    const ok = series.filter((s) => s.metric.response_code === '200');
    for (const s of series) {
      console.log(
        `      ${s.metric.reporter}: ${s.metric.source_workload} -> ${s.metric.destination_service} ${s.metric.response_code} ${s.metric.response_flags} = ${s.value[1]}`,
      );
    }
    const source = ok.find((s) => s.metric.reporter === 'source');
    const destination = ok.find((s) => s.metric.reporter === 'destination');
    assert.ok(source && destination, 'one series from each reporter');
    assert.equal(source.value[1], '30');
    assert.equal(destination.value[1], '30');
    // Every label of Istio's set is there (Prometheus drops empty ones, such as
    // grpc_response_status on plain HTTP).
    for (const name of ISTIO_LABELS) {
      if (name === 'grpc_response_status') continue;
      assert.ok(name in source.metric, `source series lacks ${name}`);
      assert.ok(name in destination.metric, `destination series lacks ${name}`);
    }
    assert.equal(source.metric.source_workload, 'web');
    assert.equal(source.metric.destination_service, 'api.default.svc.cluster.local');
    assert.equal(source.metric.destination_service_name, 'api');
    assert.equal(source.metric.request_protocol, 'http');
    assert.equal(source.metric.response_flags, '-');
    assert.equal(destination.metric.destination_workload, 'api-v1');
    assert.equal(destination.metric.destination_version, 'v1');
    assert.equal(destination.metric.destination_service, 'api.default.svc.cluster.local');
    const notFound = series.filter((s) => s.metric.response_code === '404');
    assert.deepEqual(
      notFound.map((s) => [s.metric.reporter, s.metric.response_flags, s.value[1]]),
      [['source', 'NR', '1']],
    );

    const latency = await prom.query(
      'sum by (reporter) (istio_request_duration_milliseconds_count{response_code="200"})',
    );
    assert.deepEqual(latency.map((s) => s.value[1]).sort(), ['30', '30']);
  });
});
