/**
 * `ferry init`: installs the transparent capture rules in the current network namespace
 * (what the ferry-init container runs, as Istio's istio-init does).
 */
import { parseArgs } from 'node:util';
import {
  captureConfig,
  captureScripts,
  installCapture,
  iptablesCleanupScript,
  parseCidrs,
  parsePorts,
  removeCapture,
  spawnRunner,
} from '../kube/capture/index.js';
import { UsageError } from './args.js';

export const INIT_HELP = `Usage: ferry init [options]

Installs iptables rules (nat table, chains FERRY_*) in this network namespace that send
the pod's TCP traffic through the sidecar: outbound to the outbound port (15001), inbound
to the inbound port (15006). The sidecar's own traffic (its uid and gid), loopback, the
sidecar's ports 15020 and 15021, and the excluded ports and CIDRs are left alone. IPv4
with iptables-restore and IPv6 with ip6tables-restore (package "iptables"); needs root or
NET_ADMIN and NET_RAW. Prints the rules it installs; running it again replaces them.

Options:
      --proxy-uid UID                the sidecar's user id                  (default 1337)
      --proxy-gid GID                the sidecar's group id      (default: the proxy uid)
      --inbound-port PORT            where inbound TCP goes                 (default 15006)
      --outbound-port PORT           where outbound TCP goes                (default 15001)
      --exclude-inbound-ports LIST   e.g. 8081,9090: reached without the sidecar
      --exclude-outbound-ports LIST  e.g. 5432: sent without the sidecar
      --exclude-outbound-cidrs LIST  e.g. 10.0.0.0/8,fd00::/8: sent without the sidecar
      --ipv4-only                    leave IPv6 alone (no ip6tables)
      --dry-run                      print the rules, install nothing
      --remove                       remove Ferry's rules instead
  -h, --help                         show this help
`;

function id(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} must be a number, got "${value}"`);
  return Number(value);
}

function port(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) {
    throw new UsageError(`${flag} must be a port (1-65535), got "${value}"`);
  }
  return n;
}

export async function runInit(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      'proxy-uid': { type: 'string' },
      'proxy-gid': { type: 'string' },
      'inbound-port': { type: 'string' },
      'outbound-port': { type: 'string' },
      'exclude-inbound-ports': { type: 'string' },
      'exclude-outbound-ports': { type: 'string' },
      'exclude-outbound-cidrs': { type: 'string' },
      'ipv4-only': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      remove: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (v.help) {
    process.stdout.write(INIT_HELP);
    return;
  }
  const config = captureConfig({
    proxyUid: id('--proxy-uid', v['proxy-uid']),
    proxyGid: id('--proxy-gid', v['proxy-gid']),
    inboundPort: port('--inbound-port', v['inbound-port']),
    outboundPort: port('--outbound-port', v['outbound-port']),
    excludeInboundPorts: parsePorts('--exclude-inbound-ports', v['exclude-inbound-ports']),
    excludeOutboundPorts: parsePorts('--exclude-outbound-ports', v['exclude-outbound-ports']),
    excludeOutboundCidrs: parseCidrs('--exclude-outbound-cidrs', v['exclude-outbound-cidrs']),
    ipv6: !v['ipv4-only'],
  });
  const runner = spawnRunner();
  if (v.remove) {
    if (v['dry-run']) {
      process.stdout.write(iptablesCleanupScript());
      process.stdout.write('# ferry init: dry run, nothing removed\n');
      return;
    }
    for (const family of config.ipv6 ? ([4, 6] as const) : ([4] as const)) {
      const removed = await removeCapture(runner, family);
      process.stdout.write(
        `ferry init: IPv${family}: ${removed ? 'removed' : 'nothing to remove'}\n`,
      );
    }
    return;
  }
  if (v['dry-run']) {
    for (const { script } of captureScripts(config)) process.stdout.write(script);
    process.stdout.write('# ferry init: dry run, nothing installed\n');
    return;
  }
  const installed = await installCapture(runner, config);
  for (const { script } of installed) process.stdout.write(script);
  process.stdout.write(
    `# ferry init: installed (IPv${installed.map((s) => s.family).join(' and IPv')})\n`,
  );
}
