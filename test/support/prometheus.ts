/**
 * A real Prometheus server (Debian's `prometheus`, which .ci/run installs) scraping the given
 * /stats/prometheus targets every second, on a free loopback port with its data in a scratch
 * folder. Outside CI a missing binary skips the suite with the reason; in CI it fails it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const PROMETHEUS = '/usr/bin/prometheus';

/** Call first in a `before` hook: skips (or, in CI, fails) when Prometheus is not installed. */
export function requirePrometheus(ctx: Mocha.Context): void {
  if (existsSync(PROMETHEUS)) return;
  if (process.env.CI) throw new Error(`${PROMETHEUS} is missing: apt-get install prometheus`);
  console.log(`      skipped: ${PROMETHEUS} is not installed (apt-get install prometheus)`);
  ctx.skip();
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** One series of an instant query's result. */
export interface PromSeries {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export class PrometheusServer {
  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly child: ChildProcess,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Starts Prometheus scraping `targets` (host:port, sidecars' /stats/prometheus) and
   * `controlPlanes` (host:port, /metrics). It answers queries a moment later.
   */
  static async start(
    targets: readonly string[],
    controlPlanes: readonly string[] = [],
  ): Promise<PrometheusServer> {
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-prom-'));
    const port = await freePort();
    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(
      config,
      [
        'global:',
        '  scrape_interval: 1s',
        'scrape_configs:',
        '  - job_name: ferry-sidecars',
        '    metrics_path: /stats/prometheus',
        '    static_configs:',
        `      - targets: [${targets.map((t) => `'${t}'`).join(', ')}]`,
        ...(controlPlanes.length > 0
          ? [
              '  - job_name: ferry-control-plane',
              '    metrics_path: /metrics',
              '    static_configs:',
              `      - targets: [${controlPlanes.map((t) => `'${t}'`).join(', ')}]`,
            ]
          : []),
        '',
      ].join('\n'),
    );
    const child = spawn(
      PROMETHEUS,
      [
        `--config.file=${config}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    return new PrometheusServer(port, dir, child);
  }

  /** An instant query; [] while Prometheus is still starting (refused) or on an error. */
  query(promql: string): Promise<PromSeries[]> {
    return new Promise((resolve) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port: this.port,
          path: `/api/v1/query?query=${encodeURIComponent(promql)}`,
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => {
            try {
              const parsed = JSON.parse(body) as { status: string; data: { result: PromSeries[] } };
              resolve(parsed.status === 'success' ? parsed.data.result : []);
            } catch {
              resolve([]);
            }
          });
        },
      );
      req.on('error', () => resolve([]));
    });
  }

  stop(): void {
    this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
