/**
 * A small cluster's network in namespaces, for the two-node capture test: two "nodes", each
 * a namespace with a Linux bridge (the pod subnet's gateway) and two "pods" (namespaces on
 * veth pairs to the bridge), the nodes joined by a VXLAN overlay over a veth "underlay",
 * with routes so that every pod reaches every other pod and both nodes, as a CNI with a
 * VXLAN backend (flannel) lays it out. Names are unique per run (`ferry-<id>-...`); nothing
 * of the machine's own network is touched. Addresses come from 10.<id>.0.0/16 and exist only
 * inside these namespaces. Needs root.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { addVethPair, killAll, startInNamespace } from './netns.js';

const exec = promisify(execFile);

export interface ClusterNode {
  /** The node's namespace. */
  readonly ns: string;
  /** The bridge's address: the pods' gateway, and the node's own address on the pod network. */
  readonly ip: string;
}

export interface ClusterPod {
  readonly ns: string;
  readonly ip: string;
  readonly node: ClusterNode;
}

export interface ClusterNetwork {
  readonly nodes: readonly [ClusterNode, ClusterNode];
  /** Two pods per node: [node 1's, node 1's, node 2's, node 2's]. */
  readonly pods: readonly [ClusterPod, ClusterPod, ClusterPod, ClusterPod];
  /** The overlay's interface name, in each node namespace. */
  readonly overlay: string;
  /** Runs a command inside a namespace; rejects on a non-zero exit. */
  run(ns: string, command: string, ...args: string[]): Promise<string>;
  /**
   * Starts a long-running process inside a namespace (as `uid` when given); resolves once it
   * prints `until` on standard output. It is killed by destroy().
   */
  start(ns: string, argv: readonly string[], until: RegExp, uid?: number): Promise<ChildProcess>;
  /** Runs a process inside a namespace to its end; its standard output. */
  output(ns: string, argv: readonly string[], uid?: number): Promise<string>;
  destroy(): Promise<void>;
}

const OVERLAY = 'vx0';
/** Leaves room for VXLAN's 50 bytes of headers on the 1500-byte underlay. */
const POD_MTU = 1450;

export async function createClusterNetwork(): Promise<ClusterNetwork> {
  const id = randomBytes(3).toString('hex');
  // 10.X/16 with X from the id, so that parallel runs do not share addresses either.
  const net = `10.${(parseInt(id.slice(0, 2), 16) % 200) + 20}`;
  const names: string[] = [];
  const children: ChildProcess[] = [];
  const nsName = (what: string) => {
    const name = `ferry-${id}-${what}`;
    names.push(name);
    return name;
  };
  const node1: ClusterNode = { ns: nsName('node1'), ip: `${net}.1.1` };
  const node2: ClusterNode = { ns: nsName('node2'), ip: `${net}.2.1` };
  const pods = [
    { ns: nsName('pod-a1'), ip: `${net}.1.11`, node: node1 },
    { ns: nsName('pod-a2'), ip: `${net}.1.12`, node: node1 },
    { ns: nsName('pod-b1'), ip: `${net}.2.11`, node: node2 },
    { ns: nsName('pod-b2'), ip: `${net}.2.12`, node: node2 },
  ] as const;
  const nsenter = (ns: string, argv: readonly string[], uid?: number) => [
    `--net=/run/netns/${ns}`,
    ...(uid === undefined ? [] : ['-S', String(uid), '-G', String(uid)]),
    ...argv,
  ];
  const c: ClusterNetwork = {
    nodes: [node1, node2],
    pods,
    overlay: OVERLAY,
    async run(ns, command, ...args) {
      const { stdout } = await exec('ip', ['netns', 'exec', ns, command, ...args]);
      return stdout;
    },
    async start(ns, argv, until, uid) {
      return (await startInNamespace(children, ns, argv, until, uid)).child;
    },
    async output(ns, argv, uid) {
      const { stdout } = await exec('nsenter', nsenter(ns, argv, uid), { timeout: 30_000 });
      return stdout;
    },
    async destroy() {
      await killAll(children);
      // Deleting a namespace deletes the interfaces in it, and their veth peers.
      for (const ns of names) await exec('ip', ['netns', 'del', ns]).catch(() => {});
    },
  };
  try {
    const ip = (...args: string[]) => exec('ip', args);
    for (const ns of names) {
      await ip('netns', 'add', ns);
      await c.run(ns, 'ip', 'link', 'set', 'lo', 'up');
    }
    // The underlay: a veth between the node namespaces, 192.168.<id>.0/30.
    const underlay = [
      `192.168.${parseInt(id.slice(2, 4), 16)}.1`,
      `192.168.${parseInt(id.slice(2, 4), 16)}.2`,
    ];
    await addVethPair({ ns: node1.ns, name: 'eth0' }, { ns: node2.ns, name: 'eth0' });
    const nodes = [node1, node2] as const;
    for (const [i, node] of nodes.entries()) {
      const other = nodes[1 - i]!;
      const run = (command: string, ...args: string[]) => c.run(node.ns, command, ...args);
      await run('ip', 'addr', 'add', `${underlay[i]}/30`, 'dev', 'eth0');
      await run('ip', 'link', 'set', 'eth0', 'up');
      // The overlay: VXLAN over the underlay, point to point, with its own /24.
      await run(
        'ip',
        'link',
        'add',
        OVERLAY,
        'type',
        'vxlan',
        'id',
        '42',
        'local',
        underlay[i]!,
        'remote',
        underlay[1 - i]!,
        'dstport',
        '4789',
        'dev',
        'eth0',
      );
      await run('ip', 'addr', 'add', `${net}.255.${i + 1}/24`, 'dev', OVERLAY);
      await run('ip', 'link', 'set', OVERLAY, 'up');
      await run('ip', 'link', 'add', 'br0', 'type', 'bridge');
      await run('ip', 'addr', 'add', `${node.ip}/24`, 'dev', 'br0');
      await run('ip', 'link', 'set', 'br0', 'up');
      await run(
        'ip',
        'route',
        'add',
        `${other.ip.replace(/\.1$/, '.0')}/24`,
        'via',
        `${net}.255.${2 - i}`,
      );
      // Per namespace: written from inside it.
      await run('sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward');
    }
    for (const [i, pod] of pods.entries()) {
      const host = `veth${i}`;
      await addVethPair({ ns: pod.ns, name: 'eth0' }, { ns: pod.node.ns, name: host }, POD_MTU);
      await c.run(
        pod.node.ns,
        'ip',
        'link',
        'set',
        host,
        'mtu',
        String(POD_MTU),
        'master',
        'br0',
        'up',
      );
      await c.run(pod.ns, 'ip', 'addr', 'add', `${pod.ip}/24`, 'dev', 'eth0');
      await c.run(pod.ns, 'ip', 'link', 'set', 'eth0', 'up');
      await c.run(pod.ns, 'ip', 'route', 'add', 'default', 'via', pod.node.ip);
    }
  } catch (err) {
    await c.destroy();
    throw err;
  }
  return c;
}
