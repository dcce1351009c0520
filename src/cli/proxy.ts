/** `ferry proxy`: runs a sidecar. */
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parsePorts } from '../kube/capture/index.js';
import { createLogger } from '../log/index.js';
import { type Protocol, parseDuration } from '../mesh/index.js';
import {
  type ListenerLimits,
  type Propagation,
  Sidecar,
  type SidecarOptions,
} from '../proxy/index.js';
import { APP_PROBES_ENV, parseAppProbes } from '../proxy/prober/index.js';
import { ResourceCompiler } from '../proxy/runtime/index.js';
import { SidecarPrimary, TCP_FORWARD_PORT } from '../proxy/sidecar/index.js';
import { defaultConcurrency, WORKER_ENV, WorkerFeed } from '../proxy/workers/index.js';
import { parseDrainMs, parsePort, UsageError } from './args.js';
import { serveWorker, stopOnSignal } from './proxy-lifecycle.js';

export const PROXY_HELP = `Usage: ferry proxy --xds HOST:PORT --service NAME [options]

Runs Ferry's sidecar: takes its configuration from the control plane over ADS (delta by
default) and carries the app's outbound and the mesh's inbound traffic.

Options:
      --xds HOST:PORT         the control plane's xDS address           (required)
      --service NAME          the service this workload belongs to      (required)
      --namespace NS          its namespace                             (default default)
      --id ID                 xDS node id                (default <service>-<pid>.<ns>)
      --app-port P            the app's port: inbound traffic goes there unless capture
                              says which port of the pod it was sent to
      --inbound-port P        mesh traffic in                           (default 15006)
      --outbound-port P       the app's traffic out                     (default 15001)
      --admin-port P          admin, 127.0.0.1 only                     (default 15000)
      --metrics-port P        /stats/prometheus                         (default 15020)
      --ready-port P          /healthz/ready                            (default 15021)
      --labels k=v,...        endpoint labels, e.g. version=v2
      --service-account SA    SPIFFE service account                   (default default)
      --address IP            address other sidecars reach this one at (default 127.0.0.1)
      --bind IP               address the listeners bind               (default 127.0.0.1)
                              :: takes IPv4 and IPv6 (transparent capture); where the
                              machine has no IPv6 it falls back to 0.0.0.0, with a warning
      --zone ZONE             locality zone
      --service-port P        port of an undeclared service    (default: the app port)
      --protocol PROTO        protocol of an undeclared service: http|http2|grpc|tcp
      --sotw                  use state-of-the-world ADS instead of delta
      --drain MS              drain timeout on SIGTERM, ms              (default 5000)
      --concurrency N         worker processes sharing the inbound and outbound sockets,
                              fed by one xDS stream and one certificate      (default 1)
      --http1 fast|node       HTTP/1.1 server: the fast path or node's own (default fast)
      --ca-root FILE          the mesh's root certificate: turns on mTLS; --xds must then be
                              the control plane's secure port (15012), checked by identity
      --token-file FILE       the workload token (ferry token) proving this workload's identity
      --max-credential-failures N
                              exit when the control plane refuses the token N times in a
                              row before the first certificate                 (default 5)
      --trust-domain TD       SPIFFE trust domain (default cluster.local)
      --control-plane-namespace NS
                              the namespace in the control plane's SPIFFE ID, which the
                              secure port must present (default ferry-system)
      --tracing-endpoint URL  export OpenTelemetry traces over OTLP (e.g. http://127.0.0.1:4318/v1/traces)
      --tracing-protocol P    http/protobuf (default) or grpc
      --tracing-sampling R    share of new traces sampled, 0..1 (default 1)
      --tracing-propagation L w3c, b3 and/or b3multi, comma-separated (default w3c)
                              (mesh.telemetry.tracing in the mesh file, when set, wins)
      --tcp-forward P=SVC:PORT  a local port carrying TCP to a mesh service (repeatable;
                              SVC is name or name.namespace), for apps without capture
      --opaque-ports LIST     ports never held for protocol detection, comma-separated
                              ('' for none; default 25,587,3306,4444,5432,6379,9300,11211)
      --access-log PATH       JSON access log to a file, or - for stdout       (off)
                              (the mesh file's accessLog for the service, when set, wins)
      --no-tap                leave out the tap points behind the admin port's /tap
                              (ferry tap, ferry top); for measuring what tap costs idle
      --headers-timeout D     a request head must be complete this long after its first
                              byte or after the connection opened (default 60s, nginx's)
      --idle-timeout D        close a connection with no request (HTTP/2: no stream) under
                              way after this long                (default 75s, nginx's)
      --max-request-headers-kb N  largest request head, KiB (431 beyond) (default 60, Envoy's)
      --max-headers N         most header fields in a request (431 beyond) (default 100, Envoy's)
      --max-pipelined-kb N    bytes read ahead of a request being answered before reading
                              stops, KiB                                  (default 60)
      --h2-max-concurrent-streams N  HTTP/2 streams per connection (default 128, nginx's)
      --h2-reset-min-streams N  HTTP/2 rapid reset: from this many streams on, a connection
                              whose client reset over half before their answer is closed
                              with GOAWAY                                 (default 100)
      --tcp-idle-timeout D    a proxied TCP connection idle this long is closed, unless the
                              configuration says otherwise          (default 1h, Envoy's)
      --log-level LEVEL       trace | debug | info | warn | error       (default info)
  -h, --help                  show this help

Environment:
  FERRY_APP_PROBES            the app's original probes as JSON, by /app-health/ path
                              (written by the injector); answered on the metrics port

Every port may be 0: a free one is picked and logged.
`;

export function parseLabels(value: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  if (!value) return labels;
  for (const pair of value.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--labels: "${pair}" is not key=value`);
    labels[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return labels;
}

/** A positive duration flag, in ms. */
function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined || ms <= 0 || !Number.isInteger(ms))
    throw new UsageError(
      `${flag} must be a positive duration in whole ms (e.g. 250ms, 60s), got "${value}"`,
    );
  return ms;
}

/** A positive whole-number flag, times `scale`. */
function countFlag(flag: string, value: string | undefined, scale = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n * scale) || n <= 0)
    throw new UsageError(`${flag} must be a positive whole number, got "${value}"`);
  return n * scale;
}

/** The flags parseLimits reads (`ferry proxy` and `ferry gateway` take the same ones). */
export const LIMIT_FLAGS = {
  'headers-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
  'max-request-headers-kb': { type: 'string' },
  'max-headers': { type: 'string' },
  'max-pipelined-kb': { type: 'string' },
  'h2-max-concurrent-streams': { type: 'string' },
  'h2-reset-min-streams': { type: 'string' },
  'tcp-idle-timeout': { type: 'string' },
} as const;

/** The flags parseTracing reads. */
export const TRACING_FLAGS = {
  'tracing-endpoint': { type: 'string' },
  'tracing-protocol': { type: 'string' },
  'tracing-sampling': { type: 'string' },
  'tracing-propagation': { type: 'string' },
} as const;
/** The downstream limits the flags set; the others keep their defaults. */
export function parseLimits(
  v: Record<string, string | boolean | string[] | undefined>,
): Partial<ListenerLimits> {
  const str = (name: string) => v[name] as string | undefined;
  const entries: [keyof ListenerLimits, number | undefined][] = [
    ['headersTimeoutMs', durationFlag('--headers-timeout', str('headers-timeout'))],
    ['idleTimeoutMs', durationFlag('--idle-timeout', str('idle-timeout'))],
    ['tcpIdleTimeoutMs', durationFlag('--tcp-idle-timeout', str('tcp-idle-timeout'))],
    ['maxHeadBytes', countFlag('--max-request-headers-kb', str('max-request-headers-kb'), 1024)],
    ['maxHeaders', countFlag('--max-headers', str('max-headers'))],
    ['maxPipelinedBytes', countFlag('--max-pipelined-kb', str('max-pipelined-kb'), 1024)],
    [
      'h2MaxConcurrentStreams',
      countFlag('--h2-max-concurrent-streams', str('h2-max-concurrent-streams')),
    ],
    ['h2ResetMinStreams', countFlag('--h2-reset-min-streams', str('h2-reset-min-streams'))],
  ];
  const limits: Record<string, number> = {};
  for (const [key, value] of entries) if (value !== undefined) limits[key] = value;
  if (limits.maxHeaders !== undefined && limits.maxHeaders < 4)
    throw new UsageError(`--max-headers must be at least 4, got "${limits.maxHeaders}"`);
  return limits;
}

/** The --tracing-* flags; undefined without --tracing-endpoint. */
export function parseTracing(
  v: Record<string, string | boolean | string[] | undefined>,
): SidecarOptions['tracing'] {
  const str = (name: string) => v[name] as string | undefined;
  const endpoint = str('tracing-endpoint');
  if (endpoint) {
    const protocol = str('tracing-protocol') ?? 'http/protobuf';
    if (protocol !== 'http/protobuf' && protocol !== 'grpc')
      throw new UsageError(`--tracing-protocol must be http/protobuf or grpc, got "${protocol}"`);
    const sampling = str('tracing-sampling') === undefined ? 1 : Number(str('tracing-sampling'));
    if (!(sampling >= 0 && sampling <= 1))
      throw new UsageError(
        `--tracing-sampling must be between 0 and 1, got "${str('tracing-sampling')}"`,
      );
    const propagation = (str('tracing-propagation') ?? 'w3c').split(',');
    for (const p of propagation)
      if (p !== 'w3c' && p !== 'b3' && p !== 'b3multi')
        throw new UsageError(`--tracing-propagation takes w3c, b3, b3multi; got "${p}"`);
    return {
      endpoint,
      protocol,
      sampling,
      propagation: propagation as Propagation[],
    };
  }
  return undefined;
}

/**
 * mTLS: the workload's identity comes from the control plane's CA (its own key, a CSR with
 * the token), and xDS goes over TLS to the secure port. undefined without --ca-root.
 */
export async function startIdentity(
  v: Record<string, string | boolean | string[] | undefined>,
  log: ReturnType<typeof createLogger>,
  serviceAccount: string,
  maxCredentialFailures: number | undefined,
): Promise<import('../identity/index.js').SidecarIdentity | undefined> {
  const str = (name: string) => v[name] as string | undefined;
  const caRoot = str('ca-root');
  const tokenFile = str('token-file');
  const xds = str('xds') ?? '';
  if (!caRoot || !tokenFile) return undefined;
  const { credentialFromFile, sidecarIdentity } = await import('../identity/index.js');
  const { diagnoseConnection } = await import('../xds-client/index.js');
  let rootPem: string;
  try {
    rootPem = readFileSync(caRoot, 'utf8');
  } catch (err) {
    throw new UsageError(`--ca-root ${caRoot}: ${(err as Error).message}`);
  }
  const identity = sidecarIdentity({
    address: xds,
    rootPem,
    trustDomain: str('trust-domain') ?? 'cluster.local',
    controlPlaneNamespace: str('control-plane-namespace'),
    workload: { namespace: str('namespace') ?? 'default', serviceAccount },
    credential: credentialFromFile(tokenFile),
    log,
    maxCredentialFailures,
    diagnose: (details) => diagnoseConnection(details, { address: xds, tls: true }),
  });
  // The first certificate before anything listens: a proxy without one could not take part
  // in mTLS. Its retry timers do not hold the process open (they must not keep a stopping
  // proxy alive); until the first certificate nothing else does, so this does.
  const hold = setInterval(() => {}, 60_000);
  try {
    await identity.identity.start();
  } finally {
    clearInterval(hold);
  }
  return identity;
}

/** `--concurrency N`: worker processes, 1..256; `role`'s default when absent. */
export function parseConcurrency(value: string | undefined, role: 'gateway' | 'sidecar'): number {
  if (value === undefined) return defaultConcurrency(role);
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || n < 1 || n > 256)
    throw new UsageError(`--concurrency must be a whole number 1..256, got "${value}"`);
  return n;
}

export async function runProxy(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      xds: { type: 'string' },
      service: { type: 'string' },
      namespace: { type: 'string' },
      id: { type: 'string' },
      'app-port': { type: 'string' },
      'inbound-port': { type: 'string' },
      'outbound-port': { type: 'string' },
      'admin-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      'ready-port': { type: 'string' },
      labels: { type: 'string' },
      'service-account': { type: 'string' },
      address: { type: 'string' },
      bind: { type: 'string' },
      zone: { type: 'string' },
      'service-port': { type: 'string' },
      protocol: { type: 'string' },
      sotw: { type: 'boolean' },
      drain: { type: 'string' },
      concurrency: { type: 'string' },
      'access-log': { type: 'string' },
      http1: { type: 'string' },
      'tcp-forward': { type: 'string', multiple: true },
      'opaque-ports': { type: 'string' },
      'ca-root': { type: 'string' },
      'token-file': { type: 'string' },
      'max-credential-failures': { type: 'string' },
      'trust-domain': { type: 'string' },
      'control-plane-namespace': { type: 'string' },
      ...TRACING_FLAGS,
      ...LIMIT_FLAGS,
      'log-level': { type: 'string' },
      'no-tap': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) {
    process.stdout.write(PROXY_HELP);
    return;
  }
  if (!v.xds) throw new UsageError('--xds HOST:PORT is required');
  if (!/^[^:]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(v.xds)) {
    throw new UsageError(`--xds must be HOST:PORT, got "${v.xds}"`);
  }
  if (!v.service) throw new UsageError('--service NAME is required');
  if (v.protocol && !['http', 'http2', 'grpc', 'tcp'].includes(v.protocol)) {
    throw new UsageError(`--protocol must be http, http2, grpc or tcp, got "${v.protocol}"`);
  }
  if (v.http1 !== undefined && v.http1 !== 'fast' && v.http1 !== 'node') {
    throw new UsageError(`--http1 must be fast or node, got "${v.http1}"`);
  }
  const tcpForwards = (v['tcp-forward'] ?? []).map((spec) => {
    const m = /^(\d+)=([a-z0-9][a-z0-9.-]*):(\d+)$/.exec(spec);
    if (!m) throw new UsageError(`--tcp-forward must be PORT=SERVICE:PORT, got "${spec}"`);
    return { port: parsePort('--tcp-forward', m[1], 0), target: `${m[2]}:${m[3]}` };
  });
  let opaquePorts: number[] | undefined;
  if (v['opaque-ports'] !== undefined) {
    try {
      opaquePorts = parsePorts('--opaque-ports', v['opaque-ports']);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const tracing = parseTracing(v);
  if (Boolean(v['ca-root']) !== Boolean(v['token-file']))
    throw new UsageError('--ca-root and --token-file go together (mTLS needs both)');
  const maxCredentialFailures =
    v['max-credential-failures'] === undefined ? undefined : Number(v['max-credential-failures']);
  if (
    maxCredentialFailures !== undefined &&
    !(Number.isInteger(maxCredentialFailures) && maxCredentialFailures >= 1)
  )
    throw new UsageError(
      `--max-credential-failures must be a whole number above 0, got "${v['max-credential-failures']}"`,
    );
  if (v['control-plane-namespace'] !== undefined && !v['ca-root'])
    throw new UsageError(
      '--control-plane-namespace needs --ca-root (it names who the secure port must be)',
    );
  const drainMs = parseDrainMs(v.drain);
  const limits = parseLimits(v);
  const concurrency = parseConcurrency(v.concurrency, 'sidecar');
  const optionalPort = (flag: string, value: string | undefined) =>
    value === undefined ? undefined : parsePort(flag, value, 0);
  let appProbes: SidecarOptions['appProbes'];
  try {
    appProbes = parseAppProbes(process.env[APP_PROBES_ENV]);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const log = createLogger({ level: v['log-level'] ?? 'info', name: `proxy:${v.service}` });
  const options: SidecarOptions = {
    xds: v.xds,
    service: v.service,
    namespace: v.namespace,
    id: v.id,
    appPort: optionalPort('--app-port', v['app-port']),
    inboundPort: parsePort('--inbound-port', v['inbound-port'], 15006),
    outboundPort: parsePort('--outbound-port', v['outbound-port'], 15001),
    adminPort: parsePort('--admin-port', v['admin-port'], 15000),
    metricsPort: parsePort('--metrics-port', v['metrics-port'], 15020),
    readyPort: parsePort('--ready-port', v['ready-port'], 15021),
    labels: parseLabels(v.labels),
    serviceAccount: v['service-account'],
    address: v.address,
    bind: v.bind,
    zone: v.zone,
    servicePort: optionalPort('--service-port', v['service-port']),
    protocol: v.protocol as Protocol | undefined,
    mode: v.sotw ? 'sotw' : 'delta',
    drainMs,
    accessLog: v['access-log'],
    http1: v.http1 as 'fast' | 'node' | undefined,
    tcpForwards,
    ...(opaquePorts ? { opaquePorts } : {}),
    tracing,
    limits,
    appProbes,
    log,
    onQuit: () => process.exit(0),
    tap: v['no-tap'] !== true,
  };
  if (concurrency > 1 && cluster.isWorker && process.env[WORKER_ENV]) {
    await runWorker(options, v['ca-root'] !== undefined);
    return;
  }
  const identity = await startIdentity(
    v,
    log,
    v['service-account'] ?? 'default',
    maxCredentialFailures,
  );
  const withIdentity: SidecarOptions = {
    ...options,
    ...(identity ? { certificates: identity.identity, xdsCredentials: identity.credentials } : {}),
  };
  // One worker is today's single process: no primary, no IPC, nothing forked.
  const sidecar =
    concurrency > 1
      ? await SidecarPrimary.start(withIdentity, concurrency)
      : await Sidecar.start(withIdentity);
  const p = sidecar.ports;
  process.stdout.write(
    `ferry proxy ${sidecar.nodeId}: outbound ${p.outbound}, inbound ${p.inbound}, admin ${p.admin}, ` +
      `metrics ${p.metrics}, ready ${p.ready}` +
      sidecar.tcpForwardPorts
        .map((port, i) => `, tcp ${port} -> ${tcpForwards[i].target}`)
        .join('') +
      (concurrency > 1 ? `, ${concurrency} workers` : '') +
      '\n',
  );
  stopOnSignal(sidecar, sidecar instanceof Sidecar ? sidecar : undefined, drainMs, identity, log);
}

/**
 * A worker of `--concurrency N`: the sidecar without an xDS stream, identity or local ports
 * of its own; the primary feeds it and drains it (signals are the primary's to handle).
 */
async function runWorker(options: SidecarOptions, mtls: boolean): Promise<void> {
  const feed = new WorkerFeed(new ResourceCompiler().compile);
  if (mtls) await feed.firstCertificate();
  const sidecar = await Sidecar.start({
    ...options,
    feed,
    localPorts: false,
    ...(mtls ? { certificates: feed } : {}),
    onApplied: (version) => feed.applied(version),
  });
  feed.listening({
    inbound: sidecar.ports.inbound,
    outbound: sidecar.ports.outbound,
    ...Object.fromEntries(sidecar.tcpForwardPorts.map((p, i) => [`${TCP_FORWARD_PORT}.${i}`, p])),
  });
  serveWorker(feed, sidecar);
}
