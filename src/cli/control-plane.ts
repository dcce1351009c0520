/** `ferry control-plane`: runs the control plane on a mesh file. */
import { parseArgs } from 'node:util';
import { ControlPlane } from '../controlplane/index.js';
import { createLogger } from '../log/index.js';
import { parsePort, UsageError } from './args.js';

export const CONTROL_PLANE_HELP = `Usage: ferry control-plane --config FILE [options]

Runs Ferry's control plane: serves Envoy xDS v3 (ADS, state of the world and delta)
built from the mesh file, which it watches and re-applies on every valid change.

Options:
  -c, --config FILE     the mesh file (YAML)                       (required)
      --xds-port PORT   xDS gRPC port, plaintext; 0 picks one      (default 15010)
      --http-port PORT  HTTP port: /healthz /metrics /debug/*      (default 15014)
      --host ADDRESS    address to listen on                       (default 127.0.0.1)
      --grace MS        how long a disconnected workload stays, ms (default 10000)
      --debounce MS     quiet period before a push, ms              (default 100)
      --log-level LEVEL trace | debug | info | warn | error        (default info)
  -h, --help            show this help
`;

export async function runControlPlane(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'xds-port': { type: 'string' },
      'http-port': { type: 'string' },
      host: { type: 'string' },
      grace: { type: 'string' },
      debounce: { type: 'string' },
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(CONTROL_PLANE_HELP);
    return;
  }
  if (!values.config) throw new UsageError('--config FILE is required');
  const log = createLogger({ level: values['log-level'] ?? 'info', name: 'control-plane' });
  const cp = await ControlPlane.start({
    configPath: values.config,
    host: values.host,
    xdsPort: parsePort('--xds-port', values['xds-port'], 15010),
    httpPort: parsePort('--http-port', values['http-port'], 15014),
    gracePeriodMs: parseCount('--grace', values.grace, 10_000),
    debounceMs: parseCount('--debounce', values.debounce, 100),
    log,
  });
  process.stdout.write(
    `ferry control plane: xDS on ${values.host ?? '127.0.0.1'}:${cp.xdsPort}, ` +
      `HTTP on http://${values.host ?? '127.0.0.1'}:${cp.httpPort}/ (config ${values.config})\n`,
  );
  const stop = async () => {
    await cp.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function parseCount(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a whole number, got "${value}"`);
  return n;
}
