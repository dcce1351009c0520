/**
 * IPv6 through a real sidecar in an injected-like pod: a pod network namespace with IPv4 and
 * IPv6 addresses, the real `ferry init` (iptables and ip6tables), and a real `ferry proxy`
 * as uid 1337 bound as the injector binds it (`--bind ::`). The app in the pod connects over
 * IPv6 to a peer's address and port, and the connection goes through the sidecar, which
 * passes it on to the original destination (read with IP6T_SO_ORIGINAL_DST): the peer's
 * listeners, one per family and port, answer with their names, so a wrong address, family
 * or port shows. IPv4 goes through the same sidecar (IPv4-mapped on the `::` socket), and
 * inbound IPv6 reaches the app (on 127.0.0.1 only) through the sidecar. With `--bind 0.0.0.0`
 * (what the injector used to give) the IPv6 connections are refused: nothing listens on
 * [::1]:15001, where ip6tables sends them. Needs root, `ip`, `iptables`, `ip6tables`,
 * `nsenter`, `ss` and the SO_ORIGINAL_DST addon.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { waitFor } from '../../support/wait-for.js';
import {
  captureSkipReason,
  createPodNetwork,
  killAll,
  type NamespaceProcess,
  type PodNetwork,
  startInNamespace,
} from '../support/netns.js';

const exec = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(HERE, '../../../src/cli/main.js');
const SUPPORT = path.join(HERE, '../support');
const PROXY_UID = 1337;
/** A file of the dependencies the sidecar loads (node_modules may be a link elsewhere). */
const DEPENDENCY = createRequire(import.meta.url).resolve('@grpc/grpc-js');

interface TcpLog {
  readonly direction: string;
  readonly protocol: string;
  readonly upstream_cluster: string;
  readonly upstream_host: string | null;
  readonly response_flags: string;
}

describe('capture: IPv6 through a real sidecar bound to :: (dual-stack)', function () {
  this.timeout(60_000);
  let n: PodNetwork;
  let dir: string;
  let sidecar: NamespaceProcess;
  const children: ChildProcess[] = [];

  const start = (ns: string, argv: string[], until: RegExp, uid?: number) =>
    startInNamespace(children, ns, argv, until, uid);

  async function call(ns: string, ...args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await exec(
      'nsenter',
      [`--net=/run/netns/${ns}`, process.execPath, path.join(SUPPORT, 'app-client.js'), ...args],
      { timeout: 30_000 },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  /** The sidecar's TCP access log entries so far. */
  function tcpLog(): TcpLog[] {
    return sidecar
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('"protocol":"TCP"'))
      .map((l) => JSON.parse(l) as TcpLog);
  }

  async function logged(direction: string, upstream: string): Promise<TcpLog> {
    let found: TcpLog | undefined;
    await waitFor(`an ${direction} access log entry to ${upstream}`, async () => {
      found = tcpLog().find((e) => e.direction === direction && e.upstream_host === upstream);
      return found !== undefined;
    });
    return found!;
  }

  before(async function () {
    // The sidecar runs as uid 1337: the CLI and its dependencies must be readable to it.
    const skip = await captureSkipReason(['ip', 'iptables', 'ip6tables', 'nsenter', 'ss'], {
      uid: PROXY_UID,
      files: [MAIN, DEPENDENCY],
    });
    if (skip) {
      console.log(`    (skipped: ${skip})`);
      this.skip();
    }
    n = await createPodNetwork();
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-ipv6-'));
    await chmod(dir, 0o755);
    const meshFile = path.join(dir, 'mesh.yaml');
    await writeFile(
      meshFile,
      [
        'mesh: { mtls: PERMISSIVE }',
        'services:',
        '  - name: app',
        '    ports: [{ port: 9000, protocol: tcp }]',
        // A TCP service of the mesh (its port is its chain) whose only endpoint is IPv6.
        '  - name: store',
        '    ports: [{ port: 7000, protocol: tcp }]',
        `    endpoints: [{ address: "${n.peerIp6}", port: 7000 }]`,
        '',
      ].join('\n'),
    );
    // The peer: a listener per family on 8080, one on IPv6 only on 8081, an HTTP server on
    // IPv6 only, and the mesh service's endpoint; each answers with its name.
    const node = (...argv: string[]) => [process.execPath, ...argv];
    await start(
      n.peer,
      node(
        path.join(SUPPORT, 'app-server.js'),
        `echo:8080:peer6@${n.peerIp6}`,
        `echo:8081:peer6-8081@${n.peerIp6}`,
        `echo:8080:peer4@${n.peerIp4}`,
        `http:8090:web6@${n.peerIp6}`,
        `echo:7000:store@${n.peerIp6}`,
      ),
      /ready/,
    );
    // The pod: its app on loopback only, the control plane (as a stand-in for the cluster's,
    // on loopback, which the capture leaves alone), the rules, and the sidecar.
    await start(
      n.pod,
      node(path.join(SUPPORT, 'app-server.js'), 'echo:9000:app@127.0.0.1'),
      /ready/,
    );
    await start(
      n.pod,
      node(
        MAIN,
        'control-plane',
        '--config',
        meshFile,
        '--xds-port',
        '15010',
        '--http-port',
        '15014',
        '--warmup',
        '0',
        '--log-level',
        'warn',
      ),
      /xDS on/,
    );
    const { stdout } = await exec('nsenter', [`--net=/run/netns/${n.pod}`, ...node(MAIN, 'init')]);
    assert.match(stdout, /installed \(IPv4 and IPv6\)/, stdout);
    sidecar = await start(
      n.pod,
      node(
        MAIN,
        'proxy',
        '--xds',
        '127.0.0.1:15010',
        '--service',
        'app',
        '--address',
        n.podIp4,
        '--bind',
        '::',
        '--id',
        'app-ipv6',
        '--app-port',
        '9000',
        '--access-log',
        '-',
        '--log-level',
        'warn',
      ),
      /outbound \d+, inbound \d+/,
      PROXY_UID,
    );
    await waitFor('the sidecar to be ready (first configuration applied)', async () => {
      const r = await call(n.pod, 'http', 'http://127.0.0.1:15021/healthz/ready');
      return r.status === 200;
    });
  });

  after(async () => {
    await killAll(children);
    await n?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the listeners are one dual-stack socket each, on [::]', async () => {
    const { stdout } = await exec('ip', ['netns', 'exec', n.pod, 'ss', '-Hltn']);
    for (const port of [15001, 15006]) {
      const lines = stdout.split('\n').filter((l) => new RegExp(`:${port}\\s`).test(l));
      assert.equal(lines.length, 1, `one socket on ${port}:\n${stdout}`);
      assert.match(lines[0]!, new RegExp(`(\\[::\\]|\\*):${port}\\s`));
    }
  });

  it('IPv6 out: the app reaches the address and port it asked for, through the sidecar', async () => {
    const payload = `over ipv6 ${process.pid}`;
    const r = await call(n.pod, 'tcp', n.peerIp6, '8080', payload);
    // The peer's IPv6 listener on 8080 answered, and saw the pod's IPv6 address.
    assert.equal(r.received, `peer6 ${n.podIp6} ${payload}`, JSON.stringify(r));
    const other = await call(n.pod, 'tcp', n.peerIp6, '8081', payload);
    assert.equal(other.received, `peer6-8081 ${n.podIp6} ${payload}`, JSON.stringify(other));
    const entry = await logged('outbound', `[${n.peerIp6}]:8080`);
    await logged('outbound', `[${n.peerIp6}]:8081`);
    console.log(`      sidecar access log: ${JSON.stringify(entry)}`);
    assert.equal(entry.upstream_cluster, 'PassthroughCluster');
    assert.equal(entry.response_flags, '-');
  });

  it('IPv6 out, HTTP/1.1 to a host outside the mesh: detected and passed through', async () => {
    const r = await call(n.pod, 'http', `http://[${n.peerIp6}]:8090/v6`);
    assert.equal(r.status, 200, JSON.stringify(r));
    const answer = JSON.parse(r.body as string) as { name: string; path: string; peer: string };
    assert.deepEqual(answer, { name: 'web6', path: '/v6', body: '', peer: n.podIp6 });
    await logged('outbound', `[${n.peerIp6}]:8090`);
  });

  it("IPv6 out on a mesh service's TCP port: routed to its cluster, to its IPv6 endpoint", async () => {
    const r = await call(n.pod, 'tcp', n.peerIp6, '7000', 'to the store');
    assert.equal(r.received, `store ${n.podIp6} to the store`, JSON.stringify(r));
    const entry = await logged('outbound', `[${n.peerIp6}]:7000`);
    assert.match(entry.upstream_cluster, /^outbound\|7000\|\|store\./);
    assert.equal(entry.response_flags, '-');
  });

  it('IPv4 out, on the same sidecar (IPv4-mapped on the :: socket)', async () => {
    const r = await call(n.pod, 'tcp', n.peerIp4, '8080', 'over ipv4');
    assert.equal(r.received, `peer4 ${n.podIp4} over ipv4`, JSON.stringify(r));
    await logged('outbound', `${n.peerIp4}:8080`);
  });

  it('IPv6 and IPv4 in: a peer reaches the app (on 127.0.0.1 only) through the sidecar', async () => {
    const v6 = await call(n.peer, 'tcp', n.podIp6, '9000', 'in over ipv6');
    // Only the sidecar can reach the app: it listens on loopback, and sees the sidecar.
    assert.equal(v6.received, 'app 127.0.0.1 in over ipv6', JSON.stringify(v6));
    const v4 = await call(n.peer, 'tcp', n.podIp4, '9000', 'in over ipv4');
    assert.equal(v4.received, 'app 127.0.0.1 in over ipv4', JSON.stringify(v4));
    await waitFor('two inbound access log entries', async () =>
      Promise.resolve(tcpLog().filter((e) => e.direction === 'inbound').length >= 2),
    );
  });
});
