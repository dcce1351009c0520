/**
 * Prometheus mode against a real Prometheus (Debian's `prometheus`, which CI installs)
 * scraping fake sidecar metric ports: the same edges and services, with rate() and
 * histogram_quantile() done by Prometheus.
 */
import assert from 'node:assert/strict';
import { type MeshStats, PrometheusStats, prometheusQueries } from '../../src/dashboard/index.js';
import { PrometheusServer, requirePrometheus } from '../support/prometheus.js';
import { waitFor } from '../support/wait-for.js';
import { FakeSidecarMetrics, type Peer } from './fake-sidecar-metrics.js';

const web: Peer = { workload: 'web-v1', app: 'web', version: 'v1' };
const api: Peer = { workload: 'api-v1', app: 'api', version: 'v1' };
const db: Peer = { workload: 'db-v1', app: 'db', version: 'v1' };

describe('PrometheusStats (a real Prometheus)', function () {
  this.timeout(60_000);
  const client = new FakeSidecarMetrics();
  const server = new FakeSidecarMetrics();
  let prometheus: PrometheusServer | undefined;
  let pump: NodeJS.Timeout | undefined;

  before(async function () {
    requirePrometheus(this);
    await client.start();
    await server.start();
    const hostPort = (u: string) => new URL(u).host;
    prometheus = await PrometheusServer.start([hostPort(client.url), hostPort(server.url)]);
    // Steady traffic: 20 calls per 100 ms from web to api, one in four failing with 503 UF,
    // all taking 3 ms; each counted by both sidecars. And TCP from web to db: per 100 ms two
    // connections, 1000 bytes in and 3000 back, counted by both sides.
    pump = setInterval(() => {
      const conn = { source: web, destination: db, received: 1000, sent: 3000, opened: 2 };
      client.recordTcp({ ...conn, reporter: 'source' });
      server.recordTcp({ ...conn, reporter: 'destination', closed: 2 });
      for (const [code, flags, count] of [
        [200, '-', 15],
        [503, 'UF', 5],
      ] as const) {
        const call = { source: web, destination: api, code, flags, ms: 3, count, mtls: true };
        client.record({ ...call, reporter: 'source' });
        server.record({ ...call, reporter: 'destination' });
      }
    }, 100);
  });

  after(async () => {
    if (pump) clearInterval(pump);
    prometheus?.stop();
    await Promise.all([client.close(), server.close()]);
  });

  it('reads edge and service rates, success rates and quantiles through PromQL', async () => {
    const source = new PrometheusStats({ url: prometheus!.url, windowSeconds: 5 });
    let stats: MeshStats | undefined;
    await waitFor(
      'Prometheus to have a few scrapes of both sidecars',
      async () => {
        stats = await source.stats().catch(() => undefined);
        const e = stats?.edges[0];
        return e !== undefined && e.rps > 0 && e.p99 !== undefined;
      },
      40_000,
      500,
    );
    const s = stats as MeshStats;
    assert.equal(s.source, 'prometheus');
    assert.deepEqual(
      s.edges.map((e) => [e.source, e.destination]),
      [
        ['web.default', 'api.default'],
        ['web.default', 'db.default'],
      ],
    );
    const e = s.edges[0];
    assert.equal(e?.tcp, undefined);
    // Regression: the caller's reports carry the mTLS mark in destination_principal, which
    // the PromQL must keep, or the share of a source-reported edge reads 0.
    assert.equal(e?.mtlsShare, 1);
    assert.deepEqual(e?.protocols, ['http']);
    // The pump's timer is not exact; the ratio of the counts is.
    assert.ok(Math.abs((e?.successRate ?? 0) - 0.75) < 0.02, String(e?.successRate));
    assert.ok((e?.responseFlags.UF ?? 0) > 0);
    assert.ok((e?.p50 ?? 0) > 1 && (e?.p50 ?? 0) <= 5, `p50 ${e?.p50}`);
    assert.ok((e?.p99 ?? 0) > 1 && (e?.p99 ?? 0) <= 5, `p99 ${e?.p99}`);
    const svc = s.services.find((x) => x.id === 'api.default');
    assert.ok(svc && svc.rps > 0);
    assert.deepEqual(svc.versions && Object.keys(svc.versions), ['v1']);
    // Counted once, not twice: the service's rate (the callee's count) is the edge's (the
    // caller's). The two sidecars are scraped at their own moments, so on a loaded machine
    // one window can hold a scrape more of one than of the other: wait for a window where
    // they agree within 20% (counted twice, they never would: the service would be 2x).
    await waitFor(
      "the service's rate to equal the edge's (counted once, not twice)",
      async () => {
        const now = await source.stats().catch(() => undefined);
        const edge = now?.edges.find((x) => x.destination === 'api.default');
        const service = now?.services.find((x) => x.id === 'api.default');
        const ratio = edge && service && edge.rps > 0 ? service.rps / edge.rps : 0;
        return Math.abs(ratio - 1) < 0.2;
      },
      20_000,
      250,
    );
  });

  it('reads TCP edges from the istio_tcp_* counters: bytes per second and connections', async () => {
    const source = new PrometheusStats({ url: prometheus!.url, windowSeconds: 5 });
    const tcp = async () =>
      (await source.stats()).edges.find((e) => e.destination === 'db.default')?.tcp;
    // Both sides' counters must have rates: with only the callee's scraped yet, its count
    // stands in for the edge (and it reports closes).
    const bothSides = `${prometheus!.url}/api/v1/query?query=${encodeURIComponent('count(rate(istio_tcp_received_bytes_total[5s]) > 0)')}`;
    await waitFor('TCP rates from both sidecars', async () => {
      const body = (await (await fetch(bothSides)).json()) as {
        data?: { result?: { value: [number, string] }[] };
      };
      return body.data?.result?.[0]?.value[1] === '2';
    });
    const t = await tcp();
    assert.ok(t);
    // The caller's count (no closes reported) is the one used: the edge is counted once.
    assert.equal(t.connectionsClosedPerSecond, 0);
    // The pump's timer is not exact; the ratios of the counts are.
    assert.ok(Math.abs(t.sentBytesPerSecond / t.receivedBytesPerSecond - 3) < 0.01);
    assert.ok(Math.abs(t.receivedBytesPerSecond / t.connectionsOpenedPerSecond - 500) < 5);
    console.log(
      `      web -> db: ${t.receivedBytesPerSecond.toFixed(0)} B/s in, ${t.sentBytesPerSecond.toFixed(0)} B/s back, ${t.connectionsOpenedPerSecond.toFixed(1)} conn/s`,
    );
  });

  it('asks with rate() and histogram_quantile()', () => {
    const q = prometheusQueries(60);
    assert.match(q.counts ?? '', /^sum by \(.*\) \(rate\(istio_requests_total\[60s\]\)\)$/);
    assert.match(
      q.edgeP99 ?? '',
      /^histogram_quantile\(0\.99, sum by \(.*, le\) \(rate\(istio_request_duration_milliseconds_bucket\[60s\]\)\)\)$/,
    );
    assert.match(
      q.istio_tcp_sent_bytes_total ?? '',
      /^sum by \(reporter, .*\) \(rate\(istio_tcp_sent_bytes_total\[60s\]\)\)$/,
    );
  });

  it('says which Prometheus it cannot reach', async () => {
    const source = new PrometheusStats({ url: 'http://127.0.0.1:1', timeoutMs: 2000 });
    await assert.rejects(
      source.stats(),
      (err: Error & { code?: string }) =>
        err.code === 'FERRY_PROMETHEUS_QUERY' && /127\.0\.0\.1:1/.test(err.message),
    );
  });
});
