/** `ferry demo`: the whole mesh on this machine (what `npm start` runs). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runDemo } from '../demo/index.js';
import { createLogger } from '../log/index.js';
import { UsageError } from './args.js';

export const DEMO_HELP = `Usage: ferry demo [--duration S] [--rate N] [--mesh FILE]

Runs a whole mesh on 127.0.0.1: the control plane, three demo services (frontend calls
catalog and reviews; reviews in v1 and v2 with an 80/20 split), each with its own
sidecar, and a traffic generator. Ctrl-C stops everything.

Options:
      --duration S   stop after S seconds                       (default: run until Ctrl-C)
      --rate N       requests a second to frontend              (default 20)
      --mesh FILE    the mesh file             (default examples/demo/mesh.yaml)
  -h, --help         show this help
`;

const DEFAULT_MESH = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../examples/demo/mesh.yaml',
);

export async function runDemoCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      rate: { type: 'string' },
      mesh: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(DEMO_HELP);
    return;
  }
  const durationS = values.duration === undefined ? 0 : Number(values.duration);
  if (!(durationS >= 0))
    throw new UsageError(`--duration must be a number of seconds, got "${values.duration}"`);
  const rate = values.rate === undefined ? 20 : Number(values.rate);
  if (!(rate > 0 && rate <= 10_000))
    throw new UsageError(`--rate must be 1..10000, got "${values.rate}"`);
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  await runDemo({
    meshFile: values.mesh ?? DEFAULT_MESH,
    durationS,
    rate,
    log: createLogger({ level: 'warn', name: 'control-plane' }),
    print: (line) => process.stdout.write(`${line}\n`),
    signal: stop.signal,
  });
  process.exit(0);
}
