/**
 * The passthrough row's world: traffic to a destination outside the mesh only exists where
 * the app's connections are captured, so this is a pod network namespace (and a peer joined
 * to it by a veth pair) with the real `ferry init` rules, a `ferry control-plane` and a
 * `ferry proxy` as uid 1337 inside it, and a server on the peer that no service of the mesh
 * names (as test/kube/capture/ipv6-sidecar.test.ts builds it). Needs root, `ip`, `iptables`,
 * `nsenter` and the SO_ORIGINAL_DST addon; without them the row is skipped, saying why.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  captureSkipReason,
  createPodNetwork,
  killAll,
  type NamespaceProcess,
  type PodNetwork,
  startInNamespace,
} from '../../kube/support/netns.js';
import { waitFor } from '../../support/wait-for.js';

const exec = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(HERE, '../../../src/cli/main.js');
const KUBE_SUPPORT = path.join(HERE, '../../kube/support');
const PROXY_UID = 1337;
/** A file of the dependencies the sidecar loads (node_modules may be a link elsewhere). */
const DEPENDENCY = createRequire(import.meta.url).resolve('@grpc/grpc-js');
/** The peer's port outside the mesh. */
export const OUTSIDE_PORT = 8080;

export interface PassthroughWorld {
  readonly network: PodNetwork;
  readonly sidecar: NamespaceProcess;
  /** Runs app-client.js in the pod (`tcp HOST PORT PAYLOAD`, `http URL`); its JSON answer. */
  app(...args: string[]): Promise<Record<string, unknown>>;
  /** The sidecar's /stats/prometheus, read from inside the pod. */
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

/** Why the passthrough row cannot run here, or undefined. */
export function passthroughSkipReason(): Promise<string | undefined> {
  return captureSkipReason(['ip', 'iptables', 'ip6tables', 'nsenter'], {
    uid: PROXY_UID,
    files: [MAIN, DEPENDENCY],
  });
}

export async function startPassthroughWorld(): Promise<PassthroughWorld> {
  const children: ChildProcess[] = [];
  const n = await createPodNetwork();
  const dir = await mkdtemp(path.join(tmpdir(), 'ferry-matrix-pod-'));
  const stop = async () => {
    await killAll(children);
    await n.destroy();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await chmod(dir, 0o755);
    const meshFile = path.join(dir, 'mesh.yaml');
    await writeFile(
      meshFile,
      ['services:', '  - name: app', '    ports: [{ port: 9000, protocol: tcp }]', ''].join('\n'),
    );
    const node = (...argv: string[]) => [process.execPath, ...argv];
    const start = (ns: string, argv: string[], until: RegExp, uid?: number) =>
      startInNamespace(children, ns, argv, until, uid);
    await start(
      n.peer,
      node(path.join(KUBE_SUPPORT, 'app-server.js'), `echo:${OUTSIDE_PORT}:outside@${n.peerIp4}`),
      /ready/,
    );
    // The control plane on the pod's loopback, which the capture leaves alone.
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
    await exec('nsenter', [`--net=/run/netns/${n.pod}`, ...node(MAIN, 'init')]);
    const sidecar = await start(
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
        'matrix-passthrough',
        '--access-log',
        '-',
        '--log-level',
        'warn',
      ),
      /outbound \d+, inbound \d+/,
      PROXY_UID,
    );
    const app = async (...args: string[]) => {
      const { stdout } = await exec(
        'nsenter',
        [`--net=/run/netns/${n.pod}`, ...node(path.join(KUBE_SUPPORT, 'app-client.js'), ...args)],
        { timeout: 30_000 },
      );
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    await waitFor('the pod’s sidecar to be ready', async () => {
      const r = await app('http', 'http://127.0.0.1:15021/healthz/ready');
      return r.status === 200;
    });
    return {
      network: n,
      sidecar,
      app,
      async metrics() {
        const r = await app('http', 'http://127.0.0.1:15020/stats/prometheus');
        return String(r.body ?? '');
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
