/** The sidecar in-process: readiness, admin pages, access log, drain of keep-alive clients. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { Sidecar } from '../../src/proxy/index.js';
import { mesh, service } from '../support/mesh.js';

function get(
  port: number,
  host: string,
  urlPath: string,
  agent?: http.Agent,
  extra: http.OutgoingHttpHeaders = {},
) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = http.get({ port, path: urlPath, headers: { host, ...extra }, agent }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
    },
  );
}

describe('Sidecar', () => {
  let upstream: http.Server;
  let cp: ControlPlane;
  let sidecar: Sidecar;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-sidecar-'));
    upstream = http.createServer((req, res) => res.end(`up:${req.url}`));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const upPort = (upstream.address() as AddressInfo).port;
    cp = await ControlPlane.start({
      config: mesh(service('api', 8080, 'http', [upPort])),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      log: silentLogger(),
    });
  });

  after(async () => {
    await sidecar?.stop(100);
    await cp.close();
    upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is ready only once configured, serves traffic, writes an access log with response flags', async () => {
    const logFile = path.join(dir, 'access.log');
    sidecar = await Sidecar.start({
      xds: `127.0.0.1:${cp.xdsPort}`,
      service: 'web',
      inboundPort: 0,
      outboundPort: 0,
      adminPort: 0,
      metricsPort: 0,
      readyPort: 0,
      accessLog: logFile,
      log: silentLogger(),
    });
    await sidecar.waitReady(5000);
    const ready = await get(sidecar.ports.ready, 'x', '/healthz/ready');
    assert.equal(ready.status, 200);
    const ok = await get(sidecar.ports.outbound, 'api:8080', '/hello', undefined, {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-request-id': 'req-1',
    });
    assert.equal(ok.body, 'up:/hello');
    const nr = await get(sidecar.ports.outbound, 'nothing-here', '/');
    assert.equal(nr.status, 404);
    assert.equal(nr.headers['x-ferry-response-flags'], 'NR');
    const clusters = await get(sidecar.ports.admin, 'x', '/clusters?format=json');
    const parsed = JSON.parse(clusters.body) as {
      clusters: Array<{ name: string; hosts: Array<{ rqTotal: number }> }>;
    };
    const api = parsed.clusters.find(
      (c) => c.name === 'outbound|8080||api.default.svc.cluster.local',
    );
    assert.equal(api?.hosts[0].rqTotal, 1);
    const prom = await get(sidecar.ports.metrics, 'x', '/stats/prometheus');
    assert.match(prom.body, /ferry_proxy_requests_total\{response_code_class="2xx"\} 1/);
    // The access log is asynchronous: wait for both lines.
    let lines: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 100 && lines.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 20));
      const text = await readFile(logFile, 'utf8').catch(() => '');
      lines = text.trim()
        ? text
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [];
    }
    assert.equal(lines.length, 2);
    assert.equal(lines[0].response_code, 200);
    assert.equal(lines[0].upstream_cluster, 'outbound|8080||api.default.svc.cluster.local');
    assert.equal(lines[0].response_flags, '-');
    assert.equal(lines[0].bytes_sent, 'up:/hello'.length);
    assert.equal(lines[0].bytes_received, 0);
    assert.equal(lines[0].trace_id, '0af7651916cd43dd8448eb211c80319c');
    assert.equal(lines[0].request_id, 'req-1');
    assert.equal(lines[1].response_flags, 'NR');
  });

  it('drains: idle keep-alive clients are told to go away at once, not at the drain deadline', async function () {
    // The drain deadline (30 s) is far beyond this test's timeout: only a drain that
    // closes idle connections itself can finish in time.
    this.timeout(8000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const first = await get(sidecar.ports.outbound, 'api:8080', '/a', agent);
    assert.equal(first.status, 200);
    const socketClosed = new Promise<void>((resolve) => {
      const sockets = Object.values(agent.freeSockets).flat();
      assert.equal(sockets.length, 1, 'one idle keep-alive socket');
      sockets[0]?.once('close', () => resolve());
    });
    const stopping = sidecar.stop(30_000);
    assert.equal(sidecar.ready, false, 'not ready while draining');
    await socketClosed;
    await stopping;
    agent.destroy();
  });
});
