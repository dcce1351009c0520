/**
 * `ferry cni-install`: what the chart's CNI DaemonSet runs on every node (as istio-cni's
 * install-cni): installs Ferry's CNI plugin and chains it into the node's CNI configuration,
 * keeps it chained, and takes both out again on SIGTERM.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CaptureError, parseCidrs, parsePorts } from '../kube/capture/index.js';
import {
  CniError,
  CniInstaller,
  type CniInstallerOptions,
  FERRY_PLUGIN_TYPE,
  parseNetConf,
} from '../kube/cni/index.js';
import { UsageError } from './args.js';

export const CNI_INSTALL_HELP = `Usage: ferry cni-install [options]   (the chart's CNI DaemonSet runs it)

Installs Ferry's CNI plugin on this node: the plugin into the CNI binary directory, and
its entry at the end of the plugin chain of the node's CNI configuration (the first file
of the configuration directory, as the runtime picks it; a .conf becomes a .conflist).
Keeps the entry there when the file is rewritten, and on SIGTERM or SIGINT takes the entry
out and removes the plugin, so that no pod is sent to a plugin that is gone.

Options:
      --cni-conf-dir DIR       the node's /etc/cni/net.d, as mounted  (default /host/etc/cni/net.d)
      --cni-bin-dir DIR        the node's /opt/cni/bin, as mounted    (default /host/opt/cni/bin)
      --host-cni-bin-dir DIR   the same directory as the node sees it   (default /opt/cni/bin)
      --cni-conf-name FILE     chain into this file      (default: the runtime's, first by name)
      --copy-runtime           copy Node.js and Ferry beside the plugin (the node needs neither)
      --plugin-command PATH    else the plugin runs PATH cni      (default /usr/local/bin/ferry)
      --exclude-namespaces NS,...  pods never captured                  (default kube-system)
      --include-namespaces NS,...  when given, only these namespaces' pods are captured
      --exclude-inbound-ports P,...   --exclude-outbound-ports P,...
      --exclude-outbound-cidrs CIDR,...  what capture leaves alone, as in 'ferry init'
  -h, --help                   show this help
`;

const list = (v: string | undefined): string[] | undefined =>
  v === undefined
    ? undefined
    : v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');

/** The Ferry program's root, from this file's place in it (dist/src/cli/). */
const APP_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** What the command line asks for, checked; nothing on the node is touched yet. */
export interface CniInstallArgs {
  readonly help: boolean;
  readonly options: Omit<CniInstallerOptions, 'log'>;
}

export function parseCniInstallArgs(argv: string[]): CniInstallArgs {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      'cni-conf-dir': { type: 'string' },
      'cni-bin-dir': { type: 'string' },
      'host-cni-bin-dir': { type: 'string' },
      'cni-conf-name': { type: 'string' },
      'copy-runtime': { type: 'boolean' },
      'plugin-command': { type: 'string' },
      'exclude-namespaces': { type: 'string' },
      'include-namespaces': { type: 'string' },
      'exclude-inbound-ports': { type: 'string' },
      'exclude-outbound-ports': { type: 'string' },
      'exclude-outbound-cidrs': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (v.help)
    return { help: true, options: { confDir: '', binDir: '', hostBinDir: '', plugin: {} } };
  if (v['copy-runtime'] && v['plugin-command'] !== undefined)
    throw new UsageError('give --copy-runtime or --plugin-command, not both');
  let capture: Record<string, unknown>;
  try {
    capture = {
      excludeInboundPorts: parsePorts('--exclude-inbound-ports', v['exclude-inbound-ports']),
      excludeOutboundPorts: parsePorts('--exclude-outbound-ports', v['exclude-outbound-ports']),
      excludeOutboundCidrs: parseCidrs('--exclude-outbound-cidrs', v['exclude-outbound-cidrs']),
    };
  } catch (err) {
    if (err instanceof CaptureError) throw new UsageError(err.message);
    throw err;
  }
  const include = list(v['include-namespaces']);
  const plugin = {
    type: FERRY_PLUGIN_TYPE,
    excludeNamespaces: list(v['exclude-namespaces']) ?? ['kube-system'],
    ...(include ? { includeNamespaces: include } : {}),
    capture,
  };
  // The plugin's own reader checks the entry now, not at the first pod's creation.
  try {
    parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'check', ...plugin }));
  } catch (err) {
    if (err instanceof CniError) throw new UsageError(`the plugin's configuration: ${err.message}`);
    throw err;
  }
  return {
    help: false,
    options: {
      confDir: v['cni-conf-dir'] ?? '/host/etc/cni/net.d',
      binDir: v['cni-bin-dir'] ?? '/host/opt/cni/bin',
      hostBinDir: v['host-cni-bin-dir'] ?? '/opt/cni/bin',
      confName: v['cni-conf-name'],
      plugin,
      runtime: v['copy-runtime'] ? { node: process.execPath, app: APP_ROOT } : undefined,
      pluginCommand: v['plugin-command'],
    },
  };
}

export async function runCniInstall(argv: string[]): Promise<void> {
  const parsed = parseCniInstallArgs(argv);
  if (parsed.help) {
    process.stdout.write(CNI_INSTALL_HELP);
    return;
  }
  const installer = new CniInstaller({
    ...parsed.options,
    log: (line) => process.stderr.write(`ferry cni-install: ${line}\n`),
  });
  const stop = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await installer.install();
  installer.watch();
  process.stderr.write('ferry cni-install: ready\n');
  const signal = await stop;
  process.stderr.write(`ferry cni-install: ${signal}: uninstalling\n`);
  await installer.uninstall();
}
