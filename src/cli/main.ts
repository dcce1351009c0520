#!/usr/bin/env node
/** The `ferry` command. Only the CLI reads process.argv and process.env. */
import { ControlPlaneError } from '../controlplane/index.js';
import { MeshFileError } from '../mesh/index.js';
import { UsageError } from './args.js';
import { CONTROL_PLANE_HELP, runControlPlane } from './control-plane.js';
import { DEMO_HELP, runDemoCommand } from './demo.js';
import { PROXY_HELP, runProxy } from './proxy.js';

const HELP = `Usage: ferry <command> [options]

Commands:
  control-plane   run the control plane (xDS server) on a mesh file
  proxy           run a sidecar proxy configured by the control plane
  demo            run a whole mesh on this machine (what npm start runs)

Run 'ferry <command> --help' for a command's options.
`;

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  'control-plane': runControlPlane,
  proxy: runProxy,
  demo: runDemoCommand,
};

const COMMAND_HELP: Record<string, string> = {
  'control-plane': CONTROL_PLANE_HELP,
  proxy: PROXY_HELP,
  demo: DEMO_HELP,
};

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
  await run(rest);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (
    err instanceof UsageError ||
    (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
  ) {
    process.stderr.write(`ferry: ${(err as Error).message}\n`);
    const help = COMMAND_HELP[process.argv[2] ?? ''];
    if (help) process.stderr.write(`\n${help}`);
    process.exit(2);
  }
  if (err instanceof MeshFileError || err instanceof ControlPlaneError) {
    process.stderr.write(`ferry: ${err.message}\n`);
    process.exit(1);
  }
  process.stderr.write(`ferry: unexpected error: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
