/**
 * `ferry cni`: the CNI plugin, as a container runtime calls it (CNI_* variables, the
 * network configuration on standard input, the result or an error on standard output).
 * Installed as /opt/cni/bin/ferry-cni, a two-line wrapper (examples/kubernetes/cni/).
 */
import { spawnRunner } from '../kube/capture/index.js';
import { CNI_ERROR, CniError, runCniCommand } from '../kube/cni/index.js';

export const CNI_HELP = `Usage: ferry cni   (called by a container runtime, not by people)

Ferry's CNI plugin: a chained plugin that installs the transparent capture rules of
'ferry init' inside each pod's network namespace, so that pods need no NET_ADMIN init
container. Follows the CNI specification (ADD, CHECK, DEL, VERSION; 0.3.0 to 1.1.0):
reads CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME and CNI_ARGS
(K8S_POD_NAMESPACE, K8S_POD_NAME), the network configuration on standard input, and
prints the previous plugin's result (or an error: code, msg) on standard output.

Configuration (in the conflist, after the interface plugin):
  { "type": "ferry-cni",
    "excludeNamespaces": ["kube-system"],        pods never captured (default kube-system)
    "includeNamespaces": ["shop"],               when set, only these are captured
    "capture": { "excludeInboundPorts": [], "excludeOutboundPorts": [],
                 "excludeOutboundCidrs": [], "proxyUid": 1337, "ipv6": true } }
`;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runCni(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(CNI_HELP);
    return;
  }
  const e = process.env;
  let stdin = '';
  let version = '1.1.0';
  try {
    stdin = await readStdin();
    try {
      version = (JSON.parse(stdin) as { cniVersion?: string }).cniVersion ?? version;
    } catch {
      // reported by the plugin itself, with the right code
    }
    const out = await runCniCommand(
      {
        command: e.CNI_COMMAND,
        containerId: e.CNI_CONTAINERID,
        netns: e.CNI_NETNS,
        ifName: e.CNI_IFNAME,
        args: e.CNI_ARGS,
        stdin,
      },
      {
        runnerIn: (netns) => spawnRunner(['nsenter', `--net=${netns}`]),
        log: (line) => process.stderr.write(`${line}\n`),
      },
    );
    if (out !== undefined) process.stdout.write(`${JSON.stringify(out)}\n`);
  } catch (err) {
    const cniError =
      err instanceof CniError
        ? err
        : new CniError(
            CNI_ERROR.ioFailure,
            'ferry-cni failed',
            (err as Error).stack ?? String(err),
          );
    process.stdout.write(`${JSON.stringify(cniError.toResult(version))}\n`);
    process.exitCode = 1;
  }
}
