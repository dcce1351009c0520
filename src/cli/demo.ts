/**
 * `ferry demo`: the whole mesh on this machine (what `npm start` runs), and
 * `ferry demo app`: one demo service, as the demo starts it.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DemoError, runDemo, startDemoApp } from '../demo/index.js';
import { parsePort, UsageError } from './args.js';

export const DEMO_HELP = `Usage: ferry demo [--duration S] [--rate N] [--mesh FILE]

Runs a whole mesh on 127.0.0.1, each part its own process: the control plane, three demo
services (frontend calls catalog and reviews; reviews runs as v1 and v2, split 80/20 by
the mesh file), each with its own sidecar, and a traffic generator calling frontend
through a sidecar of its own. Prints what runs where and a traffic summary every 2 s.
Ctrl-C stops everything in order (a second Ctrl-C kills what is left).

Options:
      --duration S   stop after S seconds of traffic           (default: until Ctrl-C)
      --rate N       requests a second to frontend             (default 20)
      --mesh FILE    the mesh file, watched for changes (default examples/demo/mesh.yaml)
  -h, --help         show this help

  ferry demo app --name NAME --version V [--port P] [--outbound URL]
                     one demo service (frontend, catalog or reviews) on its own; the demo
                     runs these. --outbound is its sidecar's outbound listener, e.g.
                     http://127.0.0.1:15001 (the demo sends it over IPC instead).
`;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DEFAULT_MESH = path.join(HERE, '../../../examples/demo/mesh.yaml');
const MAIN = path.join(HERE, 'main.js');
/**
 * A signal this soon after the first is the same Ctrl-C, not a second one: npm, npx and
 * other wrappers pass the terminal's SIGINT on to a process that got it from the terminal.
 */
const REPEAT_SIGNAL_MS = 500;

export async function runDemoCommand(argv: string[]): Promise<void> {
  if (argv[0] === 'app') return runDemoApp(argv.slice(1));
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
  if (!Number.isFinite(durationS) || durationS < 0) {
    throw new UsageError(`--duration must be a number of seconds, got "${values.duration}"`);
  }
  const rate = values.rate === undefined ? 20 : Number(values.rate);
  if (!Number.isFinite(rate) || rate <= 0 || rate > 2000) {
    throw new UsageError(
      `--rate must be a number of requests a second, 0-2000, got "${values.rate}"`,
    );
  }

  const stop = new AbortController();
  const kill = new AbortController();
  const print = (line: string) => process.stdout.write(`${line}\n`);
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stop.signal.aborted) {
      firstSignalAt = performance.now();
      print(
        `\n${signal}: stopping (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again kills what is left)`,
      );
      stop.abort();
    } else if (!kill.signal.aborted && performance.now() - firstSignalAt > REPEAT_SIGNAL_MS) {
      print(`${signal}: killing what is left`);
      kill.abort();
    }
  };
  // SIGHUP too: a closed terminal must not leave the demo's detached children running.
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  try {
    // Relative to here when it is under here: what the demo prints (and the control plane's
    // FILE:LINE:COL errors) then reads as the user would type it.
    const meshFile = path.resolve(values.mesh ?? DEFAULT_MESH);
    const relative = path.relative(process.cwd(), meshFile);
    const result = await runDemo({
      meshFile: relative.startsWith('..') || path.isAbsolute(relative) ? meshFile : relative,
      ferryMain: MAIN,
      durationS,
      rate,
      print,
      signal: stop.signal,
      killSignal: kill.signal,
    });
    process.exitCode = kill.signal.aborted ? 130 : result.killed.length > 0 ? 1 : 0;
  } catch (err) {
    if (!(err instanceof DemoError)) throw err;
    process.stderr.write(`ferry: ${err.message}\n`);
    process.exitCode = 1;
  } finally {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
  }
}

/** One demo service; it stops on SIGTERM / SIGINT (the demo's children also when it goes). */
async function runDemoApp(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      version: { type: 'string' },
      port: { type: 'string' },
      outbound: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(DEMO_HELP);
    return;
  }
  if (!values.name) throw new UsageError('demo app: --name NAME is required');
  const version = values.version ?? 'v1';
  const app = await startDemoApp({
    name: values.name,
    version,
    port: parsePort('--port', values.port, 0),
    outbound: values.outbound === undefined ? undefined : parseOutbound(values.outbound),
  });
  process.stdout.write(`demo app ${values.name} ${version} listening on 127.0.0.1:${app.port}\n`);
  process.on('message', (message: { outbound?: unknown }) => {
    if (typeof message?.outbound === 'string') app.setOutbound(parseOutbound(message.outbound));
  });
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

function parseOutbound(value: string): URL {
  if (!URL.canParse(value) || new URL(value).protocol !== 'http:') {
    throw new UsageError(`--outbound must be an http:// URL, got "${value}"`);
  }
  return new URL(value);
}
