/**
 * Prometheus mode against a real Prometheus (Debian's `prometheus`, which CI installs)
 * scraping fake sidecar metric ports: the same edges and services, with rate() and
 * histogram_quantile() done by Prometheus.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type MeshStats, PrometheusStats, prometheusQueries } from '../../src/dashboard/index.js';
import { waitFor } from '../support/wait-for.js';
import { FakeSidecarMetrics, type Peer } from './fake-sidecar-metrics.js';

const PROMETHEUS = '/usr/bin/prometheus';
const web: Peer = { workload: 'web-v1', app: 'web', version: 'v1' };
const api: Peer = { workload: 'api-v1', app: 'api', version: 'v1' };

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('PrometheusStats (a real Prometheus)', function () {
  this.timeout(60_000);
  const client = new FakeSidecarMetrics();
  const server = new FakeSidecarMetrics();
  let prometheus: ChildProcess | undefined;
  let dir = '';
  let promUrl = '';
  let pump: NodeJS.Timeout | undefined;

  before(async function () {
    if (!existsSync(PROMETHEUS)) {
      if (process.env.CI) throw new Error(`${PROMETHEUS} is missing: apt-get install prometheus`);
      console.log(`      skipped: ${PROMETHEUS} is not installed (apt-get install prometheus)`);
      this.skip();
    }
    await client.start();
    await server.start();
    dir = mkdtempSync(path.join(tmpdir(), 'ferry-dash-prom-'));
    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    const hostPort = (u: string) => new URL(u).host;
    writeFileSync(
      path.join(dir, 'prometheus.yml'),
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: ferry-sidecars',
        '    metrics_path: /stats/prometheus',
        '    static_configs:',
        `      - targets: ['${hostPort(client.url)}', '${hostPort(server.url)}']`,
        '',
      ].join('\n'),
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${path.join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    // Steady traffic: 20 calls per 100 ms from web to api, one in four failing with 503 UF,
    // all taking 3 ms; each counted by both sidecars.
    pump = setInterval(() => {
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
    prometheus?.kill('SIGKILL');
    await Promise.all([client.close(), server.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads edge and service rates, success rates and quantiles through PromQL', async () => {
    const source = new PrometheusStats({ url: promUrl, windowSeconds: 5 });
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
      [['web.default', 'api.default']],
    );
    const e = s.edges[0];
    // The pump's timer is not exact; the ratio of the counts is.
    assert.ok(Math.abs((e?.successRate ?? 0) - 0.75) < 0.02, String(e?.successRate));
    assert.ok((e?.responseFlags.UF ?? 0) > 0);
    assert.ok((e?.p50 ?? 0) > 1 && (e?.p50 ?? 0) <= 5, `p50 ${e?.p50}`);
    assert.ok((e?.p99 ?? 0) > 1 && (e?.p99 ?? 0) <= 5, `p99 ${e?.p99}`);
    const svc = s.services.find((x) => x.id === 'api.default');
    assert.ok(svc && svc.rps > 0);
    assert.ok(
      Math.abs((svc.rps ?? 0) - (e?.rps ?? 0)) / (e?.rps ?? 1) < 0.2,
      'counted once, not twice',
    );
    assert.deepEqual(svc.versions && Object.keys(svc.versions), ['v1']);
  });

  it('asks with rate() and histogram_quantile()', () => {
    const q = prometheusQueries(60);
    assert.match(q.counts ?? '', /^sum by \(.*\) \(rate\(istio_requests_total\[60s\]\)\)$/);
    assert.match(
      q.edgeP99 ?? '',
      /^histogram_quantile\(0\.99, sum by \(.*, le\) \(rate\(istio_request_duration_milliseconds_bucket\[60s\]\)\)\)$/,
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
