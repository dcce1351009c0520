/**
 * Tunnels (WebSocket upgrades, CONNECT) go through the same stack as requests, over a live
 * sidecar and real upstreams: they count against the cluster's circuit breakers for their
 * whole life, their connect failures reach outlier detection, and an authorization denial of
 * an upgrade reaches the denial log with the rule that made it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { AuthorizationRule } from '../../../src/mesh/index.js';
import { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { closedPort } from '../../support/http-upstream.js';
import { clusterName, endpoint, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

/** Opens a WebSocket through the sidecar: 'open', or the status and flags it was refused with. */
function upgrade(port: number, host: string, path = '/ws'): Promise<WebSocket | string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host } });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => {
      resolve(`${res.statusCode} ${res.headers['x-ferry-response-flags'] ?? ''}`);
      res.resume();
    });
    ws.once('error', reject);
  });
}

function closeWs(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

/** An app that holds requests to /hold until released and accepts WebSocket upgrades. */
async function startApp(): Promise<{
  port: number;
  held: ServerResponse[];
  close(): Promise<void>;
}> {
  const held: ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/hold') held.push(res);
    else res.end('ok');
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (d) => ws.send(d)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    held,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('upgrade: tunnels go through the stack', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  let app: Awaited<ReturnType<typeof startApp>>;
  let deadPort: number;
  // An upstream that takes connections and never answers.
  let silent: net.Server;
  const taken: net.Socket[] = [];
  const small = clusterName('small', 8080);
  const flaky = clusterName('flaky', 8080);

  before(async () => {
    app = await startApp();
    deadPort = await closedPort();
    silent = net.createServer((s) => taken.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cp = await startControlPlane(
      mesh(
        service('small', 8080, 'http', [app.port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            circuitBreaker: { maxRequests: 1 },
          },
        }),
        service('mute', 8080, 'http', [(silent.address() as AddressInfo).port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            outlierDetection: { consecutiveGatewayErrors: 1, intervalMs: 60_000 },
          },
        }),
        service('flaky', 8080, 'http', [], {
          endpoints: [endpoint('127.0.0.1', deadPort, 8080), endpoint('127.0.0.1', app.port, 8080)],
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            outlierDetection: {
              consecutiveGatewayErrors: 2,
              intervalMs: 60_000,
              baseEjectionTimeMs: 60_000,
              maxEjectionPercent: 50,
            },
          },
        }),
      ),
    );
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, small, 1);
    await waitForHosts(client, flaky, 2);
  });

  after(async () => {
    await client?.stop(0);
    await cp?.close();
    await app?.close();
    silent?.close();
  });

  const activeRequests = () =>
    (client.config!.clusters.get(small)!.breakers.toJSON() as { active_requests: number })
      .active_requests;

  it('regression: with max_requests 1 and a request in flight, a WebSocket upgrade gets 503 UO (was 101)', async () => {
    const held = send(client.ports.outbound, { host: 'small:8080', path: '/hold' });
    await waitFor('the request held by the app', () => app.held.length === 1);
    assert.equal(await upgrade(client.ports.outbound, 'small:8080'), '503 UO');
    app.held.shift()!.end('released');
    assert.equal((await held).status, 200);
    await waitFor('the slot given back', () => activeRequests() === 0);
    const ws = await upgrade(client.ports.outbound, 'small:8080');
    assert.ok(ws instanceof WebSocket, `upgrade after release: ${String(ws)}`);
    await closeWs(ws);
  });

  it('an open WebSocket holds its slot for its life: a request meanwhile gets 503 UO, after it 200', async () => {
    await waitFor('no slot taken', () => activeRequests() === 0);
    const ws = await upgrade(client.ports.outbound, 'small:8080');
    assert.ok(ws instanceof WebSocket, `upgrade: ${String(ws)}`);
    assert.equal(activeRequests(), 1);
    const during = await send(client.ports.outbound, { host: 'small:8080' });
    assert.equal(`${during.status} ${during.flags}`, '503 UO');
    await closeWs(ws);
    await waitFor('the tunnel to give its slot back', () => activeRequests() === 0);
    assert.equal((await send(client.ports.outbound, { host: 'small:8080' })).status, 200);
    const host = client.config!.clusters.get(small)!.hostSet.hosts[0]!;
    await waitFor('the host idle again', () => host.active === 0);
  });

  it('a client that leaves before the upstream answers its upgrade is not counted against the host', async () => {
    const mute = clusterName('mute', 8080);
    try {
      await waitForHosts(client, mute, 1);
      const host = client.config!.clusters.get(mute)!.hostSet.hosts[0]!;
      const failuresBefore = client.stats.upstreamConnectFailures;
      const socket = net.connect(client.ports.outbound, '127.0.0.1', () =>
        socket.write(
          'GET /ws HTTP/1.1\r\nhost: mute:8080\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n',
        ),
      );
      socket.on('error', () => undefined);
      await waitFor('the upgrade at the upstream', () => taken.length === 1);
      socket.destroy();
      await waitFor('the tunnel given up', () => host.active === 0);
      assert.equal(host.rqError, 0);
      assert.equal(host.ejected, false);
      assert.equal(client.stats.upstreamConnectFailures, failuresBefore);
    } finally {
      for (const s of taken) s.destroy();
    }
  });

  it('regression: tunnel connect failures reach outlier detection (the dead host is ejected)', async () => {
    const cluster = client.config!.clusters.get(flaky)!;
    const dead = cluster.hostSet.hosts.find((h) => h.port === deadPort)!;
    const results: string[] = [];
    // Round robin alternates between the two hosts: the dead one fails twice in a row
    // within a few upgrades, unless nothing tells outlier detection about it.
    for (let i = 0; i < 8 && !dead.ejected; i++) {
      const r = await upgrade(client.ports.outbound, 'flaky:8080');
      if (r instanceof WebSocket) {
        results.push('101');
        await closeWs(r);
      } else results.push(r);
    }
    assert.ok(dead.ejected, `dead host not ejected after ${results.join(', ')}`);
    assert.ok(results.includes('503 UF'), results.join(', '));
    assert.ok(dead.rqError >= 2);
    // Once ejected, every upgrade goes to the live host.
    for (let i = 0; i < 3; i++) {
      const r = await upgrade(client.ports.outbound, 'flaky:8080');
      assert.ok(r instanceof WebSocket, `after ejection: ${String(r)}`);
      await closeWs(r);
    }
  });
});

describe('upgrade: an authorization denial is logged with its rule', function () {
  this.timeout(30_000);

  it('regression: a WebSocket upgrade refused by a DENY rule reaches the denial log (rule, peer, path)', async () => {
    const app = await startApp();
    const DENY_ADMIN: AuthorizationRule = {
      name: 'no-admin',
      action: 'DENY',
      from: [],
      to: [{ methods: [], paths: [{ prefix: '/admin' }], ports: [] }],
    };
    const cp = await startControlPlane(
      mesh(service('guarded', 8080, 'http', [], { authorization: [DENY_ADMIN] })),
    );
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(s) });
    const guard = await Sidecar.start({
      xds: `127.0.0.1:${cp.xdsPort}`,
      service: 'guarded',
      appPort: app.port,
      inboundPort: 0,
      outboundPort: 0,
      adminPort: 0,
      metricsPort: 0,
      readyPort: 0,
      log,
    });
    try {
      await guard.waitReady(5000);
      const deniedBefore = guard.stats.denied;
      const answer = await rawUpgrade(guard.ports.inbound, 'guarded:8080', '/admin/ws');
      assert.match(answer, /^HTTP\/1\.1 403 /);
      assert.equal(guard.stats.denied, deniedBefore + 1);
      const denials = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l.msg === 'request denied by authorization policy');
      assert.equal(denials.length, 1, lines.join(''));
      assert.match(String(denials[0]!.rule), /no-admin/);
      assert.equal(denials[0]!.path, '/admin/ws');
      assert.equal(denials[0]!.method, 'GET');
      // An allowed upgrade still opens.
      assert.match(
        await rawUpgrade(guard.ports.inbound, 'guarded:8080', '/ws'),
        /^HTTP\/1\.1 101 /,
      );
    } finally {
      await guard.stop(0);
      await cp.close();
      await app.close();
    }
  });
});

describe('upgrade: a tunnel reaches the access log', function () {
  this.timeout(30_000);

  it('regression: an open WebSocket is logged once when it closes, with its bytes both ways', async () => {
    const app = await startApp();
    const cp = await startControlPlane(mesh(service('echo', 8080, 'http', [app.port])));
    const dir = mkdtempSync(path.join(tmpdir(), 'ferry-tunnel-log-'));
    const file = path.join(dir, 'access.jsonl');
    const client = await startSidecar(cp.xdsPort, { service: 'client', accessLog: file });
    try {
      await waitForHosts(client, clusterName('echo', 8080), 1);
      const ws = await upgrade(client.ports.outbound, 'echo:8080', '/ws');
      assert.ok(ws instanceof WebSocket, `upgrade: ${String(ws)}`);
      const echoed = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
      ws.send('hello');
      assert.equal(await echoed, 'hello');
      await closeWs(ws);
      const lines = () =>
        (existsSync(file) ? readFileSync(file, 'utf8') : '')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      // The log is written asynchronously: wait for the line.
      await waitFor('the tunnel logged', () => lines().some((l) => l.path === '/ws'));
      const logged = lines().filter((l) => l.path === '/ws');
      assert.equal(logged.length, 1);
      const line = logged[0]!;
      assert.equal(line.response_code, 101);
      assert.equal(line.response_flags, '-');
      assert.equal(line.upstream_cluster, clusterName('echo', 8080));
      assert.equal(line.upstream_host, `127.0.0.1:${app.port}`);
      // "hello" went up in a masked frame (2 + 4 + 5 bytes) and came back unmasked (2 + 5),
      // each side's close frame after it.
      assert.ok(Number(line.bytes_received) >= 11, `bytes_received ${line.bytes_received}`);
      assert.ok(Number(line.bytes_sent) >= 7, `bytes_sent ${line.bytes_sent}`);
      assert.ok(Number(line.duration_ms) > 0);
    } finally {
      await client.stop(0);
      await cp.close();
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** Sends a WebSocket upgrade on a raw socket; resolves with the answer's head. */
function rawUpgrade(port: number, host: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nhost: ${host}\r\nconnection: upgrade\r\nupgrade: websocket\r\n` +
          'sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
      ),
    );
    let text = '';
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(text.slice(0, text.indexOf('\r\n\r\n')));
      }
    });
    socket.on('error', reject);
  });
}
