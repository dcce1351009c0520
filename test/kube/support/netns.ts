/**
 * Network namespaces for the capture and CNI tests: a "pod" and a "peer" joined by a veth
 * pair, with IPv4 and IPv6 addresses, and nothing of the machine's own network touched
 * (both ends are created inside the namespaces). Addresses are from the benchmarking
 * range 198.18.0.0/15 (RFC 2544) and a unique local IPv6 prefix (RFC 4193); they exist
 * only inside these namespaces. Needs root.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ADDON_BUILD_COMMAND,
  originalDestinationAvailable,
} from '../../../src/kube/capture/index.js';
import { readableCopy, runAsSkipReason } from './readable-by.js';

const exec = promisify(execFile);
const SUPPORT = path.dirname(fileURLToPath(import.meta.url));

export const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Why a capture test cannot run here, or undefined: it needs root, the `tools`, the
 * SO_ORIGINAL_DST addon and, for what it runs as another uid (`runsAs`), files that uid reads.
 */
export async function captureSkipReason(
  tools: readonly string[],
  runsAs?: { readonly uid: number; readonly files: readonly string[] },
): Promise<string | undefined> {
  if (!isRoot()) return 'network namespaces and iptables need root';
  const unreadable = runsAs ? runAsSkipReason(runsAs.uid, runsAs.files) : undefined;
  if (unreadable) return unreadable;
  for (const tool of tools) {
    try {
      await exec('sh', ['-c', `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed`;
    }
  }
  if (!originalDestinationAvailable()) {
    return `the SO_ORIGINAL_DST addon is not built; ${ADDON_BUILD_COMMAND}`;
  }
  return undefined;
}

/** A long-running process inside a namespace, with what it has printed so far. */
export interface NamespaceProcess {
  readonly child: ChildProcess;
  /** Its standard output so far. */
  output(): string;
  /** Its standard error so far. */
  errors(): string;
}

/**
 * Starts `argv` inside namespace `ns` (as `uid` when given, with `env` as its whole
 * environment when given) and adds it to `children`; resolves once its standard output
 * matches `until`, rejects if it exits before.
 */
export function startInNamespace(
  children: ChildProcess[],
  ns: string,
  argv: readonly string[],
  until: RegExp,
  uid?: number,
  env?: NodeJS.ProcessEnv,
): Promise<NamespaceProcess> {
  const as = uid === undefined ? [] : ['-S', String(uid), '-G', String(uid)];
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, ...as, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env } : {}),
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => {
    err += d;
  });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (until.test(out)) resolve({ child, output: () => out, errors: () => err });
    });
    child.on('exit', (code) =>
      reject(new Error(`${argv.join(' ')} exited ${code}: ${err.slice(-2000)}`)),
    );
  });
}

/** Kills the processes still running (SIGKILL) and waits until they have exited. */
export async function killAll(children: readonly ChildProcess[]): Promise<void> {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await Promise.all(
    children.map((c) =>
      c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : null,
    ),
  );
}

/**
 * A veth pair with one end in each namespace, made there directly (nothing appears in the
 * machine's own namespace, even for a moment).
 */
export async function addVethPair(
  a: { readonly ns: string; readonly name: string },
  b: { readonly ns: string; readonly name: string },
  mtu?: number,
): Promise<void> {
  await exec('ip', [
    'link',
    'add',
    a.name,
    'netns',
    a.ns,
    ...(mtu ? ['mtu', String(mtu)] : []),
    'type',
    'veth',
    'peer',
    'name',
    b.name,
    'netns',
    b.ns,
  ]);
}

export interface PodNetwork {
  /** Namespace names, `ferry-test-<random>-pod` and `-peer`. */
  readonly pod: string;
  readonly peer: string;
  readonly podIp4: string;
  readonly peerIp4: string;
  /** A second address of the peer, for excluded-CIDR tests. */
  readonly peerIp4b: string;
  readonly podIp6: string;
  readonly peerIp6: string;
  /** Runs a command inside a namespace; rejects on a non-zero exit. */
  run(ns: string, command: string, ...args: string[]): Promise<string>;
  /** Starts probe-server.js in a namespace; resolves once it listens. */
  probeServer(ns: string, listeners: Record<string, number | string>): Promise<void>;
  /** probe-client.js in a namespace, as `uid` (default root); the parsed JSON answer. */
  probe(ns: string, host: string, port: number, uid?: number): Promise<ProbeAnswer>;
  destroy(): Promise<void>;
}

export interface ProbeAnswer {
  readonly listener?: string;
  readonly local?: string;
  readonly original?: { address: string; port: number; family: number } | null | 'unavailable';
  readonly error?: string;
}

export async function createPodNetwork(): Promise<PodNetwork> {
  const id = randomBytes(3).toString('hex');
  const pod = `ferry-test-${id}-pod`;
  const peer = `ferry-test-${id}-peer`;
  const net4 = `198.18.${parseInt(id.slice(0, 2), 16)}`;
  // Written as the kernel prints it (no leading zeros), so answers compare as strings.
  const net6 = `fd00:f3:${Number.parseInt(id.slice(0, 4), 16).toString(16)}`;
  const children: ChildProcess[] = [];
  const n: PodNetwork = {
    pod,
    peer,
    podIp4: `${net4}.1`,
    peerIp4: `${net4}.2`,
    peerIp4b: `${net4}.3`,
    podIp6: `${net6}::1`,
    peerIp6: `${net6}::2`,
    async run(ns, command, ...args) {
      const { stdout } = await exec('ip', ['netns', 'exec', ns, command, ...args]);
      return stdout;
    },
    probeServer(ns, listeners) {
      const specs = Object.entries(listeners).map(([name, port]) => `${name}:${port}`);
      const child = spawn(
        'ip',
        ['netns', 'exec', ns, process.execPath, path.join(SUPPORT, 'probe-server.js'), ...specs],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      children.push(child);
      return new Promise((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (d) => {
          err += d;
        });
        child.stdout!.on('data', (d) => {
          if (String(d).includes('ready')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`probe server exited ${code}: ${err}`)));
      });
    },
    async probe(ns, host, port, uid) {
      const as = uid === undefined ? [] : ['-S', String(uid), '-G', String(uid)];
      const { stdout } = await exec('nsenter', [
        `--net=/run/netns/${ns}`,
        ...as,
        process.execPath,
        // probe-client.js needs nothing but node: copied where uid can read it if need be.
        uid === undefined
          ? path.join(SUPPORT, 'probe-client.js')
          : readableCopy(path.join(SUPPORT, 'probe-client.js'), uid),
        host,
        String(port),
      ]);
      return JSON.parse(stdout) as ProbeAnswer;
    },
    async destroy() {
      await killAll(children);
      for (const ns of [pod, peer]) await exec('ip', ['netns', 'del', ns]).catch(() => {});
    },
  };
  try {
    const sh = (...args: string[]) => exec('ip', args);
    await sh('netns', 'add', pod);
    await sh('netns', 'add', peer);
    await addVethPair({ ns: pod, name: 'eth0' }, { ns: peer, name: 'eth0' });
    for (const [ns, ip4, ip6] of [
      [pod, n.podIp4, n.podIp6],
      [peer, n.peerIp4, n.peerIp6],
    ] as const) {
      await n.run(ns, 'ip', 'link', 'set', 'lo', 'up');
      await n.run(ns, 'ip', 'addr', 'add', `${ip4}/24`, 'dev', 'eth0');
      // nodad: the address is usable at once, without duplicate address detection's delay.
      await n.run(ns, 'ip', '-6', 'addr', 'add', `${ip6}/64`, 'dev', 'eth0', 'nodad');
      await n.run(ns, 'ip', 'link', 'set', 'eth0', 'up');
    }
    await n.run(peer, 'ip', 'addr', 'add', `${n.peerIp4b}/24`, 'dev', 'eth0');
  } catch (err) {
    await n.destroy();
    throw err;
  }
  return n;
}
