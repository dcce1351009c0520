/**
 * Probes that survive the mesh, and every port of the pod, for real (issue 13): a pod
 * network namespace and a "node" namespace joined by a veth pair; the control plane (its CA
 * on) runs on the node. The pod is made from an injected manifest: `ferry init` with the
 * injected ferry-init container's arguments, the sidecar with the injected ferry-proxy
 * container's arguments and environment (as the kubelet expands them; the identity volume
 * is a directory holding the root certificate and the token), as uid 1337; the app knows
 * nothing of the mesh. The kubelet's probes are sent as the kubelet sends them: the
 * rewritten ones, plaintext HTTP from the node to the pod's IP.
 *
 * With the service STRICT, and again with an ALLOW rule that admits one other principal
 * only: the probes as they were written are refused (reset, 403), the rewritten ones pass
 * while the app is healthy; liveness fails when the app answers 500; the HTTP, TCP and gRPC
 * probes fail when the app is dead. Then a multi-port pod: connections to 8080, 9000 and
 * 50051 reach the app's listener on that port, and one bound to loopback only stays out of
 * reach; and over mutual TLS from another sidecar (on the node, STRICT), 9000 is reached.
 * Needs root, `ip`, `iptables`, `nsenter` and the SO_ORIGINAL_DST addon.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import {
  IDENTITY_MOUNT,
  INIT_CONTAINER_NAME,
  injectionTemplate,
  injectManifest,
  PROXY_CONTAINER_NAME,
} from '../../../src/kube/inject/index.js';
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

/** The workload as a user writes it: probes of all three kinds on the app's ports. */
const MANIFEST = `
apiVersion: apps/v1
kind: Deployment
metadata: { name: shop, namespace: default }
spec:
  selector: { matchLabels: { app: shop } }
  template:
    metadata: { labels: { app: shop } }
    spec:
      serviceAccountName: shop
      containers:
        - name: app
          image: example/shop:1.0
          ports:
            - { name: http, containerPort: 8080 }
            - { name: echo, containerPort: 9000 }
            - { name: grpc, containerPort: 50051 }
          livenessProbe:
            httpGet: { path: /healthz, port: http }
          readinessProbe:
            tcpSocket: { port: echo }
          startupProbe:
            grpc: { port: 50051 }
`;

const PROBES = {
  liveness: '/app-health/app/livez',
  readiness: '/app-health/app/readyz',
  startup: '/app-health/app/startupz',
} as const;

interface Container {
  name: string;
  args: string[];
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }>;
  livenessProbe?: { httpGet?: { path: string; port: number } };
}

/** `$(VAR)` references as the kubelet expands them from the container's environment. */
function expand(arg: string, env: Record<string, string>): string {
  return arg.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (ref, name: string) => env[name] ?? ref);
}

function mesh(extra: string): string {
  return [
    'services:',
    '  - name: shop',
    '    ports: [{ port: 8080, protocol: http }, { port: 9000, protocol: tcp }, { port: 50051, protocol: grpc }]',
    extra,
    '',
  ].join('\n');
}

describe('capture: probes that survive the mesh, and every port of the pod (injected pod, real ferry init)', function () {
  this.timeout(120_000);
  let n: PodNetwork;
  let dir: string;
  let meshFile: string;
  let caDir: string;
  let cp: NamespaceProcess;
  const children: ChildProcess[] = [];
  let app: NamespaceProcess | undefined;
  let pod: { containers: Container[]; initContainers: Container[] };

  const node = (...argv: string[]) => [process.execPath, ...argv];
  async function appClient(ns: string, ...args: string[]): Promise<Record<string, unknown>> {
    const { stdout } = await exec(
      'nsenter',
      [`--net=/run/netns/${ns}`, ...node(path.join(SUPPORT, 'app-client.js'), ...args)],
      { timeout: 30_000 },
    );
    return JSON.parse(stdout) as Record<string, unknown>;
  }
  /** A probe as the kubelet sends it: plaintext GET from the node to the pod's IP. */
  const kubelet = (port: number, p: string) =>
    appClient(n.peer, 'http', `http://${n.podIp4}:${port}${p}`);
  /** Each probe's status, and what the prober said (for failure messages). */
  async function statuses(): Promise<{ status: Record<string, unknown>; said: string }> {
    const status: Record<string, unknown> = {};
    const said: string[] = [];
    for (const [kind, p] of Object.entries(PROBES)) {
      const r = await kubelet(15020, p);
      status[kind] = r.status;
      said.push(`${kind}: ${JSON.stringify(r.body ?? r.error)}`);
    }
    return { status, said: said.join(', ') };
  }
  async function expectStatuses(expected: Record<keyof typeof PROBES, number>): Promise<void> {
    const { status, said } = await statuses();
    assert.deepEqual(status, expected, said);
  }
  async function token(serviceAccount: string): Promise<string> {
    const { stdout } = await exec(process.execPath, [
      MAIN,
      'token',
      '--ca-dir',
      caDir,
      '--namespace',
      'default',
      '--service-account',
      serviceAccount,
    ]);
    return stdout.trim();
  }
  async function startApp(): Promise<void> {
    app = await startInNamespace(
      children,
      n.pod,
      node(path.join(SUPPORT, 'probe-app.js')),
      /ready/,
    );
  }
  async function stopApp(): Promise<void> {
    const child = app?.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  before(async function () {
    const skip = await captureSkipReason(['ip', 'iptables', 'nsenter']);
    if (skip) {
      console.log(`    (skipped: ${skip})`);
      this.skip();
    }
    n = await createPodNetwork();
    // Readable by uid 1337: the root certificate and the token (the identity "volume").
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-app-probes-'));
    await chmod(dir, 0o755);
    meshFile = path.join(dir, 'mesh.yaml');
    await writeFile(meshFile, mesh('    policy: { mtls: STRICT }'));
    caDir = path.join(dir, 'ca');
    cp = await startInNamespace(
      children,
      n.peer,
      node(
        MAIN,
        'control-plane',
        '--config',
        meshFile,
        '--host',
        '0.0.0.0',
        '--ca-dir',
        caDir,
        '--grace',
        '1000',
        '--warmup',
        '0',
        '--log-level',
        'warn',
      ),
      /xDS on/,
    );
    await chmod(caDir, 0o755);
    const rootFile = path.join(caDir, 'root-cert.pem');
    await chmod(rootFile, 0o644);
    const rootPem = await readFile(rootFile, 'utf8');
    // The manifest, injected as `ferry inject` or the webhook would.
    const injected = injectManifest(
      MANIFEST,
      injectionTemplate({
        xdsAddress: `${n.peerIp4}:15012`,
        identity: { rootPem, trustDomain: 'cluster.local' },
      }),
    );
    const deployment = parseAllDocuments(injected.yaml)[0]!.toJS() as {
      spec: { template: { spec: typeof pod } };
    };
    pod = deployment.spec.template.spec;
    // The volume the kubelet would mount at IDENTITY_MOUNT.
    const identity = path.join(dir, 'identity');
    await exec('mkdir', ['-m', '755', identity]);
    await writeFile(path.join(identity, 'token'), await token('shop'), { mode: 0o644 });
    await writeFile(path.join(identity, 'root-cert.pem'), rootPem, { mode: 0o644 });
    // ferry-init, as the init container runs it.
    const init = pod.initContainers.find((c) => c.name === INIT_CONTAINER_NAME)!;
    await exec('nsenter', [`--net=/run/netns/${n.pod}`, ...node(MAIN, ...init.args)]);
    // ferry-proxy, with its environment as the kubelet makes it.
    const proxy = pod.initContainers.find((c) => c.name === PROXY_CONTAINER_NAME)!;
    const fields: Record<string, string> = {
      'metadata.name': 'shop-7d4b9c-x2x5q',
      'metadata.namespace': 'default',
      'status.podIP': n.podIp4,
    };
    const env: Record<string, string> = {};
    for (const e of proxy.env ?? []) {
      env[e.name] = e.valueFrom ? fields[e.valueFrom.fieldRef.fieldPath]! : (e.value ?? '');
    }
    const args = proxy.args.map((a) => expand(a, env).replace(IDENTITY_MOUNT, identity));
    await startInNamespace(
      children,
      n.pod,
      node(MAIN, ...args),
      /outbound \d+, inbound \d+/,
      PROXY_UID,
      { PATH: process.env.PATH, ...env },
    );
    await waitFor(
      'the sidecar to be ready (its readiness port, from the node)',
      async () => (await kubelet(15021, '/healthz/ready')).status === 200,
      30_000,
      100,
    );
  });

  after(async () => {
    await killAll(children);
    await n?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the injected probes point at the sidecar, and the sidecar has the originals', () => {
    const appContainer = pod.containers.find((c) => c.name === 'app')!;
    assert.deepEqual(appContainer.livenessProbe, {
      httpGet: { path: PROBES.liveness, port: 15020, scheme: 'HTTP' },
    });
    const proxy = pod.initContainers.find((c) => c.name === PROXY_CONTAINER_NAME)!;
    assert.ok(proxy.env?.some((e) => e.name === 'FERRY_APP_PROBES'));
  });

  /** healthy, then liveness 500, then dead; `direct` is what the unrewritten probe gets. */
  async function probeLifecycle(direct: (r: Record<string, unknown>) => void): Promise<void> {
    await startApp();
    // The probe as written (plaintext to the app's port) is what the mesh refuses...
    direct(await kubelet(8080, '/healthz'));
    // ...and the rewritten ones pass.
    await expectStatuses({ liveness: 200, readiness: 200, startup: 200 });
    const live = await kubelet(15020, PROBES.liveness);
    assert.equal(live.body, 'GET /healthz: HTTP 200\n');
    app!.child.kill('SIGUSR1');
    await waitFor('the app to answer 500', () => app!.output().includes('liveness 500'));
    const failing = await kubelet(15020, PROBES.liveness);
    assert.deepEqual(failing, { status: 503, body: 'GET /healthz: HTTP 500\n' });
    await expectStatuses({ liveness: 503, readiness: 200, startup: 200 });
    await stopApp();
    const dead = await statuses();
    console.log(`      app dead: ${dead.said}`);
    assert.deepEqual(dead.status, { liveness: 503, readiness: 503, startup: 503 }, dead.said);
  }

  it('STRICT: the plaintext probe of the app port is reset; the rewritten probes pass, then fail on 500 and when the app is dead', async () => {
    await probeLifecycle((r) => assert.equal(r.error, 'ECONNRESET', JSON.stringify(r)));
  });

  it('ALLOW for one other principal only: the probe of the app port gets 403; the rewritten probes pass, then fail on 500 and when the app is dead', async () => {
    await writeFile(
      meshFile,
      mesh(
        [
          '    authorization:',
          '      - name: only-the-client',
          '        action: ALLOW',
          '        from:',
          '          - principals: [cluster.local/ns/default/sa/client]',
        ].join('\n'),
      ),
    );
    // The new configuration is in force once the app port answers plaintext with a 403.
    await startApp();
    await waitFor(
      'the ALLOW rule to reach the sidecar',
      async () => (await kubelet(8080, '/healthz')).status === 403,
      30_000,
      100,
    );
    await stopApp();
    await probeLifecycle((r) =>
      assert.deepEqual(r, { status: 403, body: 'RBAC: access denied' }, JSON.stringify(r)),
    );
  });

  it('every port of the pod: connections to 8080, 9000 and 50051 reach the listener on that port; a loopback-only one is not reached', async () => {
    await writeFile(meshFile, mesh('    policy: { mtls: PERMISSIVE }'));
    await startApp();
    await waitFor(
      'PERMISSIVE without rules to reach the sidecar',
      async () => (await kubelet(8080, '/')).status === 200,
      30_000,
      100,
    );
    const web = await kubelet(8080, '/hello');
    assert.equal(JSON.parse(web.body as string).name, 'web-8080');
    // Through the sidecar: the app sees it on loopback.
    assert.equal(JSON.parse(web.body as string).peer, '127.0.0.1');
    // Another port: sent on to the address it was sent to, so the app sees the pod's own.
    const echo = await appClient(n.peer, 'tcp', n.podIp4, '9000', 'to 9000');
    assert.equal(echo.received, `echo-9000 ${n.podIp4} to 9000`);
    const { stdout } = await exec('nsenter', [
      `--net=/run/netns/${n.peer}`,
      ...node(path.join(SUPPORT, 'grpc-check.js'), n.podIp4, '50051'),
    ]);
    assert.deepEqual(JSON.parse(stdout), { ok: true, detail: 'Health/Check: SERVING' });
    // A server the app bound to loopback only stays out of reach, as without the mesh.
    const debug = await kubelet(6060, '/');
    assert.equal(debug.status, 503, JSON.stringify(debug));
    assert.doesNotMatch(String(debug.body), /debug-6060/);
    // HTTP/1.1 to the gRPC port goes to the gRPC server too, which speaks only HTTP/2 and
    // hangs up (before, the HTTP app on 8080 answered it).
    const wrongProtocol = await kubelet(50051, '/');
    assert.equal(wrongProtocol.status, 503, JSON.stringify(wrongProtocol));
    assert.match(wrongProtocol.body as string, /reset before headers/);
  });

  it('every port of the pod over mutual TLS: another sidecar reaches the TCP port 9000 it was sent to', async () => {
    // The client: a sidecar on the node (no capture there), whose local port carries TCP to
    // shop-echo, a service whose one endpoint is the pod's 9000, meshed: mTLS to pod:9000,
    // captured in the pod, decrypted by its sidecar and sent on to 9000, in STRICT mode.
    await writeFile(
      meshFile,
      [
        mesh('    policy: { mtls: STRICT }').trimEnd(),
        '  - name: shop-echo',
        '    ports: [{ port: 9000, protocol: tcp }]',
        // Its endpoint is the shop pod, which runs as shop's service account.
        '    serviceAccounts: [shop]',
        `    endpoints: [{ address: ${n.podIp4}, port: 9000, meshed: true, serviceAccount: shop }]`,
        '',
      ].join('\n'),
    );
    const tokenFile = path.join(dir, 'client.token');
    await writeFile(tokenFile, await token('client'), { mode: 0o644 });
    const client = await startInNamespace(
      children,
      n.peer,
      node(
        MAIN,
        'proxy',
        '--xds',
        '127.0.0.1:15012',
        '--ca-root',
        path.join(caDir, 'root-cert.pem'),
        '--token-file',
        tokenFile,
        '--service',
        'client',
        '--service-account',
        'client',
        '--inbound-port',
        '0',
        '--outbound-port',
        '0',
        '--admin-port',
        '0',
        '--metrics-port',
        '0',
        '--ready-port',
        '0',
        '--tcp-forward',
        '0=shop-echo:9000',
        '--log-level',
        'warn',
      ),
      /tcp \d+ -> shop-echo:9000/,
    );
    const forward = /tcp (\d+) -> shop-echo:9000/.exec(client.output())![1]!;
    if (app?.child.exitCode !== null) await startApp();
    let echoed: Record<string, unknown> = {};
    try {
      await waitFor(
        'the echo through both sidecars',
        async () => {
          echoed = await appClient(n.peer, 'tcp', '127.0.0.1', forward, 'over mTLS');
          return echoed.received === `echo-9000 ${n.podIp4} over mTLS`;
        },
        30_000,
        200,
      );
    } catch (err) {
      // A mesh file the control plane refused is the usual reason: say so.
      throw new Error(
        `${(err as Error).message}; last answer ${JSON.stringify(echoed)}; control plane said: ${cp.output().slice(-1500)}`,
      );
    }
    const m = await appClient(n.pod, 'http', 'http://127.0.0.1:15020/stats/prometheus');
    const line = String(m.body)
      .split('\n')
      .find(
        (l) =>
          l.startsWith('istio_tcp_connections_opened_total{') &&
          l.includes('reporter="destination"') &&
          l.includes('sa/client'),
      );
    console.log(`      pod's sidecar: ${line}`);
    // The client's identity was seen on the connection to 9000, over mutual TLS.
    assert.match(line ?? '', /connection_security_policy="mutual_tls"/);
    assert.match(
      line ?? '',
      /source_principal="spiffe:\/\/cluster\.local\/ns\/default\/sa\/client"/,
    );
  });
});
