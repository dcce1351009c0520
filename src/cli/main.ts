#!/usr/bin/env node
/**
 * The `ferry` command. Only the CLI reads process.argv and process.env. Each subcommand's
 * module is loaded only when it runs, so a sidecar does not carry the control plane.
 */
import { setFlagsFromString } from 'node:v8';
import { didYouMean, flagsOfPort, parseArgsUsageError, UsageError } from './args.js';

const HELP = `Usage: ferry <command> [options]

Commands:
  control-plane   run the control plane (xDS server) on a mesh file
  proxy           run a sidecar proxy configured by the control plane
  gateway         run a gateway: the proxy at the mesh's edge (ingress or egress)
  demo            run a whole mesh on this machine (what npm start runs)
  token           print a workload token (the credential for a workload certificate)
  inject          add sidecars to Kubernetes manifests
  init            install the traffic capture rules (ferry-init)
  cni             the CNI plugin (called by the container runtime)
  cni-install     install the CNI plugin on a node and keep it chained (the CNI DaemonSet)
  proxy-status    every sidecar and whether its config is synced, stale or rejected
  proxy-config    what one sidecar has in force (clusters, listeners, routes, endpoints, secrets)
  tap             stream the requests through a sidecar or a service's sidecars, live
  top             the busiest paths through a sidecar or a service's sidecars, live
  stat            success rate, rps, p50/p95/p99 latency and mTLS share per service or workload
  analyze         find what is wrong in a mesh file (or the running control plane's)
  check           is the installation healthy: control plane, CA, sidecars, certificates
  version         this client's version, and the control plane's and sidecars'

Options:
  -v, --version   this client's version
  -h, --help      this help

Run 'ferry <command> --help' for a command's options.
`;

interface Command {
  readonly help: string;
  /** Resolves to the exit code (a number), or to anything else for 0. */
  run(argv: string[]): Promise<unknown>;
}

const COMMANDS: Record<string, () => Promise<Command>> = {
  'control-plane': async () => {
    const m = await import('./control-plane.js');
    return { help: m.CONTROL_PLANE_HELP, run: m.runControlPlane };
  },
  proxy: async () => {
    // V8's memory-over-speed heuristics for the old generation. The young generation's
    // size is fixed when the heap is set up, before any of this runs, so it comes from the
    // environment a sidecar is started with (SIDECAR_PROCESS_ENV: --max-semi-space-size=2
    // in NODE_OPTIONS keeps its peak memory near its idle memory, about 74 rather than
    // 84 to 94 MiB under saturation, at no measurable cost in CPU).
    setFlagsFromString('--optimize-for-size');
    // Scavenges on the main thread alone. A sidecar's young generation is 1 to 2 MiB with
    // few survivors (the requests in flight), too little to share: the parallel scavenger
    // wakes helper threads for every collection and waits at its end for any that took a
    // share of the work, so on a busy machine a helper that is not scheduled stretches the
    // pause, and every request waiting behind it. Two sidecars side by side at 1,000
    // requests/s on a loaded 2-CPU machine: scavenge pause p50 0.27 to 0.46 ms against 0.47
    // to 1.09 ms, the same CPU per request. V8 reads the flag at each scavenge, so it takes
    // effect from here on.
    setFlagsFromString('--no-parallel-scavenge');
    const m = await import('./proxy.js');
    return { help: m.PROXY_HELP, run: m.runProxy };
  },
  gateway: async () => {
    const m = await import('./gateway.js');
    return { help: m.GATEWAY_HELP, run: m.runGateway };
  },
  demo: async () => {
    const m = await import('./demo.js');
    return { help: m.DEMO_HELP, run: m.runDemoCommand };
  },
  token: async () => {
    const m = await import('./token.js');
    return { help: m.TOKEN_HELP, run: m.runToken };
  },
  inject: async () => {
    const m = await import('./inject.js');
    return { help: m.INJECT_HELP, run: m.runInject };
  },
  init: async () => {
    const m = await import('./init.js');
    return { help: m.INIT_HELP, run: m.runInit };
  },
  cni: async () => {
    const m = await import('./cni.js');
    return { help: m.CNI_HELP, run: m.runCni };
  },
  'cni-install': async () => {
    const m = await import('./cni-install.js');
    return { help: m.CNI_INSTALL_HELP, run: m.runCniInstall };
  },
  'proxy-status': async () => {
    const m = await import('./proxy-status.js');
    return { help: m.PROXY_STATUS_HELP, run: m.runProxyStatus };
  },
  'proxy-config': async () => {
    const m = await import('./proxy-config.js');
    return { help: m.PROXY_CONFIG_HELP, run: m.runProxyConfig };
  },
  // Live traffic (linkerd viz's tap, top and stat).
  tap: async () => {
    const m = await import('./tap.js');
    return { help: m.TAP_HELP, run: (argv) => m.runTap(argv) };
  },
  top: async () => {
    const m = await import('./top.js');
    return { help: m.TOP_HELP, run: (argv) => m.runTop(argv) };
  },
  stat: async () => {
    const m = await import('./stat.js');
    return { help: m.STAT_HELP, run: (argv) => m.runStat(argv) };
  },
  analyze: async () => {
    const m = await import('./analyze.js');
    return { help: m.ANALYZE_HELP, run: (argv) => m.runAnalyze(argv) };
  },
  check: async () => {
    const m = await import('./check.js');
    return { help: m.CHECK_HELP, run: (argv) => m.runCheck(argv) };
  },
  version: async () => {
    const m = await import('./version.js');
    return { help: m.VERSION_HELP, run: (argv) => m.runVersion(argv) };
  },
};

let current: { name: string; command: Command } | undefined;

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(HELP);
    return;
  }
  if (name === '--version' || name === '-v') {
    const m = await import('./version.js');
    process.stdout.write(`${m.clientVersionLine()}\n`);
    return;
  }
  const load = COMMANDS[name];
  if (!load) {
    const guess = didYouMean(name, Object.keys(COMMANDS));
    throw new UsageError(`unknown command "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}`);
  }
  current = { name, command: await load() };
  const code = await current.command.run(rest);
  if (typeof code === 'number') process.exitCode = code;
}

/** One line saying what is wrong, then where the help is (never the whole help). */
function usage(message: string): never {
  const help = current ? `ferry ${current.name} --help` : 'ferry --help';
  process.stderr.write(`ferry: ${message}\nRun '${help}' for usage.\n`);
  process.exit(2);
}

/** A port or address the command could not listen on, with the flag that chose it. */
function listenError(e: NodeJS.ErrnoException & { address?: string; port?: number }): never {
  const flags = e.port ? flagsOfPort(e.port) : [];
  const named = flags.length ? ` (${flags.join(', ')})` : '';
  const pick = flags.length
    ? `pass ${flags[0]} another port (0 picks a free one)`
    : 'use another port';
  if (e.code === 'EADDRINUSE') {
    process.stderr.write(
      `ferry: port ${e.port ?? '?'}${named} is in use on ${e.address ?? 'this machine'}: stop what listens there or ${pick}\n`,
    );
  } else if (e.code === 'EACCES') {
    process.stderr.write(
      `ferry: not allowed to listen on port ${e.port ?? '?'}${named} (ports below 1024 need root): ${pick}\n`,
    );
  } else {
    process.stderr.write(
      `ferry: cannot listen on ${e.address ?? '?'}:${e.port ?? '?'}${named}: the address is not on this machine (check --bind / --host)\n`,
    );
  }
  process.exit(1);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (err instanceof UsageError) usage(e.message);
  const parseError = parseArgsUsageError(err, current?.command.help ?? HELP);
  if (parseError) usage(parseError.message);
  // Errors Ferry raises on purpose carry a FERRY_ code and a message meant for people.
  if (e.code?.startsWith('FERRY_')) {
    if (e.code === 'FERRY_PORT_IN_USE') {
      // The control plane names the port's role; the flag that chose it is the CLI's to add.
      const port = Number(/:(\d+) is already in use/.exec(e.message)?.[1]);
      const flag = flagsOfPort(port)[0];
      if (flag) {
        process.stderr.write(
          `ferry: ${e.message} (${flag}): stop what listens there or pass ${flag} another port (0 picks a free one)\n`,
        );
        process.exit(1);
      }
    }
    process.stderr.write(`ferry: ${e.message}\n`);
    process.exit(1);
  }
  if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
    if (e.syscall === 'listen' || e.syscall === 'bind') listenError(e);
  }
  process.stderr.write(`ferry: unexpected error: ${e.stack ?? String(err)}\n`);
  process.exit(1);
});
