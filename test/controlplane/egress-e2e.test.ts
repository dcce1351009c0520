/**
 * The egress gateway configured from the mesh file, end to end with real processes: the
 * control plane reads `egress:`, `ferry gateway --mode egress` (a real process) gets its
 * listeners from it, and reaches "external" servers on 127.0.0.1 by the name `localhost`
 * (LOGICAL_DNS, resolved by the system) for declared hosts only; and a client sidecar
 * (`ferry proxy`, a real process) sends its app's HTTP to a declared host through the
 * gateway (announced with `--address`), an undeclared host not.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import {
  freePort,
  type GatewayProcess,
  startGateway,
  waitReady,
} from '../proxy/gateway/gateway-harness.js';
import { type HttpUpstream, startHttpUpstream } from '../support/http-upstream.js';
import { OpensslCa } from '../support/server-certs.js';
import { type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import { waitFor } from '../support/wait-for.js';

/** A GET with this Host (fetch cannot set Host). */
function get(port: number, host: string): Promise<{ status: number; flags: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/out', headers: { host }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            flags: String(res.headers['x-ferry-response-flags'] ?? ''),
            body,
          }),
        );
      })
      .on('error', reject);
  });
}

/** Opens TLS with this SNI through the gateway: the text the server sent, or undefined if closed. */
function tlsThrough(port: number, servername: string, ca: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, ca });
    let got = '';
    s.on('data', (d) => {
      got += d;
    });
    s.once('end', () => resolve(got === '' ? undefined : got));
    s.once('error', () => resolve(undefined));
    s.once('close', () => resolve(got === '' ? undefined : got));
  });
}

describe('egress end to end: mesh file egress: -> control plane -> ferry gateway --mode egress -> external host', function () {
  this.timeout(90_000);
  let dir: string;
  let ca: OpensslCa;
  let cp: ControlPlane;
  let external: HttpUpstream;
  let undeclared: HttpUpstream;
  let externalTls: tls.Server;
  let gateway: GatewayProcess;
  let client: SidecarProcess;
  let httpPort = 0;
  let tlsPort = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-egress-e2e-'));
    ca = OpensslCa.create();
    const cert = ca.issue('localhost');
    external = await startHttpUpstream('external-api');
    undeclared = await startHttpUpstream('undeclared');
    externalTls = tls.createServer({ key: cert.key, cert: cert.cert }, (s) =>
      s.end('hello from outside'),
    );
    await new Promise<void>((r) => externalTls.listen(0, '127.0.0.1', r));
    const tlsExternalPort = (externalTls.address() as net.AddressInfo).port;
    httpPort = await freePort();
    tlsPort = await freePort();
    await writeFile(
      join(dir, 'mesh.yaml'),
      `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
egress:
  gateway: egress/out
  httpPort: ${httpPort}
  tlsPort: ${tlsPort}
  hosts:
    - { host: localhost, port: ${external.port}, protocol: http }
    - { host: localhost, port: ${tlsExternalPort}, protocol: tls }
`,
    );
    cp = await ControlPlane.start({
      configPath: join(dir, 'mesh.yaml'),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    gateway = await startGateway(
      { port: cp.xdsPort },
      ['--mode', 'egress', '--concurrency', '1', '--address', '127.0.0.1'],
      'egress/out',
    );
    await waitReady(gateway);
    client = await startSidecarProcess([
      ...['--xds', `127.0.0.1:${cp.xdsPort}`, '--service', 'client', '--id', 'client-1'],
    ]);
  });

  after(async () => {
    await client?.kill();
    gateway?.kill();
    await cp?.close();
    await external?.close();
    await undeclared?.close();
    externalTls?.close();
    ca?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('sends HTTP for a declared host to it, by name, and the gateway counts it', async () => {
    let res = { status: 0, flags: '', body: '' };
    // The listener can be up a moment before its route configuration: wait for the route.
    await waitFor(
      'the declared host to be routed',
      async () => {
        res = await get(httpPort, `localhost:${external.port}`).catch(() => res);
        return res.status === 200;
      },
      20_000,
      50,
    );
    assert.equal(res.body, 'external-api');
    assert.equal(external.seen.at(-1)?.host, `localhost:${external.port}`);
    const metrics = await (
      await fetch(`http://127.0.0.1:${gateway.metricsPort}/stats/prometheus`)
    ).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{') && l.includes('response_code="200"'));
    assert.ok(line, metrics);
    assert.ok(Number(line.split(' ').at(-1)) >= 1, line);
  });

  it('answers 404 NR for an undeclared host, though it is reachable, and sends it nothing', async () => {
    const res = await get(httpPort, `localhost:${undeclared.port}`);
    assert.equal(res.status, 404);
    assert.equal(res.flags, 'NR');
    assert.equal(undeclared.seen.length, 0);
  });

  /** The gateway's istio_requests_total summed over its series. */
  async function gatewayRequests(): Promise<number> {
    const metrics = await (
      await fetch(`http://127.0.0.1:${gateway.metricsPort}/stats/prometheus`)
    ).text();
    return metrics
      .split('\n')
      .filter((l) => l.startsWith('istio_requests_total{'))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  }

  it("sends a sidecar's request for a declared http host through the gateway, Host kept", async () => {
    const before = await gatewayRequests();
    const seen = external.seen.length;
    let res = { status: 0, flags: '', body: '' };
    // The sidecar learns the gateway's endpoint once the control plane has published it.
    await waitFor(
      'the declared host to be reached through the gateway',
      async () => {
        res = await get(client.ports.outbound, `localhost:${external.port}`).catch(() => res);
        return res.status === 200;
      },
      20_000,
      50,
    );
    assert.equal(res.body, 'external-api');
    assert.equal(external.seen.at(-1)?.host, `localhost:${external.port}`);
    assert.ok(external.seen.length > seen);
    // Every request the external server saw from the sidecar passed the gateway.
    assert.ok((await gatewayRequests()) - before >= external.seen.length - seen);
  });

  it("does not send a sidecar's request for an undeclared host to the gateway", async () => {
    const before = await gatewayRequests();
    const res = await get(client.ports.outbound, `localhost:${undeclared.port}`);
    assert.notEqual(res.body, 'undeclared', JSON.stringify(res));
    assert.equal(await gatewayRequests(), before);
    assert.equal(undeclared.seen.length, 0);
  });

  it("sends an app's TLS for a declared tls host from its sidecar through the gateway (no CA: plaintext hop)", async () => {
    let got: string | undefined;
    await waitFor(
      'the tls host to be reached through the sidecar',
      async () => {
        got = await tlsThrough(client.ports.outbound, 'localhost', ca.rootPem);
        return got !== undefined;
      },
      20_000,
      50,
    );
    assert.equal(got, 'hello from outside');
    const metrics = await (
      await fetch(`http://127.0.0.1:${gateway.metricsPort}/stats/prometheus`)
    ).text();
    assert.match(metrics, /istio_tcp_connections_opened_total\{[^}]*\} [1-9]/);
    // A name nobody declared, sent to the sidecar's own port: not passed on anywhere.
    assert.equal(
      await tlsThrough(client.ports.outbound, 'evil.example.com', ca.rootPem),
      undefined,
    );
  });

  it('passes TLS for the declared name through by SNI; an undeclared SNI is closed', async () => {
    assert.equal(await tlsThrough(tlsPort, 'localhost', ca.rootPem), 'hello from outside');
    assert.equal(await tlsThrough(tlsPort, 'evil.example.com', ca.rootPem), undefined);
  });
});
