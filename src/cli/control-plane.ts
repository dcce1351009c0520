/** `ferry control-plane`: runs the control plane on a mesh file. */
import { parseArgs } from 'node:util';
import { ControlPlane } from '../controlplane/index.js';
import { createLogger } from '../log/index.js';
import { parseDuration } from '../mesh/index.js';
import { parsePort, UsageError } from './args.js';

export const CONTROL_PLANE_HELP = `Usage: ferry control-plane --config FILE [options]

Runs Ferry's control plane: serves Envoy xDS v3 (ADS, state of the world and delta)
built from the mesh file, which it watches and re-applies on every valid change.

Options:
  -c, --config FILE     the mesh file (YAML)                       (required)
      --xds-port PORT   xDS gRPC port, plaintext; 0 picks one      (default 15010)
      --http-port PORT  HTTP port: /healthz /metrics /debug/*      (default 15014)
      --host ADDRESS    address to listen on                       (default 127.0.0.1)
      --ca-dir DIR      turn on the CA and the secure port; DIR keeps the root
                        (made on first start) or a plugged-in CA, and the token key
      --secure-port PORT  xDS + identity over TLS; 0 picks one      (default 15012)
      --trust-domain TD   SPIFFE trust domain      (default: the mesh file's trustDomain)
      --cert-ttl DURATION workload certificate lifetime, e.g. 1h    (default 24h)
      --grace MS        how long a disconnected workload stays, ms (default 10000)
      --debounce MS     quiet period before a push, ms              (default 100)
      --warmup MS       after a start, hold sidecars that reconnect with a config this
                        long, so auto-registered workloads come back first (default 5000)
      --prometheus URL  the dashboard reads the mesh's numbers from this Prometheus
                        (default: it scrapes the sidecars itself)
      --scrape-interval MS  how often the dashboard scrapes the sidecars (default 5000)
      --log-level LEVEL trace | debug | info | warn | error        (default info)
  -h, --help            show this help
`;

function prometheusUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {}
  throw new UsageError(`--prometheus must be an http(s) URL, got "${value}"`);
}

export async function runControlPlane(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      'xds-port': { type: 'string' },
      'http-port': { type: 'string' },
      host: { type: 'string' },
      'ca-dir': { type: 'string' },
      'secure-port': { type: 'string' },
      'trust-domain': { type: 'string' },
      'cert-ttl': { type: 'string' },
      grace: { type: 'string' },
      debounce: { type: 'string' },
      warmup: { type: 'string' },
      prometheus: { type: 'string' },
      'scrape-interval': { type: 'string' },
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
  const caDir = values['ca-dir'];
  for (const flag of ['secure-port', 'trust-domain', 'cert-ttl'] as const)
    if (values[flag] !== undefined && !caDir)
      throw new UsageError(`--${flag} needs --ca-dir DIR (the CA is off without it)`);
  const certTtlMs =
    values['cert-ttl'] === undefined ? undefined : parseDuration(values['cert-ttl']);
  if (values['cert-ttl'] !== undefined && (certTtlMs === undefined || certTtlMs < 1000))
    throw new UsageError(
      `--cert-ttl must be a duration of at least 1s (e.g. 1h, 24h), got "${values['cert-ttl']}"`,
    );
  const log = createLogger({ level: values['log-level'] ?? 'info', name: 'control-plane' });
  const cp = await ControlPlane.start({
    configPath: values.config,
    host: values.host,
    xdsPort: parsePort('--xds-port', values['xds-port'], 15010),
    httpPort: parsePort('--http-port', values['http-port'], 15014),
    gracePeriodMs: parseCount('--grace', values.grace, 10_000),
    debounceMs: parseCount('--debounce', values.debounce, 100),
    warmupMs: parseCount('--warmup', values.warmup, 5000),
    prometheusUrl: prometheusUrl(values.prometheus),
    scrapeIntervalMs: parseCount('--scrape-interval', values['scrape-interval'], 5000),
    caDir,
    securePort: parsePort('--secure-port', values['secure-port'], 15012),
    trustDomain: values['trust-domain'],
    certTtlMs,
    log,
  });
  const host = values.host ?? '127.0.0.1';
  const secure = cp.identity
    ? `, xDS+identity over TLS on ${host}:${cp.securePort} as ${cp.identity.spiffeId}`
    : '';
  process.stdout.write(
    `ferry control plane: xDS on ${host}:${cp.xdsPort}${secure}, ` +
      `HTTP on http://${host}:${cp.httpPort}/ (config ${values.config})\n`,
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
