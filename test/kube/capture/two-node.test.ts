/**
 * Transparent capture end to end, laid out like a cluster (issue 7): two "nodes" joined by a
 * VXLAN overlay, two pods on each, the control plane on node 1. Every meshed pod runs the
 * real `ferry init` and a real sidecar process as uid 1337; the apps know nothing of the
 * mesh. The client app on node 1 calls pods on node 2 by IP and port, with plain HTTP and
 * plain TCP, and the calls cross the overlay as mutual TLS between the two sidecars: an
 * iptables string match on node 2's overlay interface sees none of the apps' plaintext
 * (and does see it on the passthrough call, which shows it would), and the receiving
 * sidecars count the connections as `connection_security_policy="mutual_tls"` from the
 * client's identity. Calls outside the mesh go through the passthrough unchanged.
 * Needs root, `ip`, `iptables` and the SO_ORIGINAL_DST addon (CI has all three).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor } from '../../support/wait-for.js';
import { type ClusterNetwork, createClusterNetwork } from '../support/cluster-network.js';
import { captureSkipReason } from '../support/netns.js';

const exec = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(HERE, '../../../src/cli/main.js');
const SUPPORT = path.join(HERE, '../support');
const PROXY_UID = 1337;
/** A file of the dependencies the sidecar loads (node_modules may be a link elsewhere). */
const DEPENDENCY = createRequire(import.meta.url).resolve('@grpc/grpc-js');
/** What the apps send; it must never be seen on the overlay for meshed traffic. */
const MARKER = `ferry-plaintext-${process.pid}`;

interface Packets {
  readonly packets: number;
  readonly bytes: number;
}

describe('capture: two nodes, a VXLAN overlay, ferry init and sidecars in every meshed pod', function () {
  this.timeout(120_000);
  let c: ClusterNetwork;
  let dir: string;
  const node = (...argv: string[]) => [process.execPath, ...argv];

  before(async function () {
    // The sidecar runs as uid 1337: the CLI and its dependencies must be readable to it.
    const skip = await captureSkipReason(['ip', 'iptables', 'nsenter'], {
      uid: PROXY_UID,
      files: [MAIN, DEPENDENCY],
    });
    if (skip) {
      console.log(`    (skipped: ${skip})`);
      this.skip();
    }
    c = await createClusterNetwork();
    const [node1, node2] = c.nodes;
    const [a1, a2, b1, b2] = c.pods;
    // Readable by uid 1337: the CA's root and the tokens.
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-two-node-'));
    await chmod(dir, 0o755);
    const meshFile = path.join(dir, 'mesh.yaml');
    await writeFile(
      meshFile,
      [
        'mesh: { mtls: STRICT }',
        'services:',
        '  - name: web',
        '    ports: [{ port: 8080, protocol: http }]',
        '  - name: echo',
        '    ports: [{ port: 9000, protocol: tcp }]',
        '  - name: client',
        '    ports: [{ port: 8080, protocol: http }]',
        '',
      ].join('\n'),
    );
    const caDir = path.join(dir, 'ca');
    await c.start(
      node1.ns,
      node(
        MAIN,
        'control-plane',
        '--config',
        meshFile,
        '--host',
        '0.0.0.0',
        '--ca-dir',
        caDir,
        '--xds-port',
        '15010',
        '--http-port',
        '15014',
        '--grace',
        '1000',
        '--warmup',
        '0',
        '--log-level',
        'warn',
      ),
      /xDS on/,
    );
    // The root certificate is public; uid 1337 reads it.
    await chmod(caDir, 0o755);
    await chmod(path.join(caDir, 'root-cert.pem'), 0o644);
    const sidecar = async (
      pod: (typeof c.pods)[number],
      service: string,
      appPort: number | undefined,
    ) => {
      const { stdout: token } = await exec(process.execPath, [
        MAIN,
        'token',
        '--ca-dir',
        caDir,
        '--namespace',
        'default',
        '--service-account',
        service,
      ]);
      const tokenFile = path.join(dir, `${service}.token`);
      await writeFile(tokenFile, token.trim(), { mode: 0o644 });
      // The real `ferry init`, in the pod, as the init container runs it.
      await c.output(pod.ns, node(MAIN, 'init'));
      await c.start(
        pod.ns,
        node(
          MAIN,
          'proxy',
          '--xds',
          `${node1.ip}:15012`,
          '--ca-root',
          path.join(caDir, 'root-cert.pem'),
          '--token-file',
          tokenFile,
          '--service',
          service,
          '--service-account',
          service,
          '--address',
          pod.ip,
          '--bind',
          '::',
          '--id',
          `${service}-${pod.ns}`,
          '--log-level',
          'warn',
          ...(appPort === undefined ? [] : ['--app-port', String(appPort)]),
        ),
        /outbound \d+, inbound \d+/,
        PROXY_UID,
      );
    };
    // Apps: web (HTTP) and echo (TCP) on node 2, in the mesh; a plain HTTP server in a2 and
    // an echo server on node 2 itself, outside it.
    const app = (ns: string, ...listeners: string[]) =>
      c.start(ns, node(path.join(SUPPORT, 'app-server.js'), ...listeners), /ready/);
    await app(b1.ns, 'http:8080:web');
    await app(b2.ns, 'echo:9000:echo');
    await app(a2.ns, 'http:8080:outside');
    await app(node2.ns, 'echo:7070:node2', 'greet:5432:pg', 'greet:7072:greeter');
    await sidecar(b1, 'web', 8080);
    await sidecar(b2, 'echo', 9000);
    await sidecar(a1, 'client', undefined);
    // The client's sidecar knows both pods (auto-registered) before the app calls them.
    await waitFor(
      "the client sidecar's chains for web's and echo's pods",
      async () => {
        const dump = await call(a1.ns, 'http', 'http://127.0.0.1:15000/config_dump');
        const chains = JSON.stringify(dump.body ?? '');
        return chains.includes(b1.ip) && chains.includes(b2.ip);
      },
      30_000,
      200,
    );
    // Count what crosses the overlay into node 2: all TCP to the two pods, and any packet
    // carrying the apps' plaintext.
    for (const rule of [
      ['-i', c.overlay, '-p', 'tcp', '-d', b1.ip],
      ['-i', c.overlay, '-p', 'tcp', '-d', b2.ip],
      ['-i', c.overlay, '-m', 'string', '--string', MARKER, '--algo', 'bm'],
    ]) {
      await c.run(node2.ns, 'iptables', '-w', '-A', 'FORWARD', ...rule);
    }
    await c.run(
      node2.ns,
      'iptables',
      '-w',
      '-A',
      'INPUT',
      '-i',
      c.overlay,
      '-m',
      'string',
      '--string',
      MARKER,
      '--algo',
      'bm',
    );
  });

  after(async () => {
    await c?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function call(
    ns: string,
    ...args: string[]
  ): Promise<Record<string, unknown> & { body?: string }> {
    const out = await c.output(ns, node(path.join(SUPPORT, 'app-client.js'), ...args));
    return JSON.parse(out) as Record<string, unknown> & { body?: string };
  }

  /** The counters of the FORWARD (or INPUT) rules on node 2, in the order they were added. */
  async function counters(chain: 'FORWARD' | 'INPUT'): Promise<Packets[]> {
    const out = await c.run(c.nodes[1].ns, 'iptables', '-w', '-L', chain, '-v', '-n', '-x');
    return out
      .split('\n')
      .slice(2)
      .filter((l) => l.trim() !== '')
      .map((l) => {
        const [packets, bytes] = l.trim().split(/\s+/);
        return { packets: Number(packets), bytes: Number(bytes) };
      });
  }

  async function metrics(pod: (typeof c.pods)[number]): Promise<string> {
    const r = await call(pod.ns, 'http', 'http://127.0.0.1:15020/stats/prometheus');
    return r.body ?? '';
  }

  it('HTTP to a pod on the other node by IP: answered through both sidecars, mTLS on the overlay', async () => {
    const [a1, , b1] = c.pods;
    const r = await call(a1.ns, 'http', `http://${b1.ip}:8080/hello/${MARKER}`, `body ${MARKER}`);
    assert.equal(r.status, 200, JSON.stringify(r));
    const answer = JSON.parse(r.body!) as {
      name: string;
      path: string;
      body: string;
      peer: string;
    };
    assert.equal(answer.name, 'web');
    assert.equal(answer.path, `/hello/${MARKER}`);
    assert.equal(answer.body, `body ${MARKER}`);
    // The app was called by its own sidecar, not by the client.
    assert.equal(answer.peer, '127.0.0.1');
    const m = await metrics(b1);
    const line = m
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{') && l.includes('reporter="destination"'));
    console.log(`      web's sidecar: ${line}`);
    assert.match(line ?? '', /connection_security_policy="mutual_tls"/);
    assert.match(
      line ?? '',
      /source_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/client"/,
    );
  });

  it('TCP to a pod on the other node by IP: echoed through both sidecars, mTLS on the overlay', async () => {
    const [a1, , , b2] = c.pods;
    const payload = `tcp ${MARKER} ${'x'.repeat(100_000)}`;
    // Ten times: an app that closes right after its last bytes used to lose the tail of the
    // reply on about one connection in four (the TCP proxy ended the connection when the app
    // closed, before the TLS side had sent everything).
    for (let i = 0; i < 10; i++) {
      const r = await call(a1.ns, 'tcp', b2.ip, '9000', payload);
      assert.equal(typeof r.received, 'string', JSON.stringify(r).slice(0, 300));
      // The echo server saw its own sidecar (loopback) as the peer.
      assert.equal(
        r.received,
        `echo 127.0.0.1 ${payload}`,
        `connection ${i}: ${String(r.received).length} bytes`,
      );
    }
    await waitFor('the echo sidecar to count the closed connection', async () =>
      /istio_tcp_connections_closed_total\{[^}]*reporter="destination"/.test(await metrics(b2)),
    );
    const line = (await metrics(b2))
      .split('\n')
      .find((l) => l.startsWith('istio_tcp_received_bytes_total{') && l.includes('destination'));
    console.log(`      echo's sidecar: ${line}`);
    assert.match(line ?? '', /connection_security_policy="mutual_tls"/);
    assert.match(
      line ?? '',
      /source_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/client"/,
    );
    assert.ok(Number(line?.split(' ').at(-1)) >= 10 * payload.length);
  });

  it("the apps' plaintext never crossed the overlay, though the traffic did", async () => {
    const [toWeb, toEcho, marker] = await counters('FORWARD');
    const [markerIn] = await counters('INPUT');
    console.log(
      `      overlay -> web's pod: ${toWeb!.packets} packets, ${toWeb!.bytes} B; -> echo's pod: ${toEcho!.packets} packets, ${toEcho!.bytes} B; packets with the plaintext marker: ${marker!.packets + markerIn!.packets}`,
    );
    assert.ok(toWeb!.packets > 0 && toEcho!.bytes > 1_000_000, 'the calls crossed the overlay');
    assert.equal(marker!.packets, 0);
    assert.equal(markerIn!.packets, 0);
  });

  it('outside the mesh, the passthrough: a pod without a sidecar, and the other node itself', async () => {
    const [a1, a2] = c.pods;
    const r = await call(a1.ns, 'http', `http://${a2.ip}:8080/outside`);
    assert.equal(r.status, 200);
    const answer = JSON.parse(r.body!) as { name: string; peer: string };
    assert.equal(answer.name, 'outside');
    // Passed through by the client's sidecar: the server sees the client pod's address.
    assert.equal(answer.peer, a1.ip);
    const node2 = c.nodes[1];
    const echoed = await call(a1.ns, 'tcp', node2.ip, '7070', `passthrough ${MARKER}`);
    assert.equal(echoed.received, `node2 ${a1.ip} passthrough ${MARKER}`);
    // This one crossed the overlay in plaintext: the counter that stayed at 0 sees it.
    const [markerIn] = await counters('INPUT');
    console.log(
      `      passthrough to node 2: packets with the plaintext marker: ${markerIn!.packets}`,
    );
    assert.ok(markerIn!.packets > 0);
    const out = await metrics(a1);
    const passthrough = out
      .split('\n')
      .filter((l) => l.startsWith('istio_tcp_connections_opened_total{') && l.includes('source'));
    console.log(`      client's sidecar, outbound TCP: ${passthrough.length} series`);
    assert.ok(passthrough.length > 0);
  });

  it('detection outside the mesh: HTTP/1.1 naming a mesh service by Host is routed in the mesh', async () => {
    const [a1] = c.pods;
    // Node 1's own address is neither a virtual IP nor a meshed endpoint: the passthrough
    // chain. Nothing listens there on 8080; the Host names web.
    const r = await call(a1.ns, 'http', `http://${c.nodes[0].ip}:8080/by-host`, '', 'web:8080');
    assert.equal(r.status, 200, JSON.stringify(r));
    const answer = JSON.parse(r.body!) as { name: string; peer: string };
    assert.equal(answer.name, 'web');
    assert.equal(answer.peer, '127.0.0.1', "through web's sidecar");
    // Another Host is not the mesh's business: it passes through (and finds nothing there).
    const other = await call(a1.ns, 'http', `http://${c.nodes[0].ip}:8080/`, '', 'example.com');
    assert.equal(other.error, 'ECONNRESET', JSON.stringify(other));
  });

  it('server-first protocols through the passthrough: at once on an opaque port, after the detection wait on another', async () => {
    const [a1] = c.pods;
    const node2 = c.nodes[1];
    const opaque = await call(a1.ns, 'greet', node2.ip, '5432', 'select 1');
    assert.equal(opaque.received, 'pg hello\nselect 1');
    const detected = await call(a1.ns, 'greet', node2.ip, '7072', 'EHLO client');
    assert.equal(detected.received, 'greeter hello\nEHLO client');
    console.log(
      `      greeting after connect: ${opaque.greetingMs} ms on opaque port 5432, ${detected.greetingMs} ms on 7072 (detection gives up after 100 ms of silence)`,
    );
  });
});
