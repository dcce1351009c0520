/**
 * Captured connections to declared external hosts go through the egress gateway, not
 * PassthroughCluster: a pod network namespace with the real `ferry init`, a control plane
 * with its CA, a `ferry proxy` sidecar and a `ferry gateway --mode egress` (both as uid 1337,
 * which the capture leaves alone, each with its own workload certificate), and an app that
 * connects to addresses of a peer namespace ("outside") itself, by IP, as apps do once DNS
 * answered. By Istio's rules for a ServiceEntry (README, `egress:`):
 * - an http host declared as an IP literal: its address and port;
 * - an http host declared by name: its port and the request's Host, whatever the address;
 * - a tls host (a name): its port and the ClientHello's SNI, whatever the address.
 * Decoys listen at those outside addresses: what reaches a decoy went around the gateway.
 * The gateway resolves the declared names itself (`localhost`: servers on the pod's
 * loopback stand in for the real hosts, which the app cannot reach but through it).
 * Needs root, `ip`, `iptables`, `nsenter`, `curl`, `openssl` and the SO_ORIGINAL_DST addon.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { chmod, copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CA_FILES, loadOrCreateTokenKey, WorkloadTokens } from '../../../src/identity/index.js';
import { OpensslCa } from '../../support/server-certs.js';
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
const DEPENDENCY = createRequire(import.meta.url).resolve('@grpc/grpc-js');
const GATEWAY_HTTP = 18080;
const GATEWAY_TLS = 18443;
const GATEWAY_METRICS = 16020;
const TLS_CLUSTER = `outbound|${GATEWAY_TLS}|localhost|out.egress.svc.cluster.local`;
const HTTP_CLUSTER = `outbound|${GATEWAY_HTTP}||out.egress.svc.cluster.local`;

interface LogEntry {
  readonly protocol?: string;
  readonly upstream_cluster?: string;
  readonly upstream_host?: string | null;
  readonly authority?: string;
}

describe('capture: connections to declared external hosts go through the egress gateway', function () {
  this.timeout(90_000);
  let n: PodNetwork;
  let dir: string;
  let ca: OpensslCa;
  let sidecar: NamespaceProcess;
  const children: ChildProcess[] = [];

  const start = (ns: string, argv: string[], until: RegExp, uid?: number) =>
    startInNamespace(children, ns, argv, until, uid);
  const node = (...argv: string[]) => [process.execPath, ...argv];

  async function call(ns: string, ...args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await exec(
      'nsenter',
      [`--net=/run/netns/${ns}`, process.execPath, path.join(SUPPORT, 'app-client.js'), ...args],
      { timeout: 30_000 },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  }

  /** curl in the pod (the app, captured): its exit code and output. */
  async function curl(...args: string[]): Promise<{ code: number; out: string }> {
    try {
      const { stdout } = await exec(
        'nsenter',
        [`--net=/run/netns/${n.pod}`, 'curl', '-sS', '--max-time', '10', ...args],
        { timeout: 20_000 },
      );
      return { code: 0, out: stdout };
    } catch (e) {
      const err = e as { code?: number; stdout?: string; stderr?: string };
      return { code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` };
    }
  }

  function log(): LogEntry[] {
    return sidecar
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('upstream_cluster'))
      .map((l) => JSON.parse(l) as LogEntry);
  }

  async function logged(what: string, match: (e: LogEntry) => boolean): Promise<LogEntry> {
    let found: LogEntry | undefined;
    await waitFor(what, async () => {
      found = log().find(match);
      return found !== undefined;
    });
    return found!;
  }

  async function gatewayMetric(name: string): Promise<number> {
    const r = await call(n.pod, 'http', `http://127.0.0.1:${GATEWAY_METRICS}/stats/prometheus`);
    return String(r.body)
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`))
      .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
  }

  before(async function () {
    const skip = await captureSkipReason(['ip', 'iptables', 'nsenter', 'curl', 'openssl'], {
      uid: PROXY_UID,
      files: [MAIN, DEPENDENCY],
    });
    if (skip) {
      console.log(`    (skipped: ${skip})`);
      this.skip();
    }
    n = await createPodNetwork();
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-egress-capture-'));
    await chmod(dir, 0o755);
    ca = OpensslCa.create('Outside root');
    const real = ca.issue('localhost');
    const decoy = OpensslCa.create('Decoy root').issue('localhost');
    const pem = async (name: string, text: string) => {
      const file = path.join(dir, name);
      await writeFile(file, text, { mode: 0o644 });
      return file;
    };
    const meshFile = await pem(
      'mesh.yaml',
      `mesh: { trustDomain: cluster.local }
services: []
egress:
  gateway: egress/out
  httpPort: ${GATEWAY_HTTP}
  tlsPort: ${GATEWAY_TLS}
  hosts:
    - { host: ${n.peerIp4}, port: 8090, protocol: http }
    - { host: localhost, port: 8092, protocol: http }
    - { host: localhost, port: 8443, protocol: tls }
`,
    );
    // Outside: the declared IP's server, an undeclared one, and decoys where the names'
    // traffic would land if it went around the gateway.
    await start(
      n.peer,
      node(
        path.join(SUPPORT, 'app-server.js'),
        `http:8090:outside@${n.peerIp4}`,
        `http:8091:undeclared@${n.peerIp4}`,
        `http:8092:decoy@${n.peerIp4}`,
      ),
      /ready/,
    );
    const sServer = (
      ns: string,
      accept: string,
      cert: { key: string; cert: string },
      tag: string,
    ) =>
      Promise.all([pem(`${tag}.crt`, cert.cert), pem(`${tag}.key`, cert.key)]).then(([c, k]) =>
        start(
          ns,
          ['openssl', 's_server', '-accept', accept, '-cert', c, '-key', k, '-www'],
          /ACCEPT/,
        ),
      );
    await sServer(n.peer, `${n.peerIp4}:8443`, decoy, 'decoy');
    // The real hosts, which only the gateway reaches (by the names the mesh declares).
    await sServer(n.pod, '127.0.0.1:8443', real, 'real');
    await start(
      n.pod,
      node(path.join(SUPPORT, 'app-server.js'), 'http:8092:named@127.0.0.1'),
      /ready/,
    );
    // The control plane on the pod's loopback (never captured), with its CA.
    const caDir = path.join(dir, 'ca');
    await start(
      n.pod,
      node(
        MAIN,
        ...['control-plane', '--config', meshFile, '--ca-dir', caDir],
        ...['--xds-port', '15010', '--http-port', '15014', '--secure-port', '15012'],
        ...['--warmup', '0', '--log-level', 'warn'],
      ),
      /xDS on/,
    );
    const root = path.join(dir, 'root-cert.pem');
    await copyFile(path.join(caDir, CA_FILES.root), root);
    await chmod(root, 0o644);
    const tokens = new WorkloadTokens(loadOrCreateTokenKey(caDir));
    const token = (namespace: string, serviceAccount: string) =>
      pem(`${serviceAccount}.token`, tokens.issue({ namespace, serviceAccount }, 3_600_000));
    const { stdout } = await exec('nsenter', [`--net=/run/netns/${n.pod}`, ...node(MAIN, 'init')]);
    assert.match(stdout, /installed/, stdout);
    await start(
      n.pod,
      node(
        MAIN,
        ...['gateway', '--xds', '127.0.0.1:15012', '--gateway', 'egress/out', '--mode', 'egress'],
        ...['--address', n.podIp4, '--concurrency', '1'],
        ...['--ca-root', root, '--token-file', await token('egress', 'out')],
        ...['--admin-port', '16000', '--metrics-port', String(GATEWAY_METRICS)],
        ...['--ready-port', '16021', '--log-level', 'warn'],
      ),
      /admin \d+, metrics \d+/,
      PROXY_UID,
    );
    sidecar = await start(
      n.pod,
      node(
        MAIN,
        ...['proxy', '--xds', '127.0.0.1:15012', '--service', 'client', '--id', 'client-cap'],
        ...['--address', n.podIp4, '--service-account', 'client'],
        ...['--ca-root', root, '--token-file', await token('default', 'client')],
        ...['--access-log', '-', '--log-level', 'warn'],
      ),
      /outbound \d+, inbound \d+/,
      PROXY_UID,
    );
    for (const port of [15021, 16021]) {
      await waitFor(`port ${port} ready`, async () => {
        const r = await call(n.pod, 'http', `http://127.0.0.1:${port}/healthz/ready`);
        return r.status === 200;
      });
    }
  });

  after(async () => {
    await killAll(children);
    await n?.destroy();
    ca?.remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an http host declared as an IP: the app connects to it, the gateway carries the request', async () => {
    const before = await gatewayMetric('istio_requests_total');
    let r: Record<string, unknown> = {};
    await waitFor('the declared address to be reached', async () => {
      r = await call(n.pod, 'http', `http://${n.peerIp4}:8090/by-ip`);
      return r.status === 200;
    });
    const answer = JSON.parse(String(r.body)) as { name: string; path: string };
    assert.deepEqual([answer.name, answer.path], ['outside', '/by-ip']);
    const entry = await logged(
      'the request in the access log',
      (e) => e.authority === `${n.peerIp4}:8090`,
    );
    assert.equal(entry.upstream_cluster, HTTP_CLUSTER);
    assert.ok((await gatewayMetric('istio_requests_total')) > before);
  });

  it('an http host declared by name: any address on its port, chosen by Host', async () => {
    const r = await call(n.pod, 'http', `http://${n.peerIp4}:8092/by-name`, '', 'localhost:8092');
    assert.equal(r.status, 200, JSON.stringify(r));
    // The gateway's server for the name, not the decoy at the address the app dialled.
    assert.equal((JSON.parse(String(r.body)) as { name: string }).name, 'named');
  });

  it('a tls host: the captured connection is chosen by SNI and carried through the gateway', async () => {
    const opened = 'istio_tcp_connections_opened_total';
    const before = await gatewayMetric(opened);
    // The app resolved localhost to an outside address; it verifies the real host's CA.
    const ok = await curl(
      ...['--cacert', ca.rootFile, '--resolve', `localhost:8443:${n.peerIp4}`],
      'https://localhost:8443/',
    );
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /s_server/);
    await logged('the TLS connection in the access log', (e) => e.upstream_cluster === TLS_CLUSTER);
    assert.ok((await gatewayMetric(opened)) > before, 'the gateway counted it');
    console.log(
      `      captured TLS through the gateway: curl verified the real host (${ok.out.length} bytes)`,
    );
  });

  it('what is not declared passes through to the address the app asked for', async () => {
    const r = await call(n.pod, 'http', `http://${n.peerIp4}:8091/other`);
    assert.equal((JSON.parse(String(r.body)) as { name: string }).name, 'undeclared');
    await logged(
      'the undeclared request in the access log',
      (e) => e.upstream_cluster === 'PassthroughCluster' && e.upstream_host === `${n.peerIp4}:8091`,
    );
    // TLS naming another server on the tls host's port: the decoy, untouched.
    const other = await curl(
      '-k',
      '--resolve',
      `other.example:8443:${n.peerIp4}`,
      'https://other.example:8443/',
    );
    assert.equal(other.code, 0, other.out);
    await logged(
      'the undeclared TLS in the access log',
      (e) => e.upstream_cluster === 'PassthroughCluster' && e.upstream_host === `${n.peerIp4}:8443`,
    );
  });
});
