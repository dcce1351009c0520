/**
 * The sidecar as a real process: SIGTERM while requests are in flight lets every one of
 * them finish, then the process exits 0. Malformed requests cost that request alone.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { mesh, service } from '../support/mesh.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

function startProxy(
  xdsPort: number,
): Promise<{ child: ChildProcess; outbound: number; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        MAIN,
        'proxy',
        '--xds',
        `127.0.0.1:${xdsPort}`,
        '--service',
        'client',
        '--outbound-port',
        '0',
        '--inbound-port',
        '0',
        '--admin-port',
        '0',
        '--metrics-port',
        '0',
        '--ready-port',
        '0',
        '--drain',
        '5000',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let out = '';
    const timer = setTimeout(() => reject(new Error(`proxy did not start: ${out}`)), 10_000);
    child.stdout!.on('data', async (d) => {
      out += d;
      const m = /outbound (\d+), inbound \d+, admin \d+, metrics \d+, ready (\d+)/.exec(out);
      if (!m) return;
      child.stdout!.removeAllListeners('data');
      for (let i = 0; i < 200; i++) {
        const ok = await fetch(`http://127.0.0.1:${m[2]}/healthz/ready`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        await new Promise((r) => setTimeout(r, 25));
      }
      clearTimeout(timer);
      resolve({ child, outbound: Number(m[1]), exited });
    });
  });
}

function get(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ port, path: '/', headers: { host } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
    s.write(bytes);
    setTimeout(() => s.destroy(), 2000);
  });
}

describe('sidecar process', function () {
  this.timeout(30_000);
  let upstream: http.Server;
  let cp: ControlPlane;
  let inFlight = 0;

  before(async () => {
    upstream = http.createServer((_req, res) => {
      inFlight++;
      setTimeout(() => {
        inFlight--;
        res.end('slow ok');
      }, 400);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const port = (upstream.address() as AddressInfo).port;
    cp = await ControlPlane.start({
      config: mesh(service('slow', 8080, 'http', [port])),
      xdsPort: 0,
      httpPort: 0,
      log: silentLogger(),
    });
  });

  after(async () => {
    await cp.close();
    upstream.close();
  });

  it('SIGTERM with 20 requests in flight: all 20 complete, then it exits 0', async () => {
    const proxy = await startProxy(cp.xdsPort);
    const requests = Array.from({ length: 20 }, () => get(proxy.outbound, 'slow:8080'));
    for (let i = 0; i < 100 && inFlight < 20; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(inFlight, 20, 'all 20 reached the upstream before SIGTERM');
    proxy.child.kill('SIGTERM');
    const statuses = await Promise.all(requests);
    console.log(
      `      in flight at SIGTERM: 20; completed: ${statuses.filter((s) => s === 200).length}`,
    );
    assert.deepEqual(statuses, Array(20).fill(200));
    assert.equal(await proxy.exited, 0);
  });

  it('a malformed request, an oversized header or a client that leaves costs that request alone', async () => {
    const proxy = await startProxy(cp.xdsPort);
    try {
      const bad = await rawExchange(
        proxy.outbound,
        'GET / HTTP/1.1\r\nHost: slow:8080\r\nBad Header: x\r\n\r\n',
      );
      assert.match(bad, /^HTTP\/1\.1 400 /);
      const big = await rawExchange(
        proxy.outbound,
        `GET / HTTP/1.1\r\nHost: slow:8080\r\nX: ${'a'.repeat(40_000)}\r\n\r\n`,
      );
      assert.match(big, /^HTTP\/1\.1 431 /);
      // A client that sends a request and goes away before the (slow) response.
      const s = net.connect(proxy.outbound, '127.0.0.1');
      s.write('GET / HTTP/1.1\r\nHost: slow:8080\r\n\r\n');
      await new Promise((r) => setTimeout(r, 100));
      s.destroy();
      assert.equal(await get(proxy.outbound, 'slow:8080'), 200, 'still serving');
      assert.equal(proxy.child.exitCode, null, 'still running');
    } finally {
      proxy.child.kill('SIGTERM');
      await proxy.exited;
    }
  });
});
