/** `ferry gateway`: runs the proxy at the mesh's edge (ingress, or egress with --mode egress). */
import cluster from 'node:cluster';
import { isIP } from 'node:net';
import { parseArgs } from 'node:util';
import { createLogger } from '../log/index.js';
import {
  Gateway,
  GatewayCompiler,
  type GatewayMode,
  type GatewayOptions,
  GatewayPrimary,
} from '../proxy/gateway/index.js';
import { WORKER_ENV, WorkerFeed } from '../proxy/workers/index.js';
import { parseDrainMs, parsePort, UsageError } from './args.js';
import {
  LIMIT_FLAGS,
  parseConcurrency,
  parseLabels,
  parseLimits,
  parseTracing,
  startIdentity,
  TRACING_FLAGS,
} from './proxy.js';
import { serveWorker, stopOnSignal } from './proxy-lifecycle.js';

export const GATEWAY_HELP = `Usage: ferry gateway --xds HOST:PORT --gateway NAMESPACE/NAME [options]

Runs Ferry's gateway: the proxy at the mesh's edge. It takes the listeners of the Gateway it
implements from the control plane over ADS (HTTP, HTTPS with certificates chosen by SNI,
TLS passed through by SNI, TCP) and sends what they carry into the mesh over mTLS, as a
workload with its own SPIFFE identity. It is never an endpoint of a service.

Options:
      --xds HOST:PORT         the control plane's xDS address           (required)
      --gateway NS/NAME       the Gateway resource it implements        (required)
      --mode MODE             gateway (ingress) or egress              (default gateway)
      --service NAME          its workload name, as metrics report it  (default NAME)
      --namespace NS          its namespace                            (default NS)
      --service-account SA    its SPIFFE service account               (default NAME)
      --labels k=v,...        its labels (app, version, ...)
      --id ID                 xDS node id                (default <service>-<pid>.<ns>)
      --bind IP               address the gateway's listeners bind     (default 0.0.0.0)
      --address IP            where sidecars reach it (FERRY_ADDRESS); with --mode
                              egress, sidecars send the declared http hosts to it
                              (default none)
      --concurrency N         worker processes sharing the listeners, fed by one xDS
                              stream and one certificate (default: the container's CPU
                              limit from cgroup v2 cpu.max, else the cores node can use)
      --port-offset N         added to every listener's port (several gateways on one
                              machine, or ports below 1024 without privileges) (default 0)
      --admin-port P          admin, 127.0.0.1 only                     (default 15000)
      --metrics-port P        /stats/prometheus                         (default 15020)
      --ready-port P          /healthz/ready                            (default 15021)
      --sotw                  use state-of-the-world ADS instead of delta
      --drain MS              drain timeout on SIGTERM, ms              (default 5000)
      --ca-root FILE          the mesh's root certificate: turns on mTLS (see ferry proxy)
      --token-file FILE       the workload token proving the gateway's identity
      --trust-domain TD       SPIFFE trust domain (default cluster.local)
      --control-plane-namespace NS  the control plane's namespace in its SPIFFE ID
      --tracing-endpoint URL  export OpenTelemetry traces over OTLP
      --tracing-protocol P    http/protobuf (default) or grpc
      --tracing-sampling R    share of new traces sampled, 0..1 (default 1)
      --tracing-propagation L w3c, b3 and/or b3multi (default w3c)
      --access-log PATH       JSON access log to a file, or - for stdout       (off)
      --headers-timeout D, --idle-timeout D, --max-request-headers-kb N, --max-headers N,
      --max-pipelined-kb N, --h2-max-concurrent-streams N, --h2-reset-min-streams N,
      --tcp-idle-timeout D    downstream limits, as ferry proxy takes them
      --log-level LEVEL       trace | debug | info | warn | error       (default info)
  -h, --help                  show this help

Every port may be 0: a free one is picked and logged.
`;

const GATEWAY_REF = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

export async function runGateway(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      xds: { type: 'string' },
      gateway: { type: 'string' },
      mode: { type: 'string' },
      service: { type: 'string' },
      namespace: { type: 'string' },
      'service-account': { type: 'string' },
      labels: { type: 'string' },
      id: { type: 'string' },
      bind: { type: 'string' },
      'port-offset': { type: 'string' },
      address: { type: 'string' },
      concurrency: { type: 'string' },
      'admin-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      'ready-port': { type: 'string' },
      sotw: { type: 'boolean' },
      drain: { type: 'string' },
      'ca-root': { type: 'string' },
      'token-file': { type: 'string' },
      'trust-domain': { type: 'string' },
      'control-plane-namespace': { type: 'string' },
      ...TRACING_FLAGS,
      'access-log': { type: 'string' },
      ...LIMIT_FLAGS,
      'log-level': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (v.help) {
    process.stdout.write(GATEWAY_HELP);
    return;
  }
  if (!v.xds) throw new UsageError('--xds HOST:PORT is required');
  if (!/^[^:]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(v.xds))
    throw new UsageError(`--xds must be HOST:PORT, got "${v.xds}"`);
  if (!v.gateway) throw new UsageError('--gateway NAMESPACE/NAME is required');
  if (!GATEWAY_REF.test(v.gateway))
    throw new UsageError(`--gateway must be NAMESPACE/NAME (DNS labels), got "${v.gateway}"`);
  const mode = (v.mode ?? 'gateway') as GatewayMode;
  if (mode !== 'gateway' && mode !== 'egress')
    throw new UsageError(`--mode must be gateway or egress, got "${v.mode}"`);
  if (Boolean(v['ca-root']) !== Boolean(v['token-file']))
    throw new UsageError('--ca-root and --token-file go together (mTLS needs both)');
  const drainMs = parseDrainMs(v.drain);
  const offset = v['port-offset'] === undefined ? 0 : Number(v['port-offset']);
  if (!Number.isInteger(offset) || offset < 0 || offset > 65535)
    throw new UsageError(
      `--port-offset must be a whole number 0..65535, got "${v['port-offset']}"`,
    );
  const address = v.address;
  if (address !== undefined && isIP(address) === 0)
    throw new UsageError(`--address must be an IP address, got "${address}"`);
  const concurrency = parseConcurrency(v.concurrency, 'gateway');
  const [gatewayNs, gatewayName] = v.gateway.split('/');
  const namespace = v.namespace ?? gatewayNs;
  const serviceAccount = v['service-account'] ?? gatewayName;
  const tracing = parseTracing(v);
  const limits = parseLimits(v);
  const labels = parseLabels(v.labels);
  const log = createLogger({ level: v['log-level'] ?? 'info', name: `gateway:${v.gateway}` });
  const options: GatewayOptions = {
    xds: v.xds,
    gateway: v.gateway,
    mode,
    service: v.service,
    namespace,
    serviceAccount,
    labels,
    id: v.id,
    bind: v.bind,
    ...(address === undefined ? {} : { address }),
    portOffset: offset,
    adminPort: parsePort('--admin-port', v['admin-port'], 15000),
    metricsPort: parsePort('--metrics-port', v['metrics-port'], 15020),
    readyPort: parsePort('--ready-port', v['ready-port'], 15021),
    xdsMode: v.sotw ? 'sotw' : 'delta',
    drainMs,
    accessLog: v['access-log'],
    tracing,
    limits,
    log,
    onQuit: () => process.exit(0),
  };
  if (concurrency > 1 && cluster.isWorker && process.env[WORKER_ENV]) {
    await runWorker(options, v['ca-root'] !== undefined);
    return;
  }
  const identity = await startIdentity({ ...v, namespace }, log, serviceAccount, undefined);
  const withIdentity: GatewayOptions = {
    ...options,
    ...(identity ? { certificates: identity.identity, xdsCredentials: identity.credentials } : {}),
  };
  const gateway =
    concurrency > 1
      ? await GatewayPrimary.start(withIdentity, concurrency)
      : await Gateway.start(withIdentity);
  const p = gateway.ports;
  process.stdout.write(
    `ferry gateway ${gateway.nodeId} (${v.gateway}, ${mode}, ${concurrency} worker${concurrency > 1 ? 's' : ''}): ` +
      `admin ${p.admin}, metrics ${p.metrics}, ready ${p.ready}\n`,
  );
  stopOnSignal(gateway, gateway instanceof Gateway ? gateway : undefined, drainMs, identity, log);
}

/**
 * A worker of `--concurrency N`: the gateway without an xDS stream, identity or local ports
 * of its own; the primary feeds it and drains it (signals are the primary's to handle).
 */
async function runWorker(options: GatewayOptions, mtls: boolean): Promise<void> {
  const feed = new WorkerFeed(new GatewayCompiler().compile);
  if (mtls) await feed.firstCertificate();
  const gateway = await Gateway.start({
    ...options,
    feed,
    localPorts: false,
    ...(mtls ? { certificates: feed } : {}),
    onApplied: (version, error) => feed.applied(version, error),
  });
  serveWorker(feed, gateway);
}
