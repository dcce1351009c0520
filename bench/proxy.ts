/**
 * `npm run bench`: Ferry's sidecar data path against a direct connection, http-proxy and
 * nginx (when it is installed), in one run.
 *
 * Variants (all HTTP/1.1 keep-alive, `GET /` with `Host: upstream:8080`, 100-byte answers):
 *   direct          client -> upstream
 *   http-proxy      client -> http-proxy (Node, keep-alive agent, 256 sockets) -> upstream
 *   nginx           client -> nginx (1 worker, upstream keepalive) -> upstream
 *   ferry 1 hop     client -> sidecar outbound -> upstream  (routing, retries, metrics on)
 *   ferry mesh hop  client -> sidecar A outbound -> sidecar B inbound -> upstream
 *   nginx mtls      client -> nginx A -> (TLS 1.3, client certificate) -> nginx B -> upstream
 *   ferry mesh mtls the mesh hop with mutual TLS: the control plane runs its CA, each sidecar
 *                   gets its certificate with a workload token, the upstream is STRICT
 * The upstream is nginx returning a fixed body when nginx is installed, else a Node server;
 * the same upstream serves every variant of a run. Ferry runs as real processes: a control
 * plane (`ferry control-plane`) and sidecars (`ferry proxy`), so CPU and memory are per
 * process.
 *
 * Per variant: a warm-up, then latency at a fixed 1,000 requests/s (open loop, the Node
 * generator in proxy-load.ts: wrk 4 has no fixed-rate mode and wrk2 is not packaged), then
 * saturation throughput (wrk when installed, else the Node generator, closed loop). CPU time
 * of the proxy processes (all threads, /proc/PID/task/STAR/schedstat) over each phase,
 * divided by the requests served; peak RSS (VmHWM) of each proxy process at the end.
 *
 * CPUs: with taskset and 2+ CPUs, every proxy process runs on CPU 0, and the load
 * generator, the upstream, the control plane and this script on CPU 1. So at saturation the
 * proxy has one core to itself, and the busy share of each core shows which side was the
 * limit. For the fixed-rate phase the proxy, the upstream and the generator may by default
 * use every CPU (--rate-cpus): in a VM, waking an idle vCPU costs a few hundred
 * microseconds, and with the two sides pinned apart every request would pay it four times
 * (about +1 ms at p90 for nginx as much as for Ferry), which says more about the VM than
 * about the proxy. CPU used by other processes on the machine meanwhile is reported.
 *
 * The four targets of the sidecar issue, and the mTLS issue's two for the mesh hop with
 * mutual TLS against the nginx pair, are checked and printed as PASS or MISS; the exit code
 * is 0 either way (a benchmark, not a test), 1 only if the bench itself failed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CertificateAuthority,
  loadCaDirectory,
  loadOrCreateTokenKey,
  WorkloadTokens,
} from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';
import { SIDECAR_PROCESS_ENV } from '../src/proxy/index.js';
import { benchArgs } from './bench-args.js';
import { writeNginxConf } from './nginx-conf.js';
import { abReport, type BaseBuild, baseId, buildBase } from './proxy-ab.js';
import { type GcEvent, gcOverlap, gcSummary, parseGcLine } from './proxy-gc.js';
import { PROXY_LOAD, saturationArgs } from './proxy-load-args.js';
import {
  answers,
  busyShare,
  type Child,
  childPids,
  cpuJiffies,
  cpuMs,
  EPHEMERAL_PORTS,
  ForeignCpu,
  httpGet,
  Processes,
  peakRssMiB,
  rssMiB,
  TASKSET,
  userSysMs,
  waitUntil,
} from './proxy-procs.js';
import { summarizeProfile } from './proxy-profile.js';

const HELP = `Usage: npm run bench -- [options]
       node dist/bench/proxy.js [options]

  --duration S        saturation run per variant, seconds             (default 10)
  --rate-duration S   recorded time at the fixed rate, seconds         (default 5)
  --rate R            the fixed rate, requests/s                       (default 1000)
  --warmup S          warm-up at saturation before measuring, seconds  (default 2)
  --connections N     connections for saturation                       (default 64)
  --quick             --duration 3 --rate-duration 2 --warmup 1
  --only LIST         variants to run, comma-separated: direct, http-proxy, nginx, ferry,
                      ferry-http1-node, ferry-no-tap, ferry-traced, ferry-mesh, nginx-mtls, ferry-mesh-mtls,
                      ferry-peers-off, ferry-mesh-peers-off, ferry-mesh-mtls-peers-off
                      (ferry-no-tap: the one-hop sidecar with --no-tap, the baseline of
                      what tap costs while nobody taps; try --only ferry,ferry-no-tap;
                      *-peers-off: the same with mesh.telemetry.peerMetadata false;
                      ferry-http1-node: the one-hop sidecar with --http1 node, node's
                      HTTP/1.1 server and undici instead of the fast path)
  --ab COMMIT         A/B: also build COMMIT (git archive into a temporary directory,
                      node_modules symlinked, its own npm run build) and run each chosen
                      ferry variant with both builds, one after the other in every round;
                      prints B/A (this build / COMMIT) of CPU per request, p90 and p99.
                      Default --only direct,nginx,ferry,ferry-mesh-mtls and --rounds 3
  --rounds N          run the chosen variants N times, interleaved (A B, B A, ...), and
                      report each variant's round with the median CPU per request: an
                      A/B on a busy machine                             (default 1)
  --loadgen KIND      saturation load generator: auto | wrk | node     (default auto: wrk if
                      installed)
  --upstream KIND     auto | nginx | node                  (default auto: nginx if installed)
  --no-nginx          leave nginx out (as baseline and as upstream)
  --no-pin            do not pin processes to CPUs
  --rate-cpus MODE    CPUs during the fixed-rate phase: all (every process may use every
                      CPU), split (as at saturation) or one (everything on one CPU)
                                                                       (default all)
  --trace-gc          run the sidecars under node --trace-gc and report, per phase, their
                      collections per 10,000 requests and the pauses (p50, p90, max, sum)
  --cpu-prof DIR      run the sidecars under node --cpu-prof, write the profiles to DIR and
                      summarize where their time goes (profiling slows them down a little)
  --json FILE         also write the results as JSON
  -h, --help
`;

const opt = benchArgs(HELP, {
  duration: { type: 'string' },
  'rate-duration': { type: 'string' },
  rate: { type: 'string', default: '1000' },
  warmup: { type: 'string' },
  connections: { type: 'string', default: '64' },
  quick: { type: 'boolean', default: false },
  only: { type: 'string' },
  rounds: { type: 'string' },
  ab: { type: 'string' },
  loadgen: { type: 'string', default: 'auto' },
  upstream: { type: 'string', default: 'auto' },
  'no-nginx': { type: 'boolean', default: false },
  'no-pin': { type: 'boolean', default: false },
  'rate-cpus': { type: 'string', default: 'all' },
  'cpu-prof': { type: 'string' },
  'trace-gc': { type: 'boolean', default: false },
  json: { type: 'string' },
});

const num = (v: string | undefined, dflt: number, name: string) => {
  const n = v === undefined ? dflt : Number(v);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`bench: ${name} must be a positive number\n`);
    process.exit(2);
  }
  return n;
};
const DURATION = num(opt.duration, opt.quick ? 3 : 10, '--duration');
const RATE_DURATION = num(opt['rate-duration'], opt.quick ? 2 : 5, '--rate-duration');
const WARMUP = num(opt.warmup, opt.quick ? 1 : 2, '--warmup');
const RATE = num(opt.rate, 1000, '--rate');
const CONNECTIONS = Math.round(num(opt.connections, 64, '--connections'));
const ROUNDS = Math.round(num(opt.rounds, opt.ab ? 3 : 1, '--rounds'));
const HOST = 'upstream:8080';
const BODY_BYTES = 100;
const PROXY_CPU = 0;
const LOAD_CPU = 1;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.join(HERE, '../src/cli/main.js');
// Every process started here (sidecars and the Node.js baselines alike) gets the
// environment Ferry starts its sidecars with, unless this one's says otherwise.
for (const [name, value] of Object.entries(SIDECAR_PROCESS_ENV)) process.env[name] ??= value;
const SERVERS = path.join(HERE, 'proxy-servers.js');

const ALL_VARIANTS = [
  'direct',
  'http-proxy',
  'nginx',
  'ferry',
  'ferry-http1-node',
  'ferry-no-tap',
  'ferry-traced',
  'ferry-mesh',
  'nginx-mtls',
  'ferry-mesh-mtls',
  'ferry-peers-off',
  'ferry-mesh-peers-off',
  'ferry-mesh-mtls-peers-off',
];
const only = new Set(
  opt.only
    ? opt.only.split(',').map((s) => s.trim())
    : opt.ab
      ? ['direct', 'nginx', 'ferry', 'ferry-mesh-mtls']
      : ALL_VARIANTS,
);
for (const v of only)
  if (!ALL_VARIANTS.includes(v)) {
    process.stderr.write(`bench: unknown variant "${v}" (${ALL_VARIANTS.join(', ')})\n`);
    process.exit(2);
  }

function which(names: string[], dirs: string[]): string | undefined {
  const all = [...dirs, ...(process.env.PATH ?? '').split(':').filter(Boolean)];
  for (const name of names)
    for (const d of all) if (existsSync(path.join(d, name))) return path.join(d, name);
  return undefined;
}
const SBIN = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/local/nginx/sbin',
  '/usr/bin',
  '/usr/local/bin',
];
for (const [flag, allowed] of [
  ['loadgen', ['auto', 'wrk', 'node']],
  ['upstream', ['auto', 'nginx', 'node']],
] as const)
  if (!(allowed as readonly string[]).includes(opt[flag])) {
    process.stderr.write(`bench: --${flag} must be ${allowed.join(', ')}\n`);
    process.exit(2);
  }
const NGINX = opt['no-nginx'] ? undefined : which(['nginx'], SBIN);
const WRK = opt.loadgen === 'node' ? undefined : which(['wrk'], ['/usr/bin', '/usr/local/bin']);
if (opt.loadgen === 'wrk' && !WRK) {
  process.stderr.write('bench: --loadgen wrk, but wrk is not installed (apt-get install wrk)\n');
  process.exit(2);
}
if (opt.upstream === 'nginx' && !NGINX) {
  process.stderr.write('bench: --upstream nginx, but nginx is not installed\n');
  process.exit(2);
}
const UPSTREAM_KIND = opt.upstream === 'node' || !NGINX ? 'node' : 'nginx';

const PIN = !opt['no-pin'] && TASKSET !== undefined && cpus().length >= 2;
const RATE_CPUS = opt['rate-cpus'] ?? 'all';
if (!['all', 'split', 'one'].includes(RATE_CPUS)) {
  process.stderr.write('bench: --rate-cpus must be all, split or one\n');
  process.exit(2);
}
const ALL_CPUS = `0-${cpus().length - 1}`;
/** The upstream's processes (re-pinned with the proxies for the fixed-rate phase). */
let upstreamPids: number[] = [];
const procs = new Processes(PIN);
const tmp = mkdtempSync(path.join(tmpdir(), 'ferry-bench-'));
const PROF_DIR = opt['cpu-prof'] ? path.resolve(opt['cpu-prof']) : undefined;
/** --trace-gc: each sidecar's collections, by pid, as their lines arrived. */
const GC_EVENTS = opt['trace-gc'] ? new Map<number, GcEvent[]>() : undefined;

let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  procs.killAll();
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}, stopping everything\n`);
    cleanup();
    process.exit(130);
  });
// No run should come near this; it is the bound of last resort.
const LIMIT_MS =
  ((opt.ab ? 2 : 1) * ROUNDS * ALL_VARIANTS.length * (DURATION + RATE_DURATION + 2 * WARMUP + 60) +
    (opt.ab ? 360 : 60)) *
  1000;
setTimeout(() => {
  process.stderr.write(`bench: still running after ${LIMIT_MS / 1000} s, giving up\n`);
  process.exit(1);
}, LIMIT_MS).unref();

const out = (s = '') => process.stdout.write(`${s}\n`);

// ---------------------------------------------------------------- processes under test

interface Target {
  readonly port: number;
  /** The proxy processes: their CPU and memory are what is measured. */
  readonly procs: { readonly label: string; readonly pid: number }[];
  /** Every process of the proxy, to move between CPUs. */
  readonly affinity: number[];
  /** Runs after the measurement: a line about what the proxies counted, if anything. */
  readonly check?: () => Promise<string | undefined>;
  readonly stop: () => Promise<void>;
}

/** One of proxy-servers.ts's servers; resolves once it listens. */
async function nodeServer(name: string, args: string[], cpu: number) {
  const child = procs.spawn(name, process.execPath, [SERVERS, ...args], { cpu });
  const m = await procs.waitForLine(child, /^port (\d+)/, 10_000);
  return { child, port: Number(m[1]) };
}

async function startNginx(
  name: string,
  http: string,
  cpu: number,
  probe: (port: number) => Promise<boolean> = (port) => answers(port, '/', HOST),
) {
  const { port, args } = await writeNginxConf(path.join(tmp, name), 1, http);
  const child = procs.spawn(name, NGINX!, args, { cpu });
  await waitUntil(`${name} on port ${port}`, () => probe(port), 10_000);
  const workers = childPids(child.pid);
  return { child, port, pids: [child.pid, ...workers], workers };
}

function upstreamNginx() {
  const body = 'x'.repeat(BODY_BYTES);
  return startNginx(
    'nginx-upstream',
    `server {
    listen 127.0.0.1:PORT backlog=4096;
    default_type text/plain;
    location / { return 200 '${body}'; }
  }`,
    LOAD_CPU,
  );
}

async function startSidecar(
  cli: string,
  name: string,
  xds: number,
  service: string,
  appPort?: number,
  extra: readonly string[] = [],
): Promise<{ child: Child; outbound: number; inbound: number; admin: number; metrics: number }> {
  const node = [
    ...(PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROF_DIR}`] : []),
    ...(GC_EVENTS ? ['--trace-gc'] : []),
  ];
  const gc: GcEvent[] = [];
  const child = procs.spawn(
    name,
    process.execPath,
    [
      ...node,
      cli,
      'proxy',
      '--xds',
      `127.0.0.1:${xds}`,
      '--service',
      service,
      ...EPHEMERAL_PORTS,
      ...(appPort ? ['--app-port', String(appPort)] : []),
      ...extra,
      '--log-level',
      'warn',
    ],
    {
      cpu: PROXY_CPU,
      onLine: GC_EVENTS
        ? (line) => {
            const e = parseGcLine(line, nowUs());
            if (e) gc.push(e);
          }
        : undefined,
    },
  );
  GC_EVENTS?.set(child.pid, gc);
  const m = await procs.waitForLine(
    child,
    /outbound (\d+), inbound (\d+), admin (\d+), metrics (\d+), ready (\d+)/,
    15_000,
  );
  await waitUntil(`${name} ready`, () => answers(Number(m[5]), '/healthz/ready'), 15_000);
  return {
    child,
    outbound: Number(m[1]),
    inbound: Number(m[2]),
    admin: Number(m[3]),
    metrics: Number(m[4]),
  };
}

/**
 * A control plane on the load CPU. With `caDir` it runs its CA there and serves xDS and
 * identity over TLS on a secure port as well (`secure`), as `ferry control-plane --ca-dir`.
 */
async function startControlPlane(
  cli: string,
  name: string,
  mesh: string,
  caDir?: string,
): Promise<{ child: Child; xds: number; secure?: number }> {
  const file = path.join(tmp, `${name}.yaml`);
  writeFileSync(file, mesh);
  const child = procs.spawn(
    name,
    process.execPath,
    [
      cli,
      'control-plane',
      '--config',
      file,
      '--xds-port',
      '0',
      '--http-port',
      '0',
      '--log-level',
      'warn',
      ...(caDir ? ['--ca-dir', caDir, '--secure-port', '0'] : []),
    ],
    { cpu: LOAD_CPU },
  );
  // "ferry control plane: xDS on H:P[, xDS+identity over TLS on H:S as ID], HTTP on ..."
  const m = await procs.waitForLine(
    child,
    /xDS on 127\.0\.0\.1:(\d+)(?:, xDS\+identity over TLS on [^ ]+:(\d+))?/,
    15_000,
  );
  if (caDir && !m[2]) throw new Error(`${name}: no secure port in "${m.input}"`);
  return { child, xds: Number(m[1]), ...(m[2] ? { secure: Number(m[2]) } : {}) };
}

/**
 * What a sidecar needs for mTLS, as in a real mesh (src/demo/start-mesh.ts does the same): a
 * workload token for its service account, signed with the control plane's token key, and
 * the mesh's root certificate. Returns the sidecar's extra flags.
 */
function mtlsFlags(caDir: string, serviceAccount: string): string[] {
  const tokens = new WorkloadTokens(loadOrCreateTokenKey(caDir));
  const file = path.join(caDir, `${serviceAccount}.token`);
  writeFileSync(file, tokens.issue({ namespace: 'default', serviceAccount }, 24 * 3_600_000), {
    mode: 0o600,
  });
  return [
    '--ca-root',
    path.join(caDir, 'root-cert.pem'),
    '--token-file',
    file,
    '--service-account',
    serviceAccount,
  ];
}

/**
 * What sidecar B's own Istio metrics say about the requests it received: how many came
 * over mutual TLS and from whom (reporter="destination", connection_security_policy).
 */
async function inboundSecurity(metricsPort: number): Promise<string> {
  let text: string;
  try {
    text = (await httpGet(metricsPort, '/stats/prometheus', { timeoutMs: 3000 })).body;
  } catch (err) {
    return `sidecar B /stats/prometheus unavailable (${(err as Error).message})`;
  }
  let mtls = 0;
  let other = 0;
  const principals = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('istio_requests_total{') || !line.includes('reporter="destination"'))
      continue;
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.includes('connection_security_policy="mutual_tls"')) {
      mtls += n;
      const p = /source_principal="([^"]*)"/.exec(line)?.[1];
      if (p) principals.add(p);
    } else other += n;
  }
  const verdict = mtls > 0 && other === 0 ? 'mTLS verified' : 'NOT all mTLS';
  return `${verdict}: sidecar B counted ${mtls} requests with connection_security_policy="mutual_tls" (from ${[...principals].join(', ') || '-'}) and ${other} without`;
}

/**
 * Certificates for the nginx pair, from a CA made with Ferry's own identity code: a root in
 * `dir`, and a key and X.509-SVID for each side (the server's with a DNS name too, since
 * nginx checks a name, not a SPIFFE ID).
 */
async function nginxCertificates(dir: string): Promise<{ root: string; a: string; b: string }> {
  const trustDomain = 'cluster.local';
  const loaded = await loadCaDirectory(dir, { trustDomain, log: silentLogger() });
  const ca = new CertificateAuthority(loaded.material, { trustDomain });
  const root = path.join(dir, 'bench-root.pem');
  writeFileSync(root, ca.roots.join(''));
  const write = async (who: string, sa: string, dns: string[]) => {
    const issued = await ca.issueLocal(`spiffe://${trustDomain}/ns/default/sa/${sa}`, undefined, {
      dns,
    });
    writeFileSync(path.join(dir, `${who}.crt`), issued.chain.join(''));
    writeFileSync(path.join(dir, `${who}.key`), issued.key, { mode: 0o600 });
    return path.join(dir, who);
  };
  return {
    root,
    a: await write('nginx-a', 'client', []),
    b: await write('nginx-b', 'upstream', [NGINX_B_NAME]),
  };
}
const NGINX_B_NAME = 'upstream.default.svc.cluster.local';

/** true once something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/**
 * The mesh file: `upstream` on 8080/http with retries and a timeout; with `strict`, its
 * inbound port takes mutual TLS only.
 */
function meshYaml(staticEndpointPort?: number, strict = false, peersOff = false): string {
  // peersOff: the baseline of the peer metadata's cost (no workload in EDS, no peer lookups).
  return `${peersOff ? 'mesh:\n  telemetry:\n    peerMetadata: false\n' : ''}services:
  - name: upstream
    ports:
      - { port: 8080, protocol: http }
${staticEndpointPort ? `    endpoints:\n      - { address: 127.0.0.1, port: ${staticEndpointPort} }\n` : ''}    policy:
      timeout: 5s
      retries: { attempts: 2, on: [5xx, connect-failure, reset] }
${strict ? '      mtls: STRICT\n' : ''}`;
}

interface SidecarStats {
  requests: number;
  responses2xx: number;
  responses5xx: number;
  retries: number;
  memory_heap_used_bytes: number;
  memory_heap_total_bytes: number;
  memory_external_bytes: number;
}
async function sidecarStats(admin: number): Promise<SidecarStats | undefined> {
  try {
    return JSON.parse(
      (await httpGet(admin, '/stats?format=json', { timeoutMs: 2000 })).body,
    ) as SidecarStats;
  } catch {
    return undefined;
  }
}
const statsLine = (label: string, s: SidecarStats | undefined) =>
  s
    ? `${label} counted ${s.requests} requests, ${s.responses2xx} 2xx, ${s.responses5xx} 5xx, ${s.retries} retries` +
      ` (now: heap ${mib(s.memory_heap_used_bytes)}/${mib(s.memory_heap_total_bytes)} MiB, external ${mib(s.memory_external_bytes)} MiB)`
    : `${label}: /stats unavailable`;

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

/** Stops a sidecar so that it exits by itself (and writes its CPU profile). */
async function stopSidecar(child: Child): Promise<void> {
  await procs.stop(child, 'SIGTERM', 10_000);
}

/** Starts a variant in front of the upstream with the `ferry` CLI `cli` (this build's or --ab's). */
type Starter = (upstreamPort: number, cli: string) => Promise<Target>;

type BenchSidecar = Awaited<ReturnType<typeof startSidecar>>;

/**
 * The Target for a two-sidecar hop (client -> sidecar A -> sidecar B -> upstream): load goes
 * to A's outbound port; the check line reports both sidecars' stats, after `first` if given.
 */
function meshHop(
  cp: { child: Child },
  client: BenchSidecar,
  server: BenchSidecar,
  first?: () => Promise<string>,
): Target {
  return {
    port: client.outbound,
    procs: [
      { label: 'sidecar A', pid: client.child.pid },
      { label: 'sidecar B', pid: server.child.pid },
    ],
    affinity: [client.child.pid, server.child.pid],
    check: async () => {
      const [a, b] = [await sidecarStats(client.admin), await sidecarStats(server.admin)];
      const head = first ? `${await first()}; ` : '';
      return `${head}${statsLine('sidecar A', a)}; ${statsLine('sidecar B', b)}`;
    },
    stop: async () => {
      await Promise.all([stopSidecar(client.child), stopSidecar(server.child)]);
      await procs.stop(cp.child);
    },
  };
}

type Variant = { id: string; name: string; start: Starter };

/** The Target of one sidecar in front of the upstream (a static endpoint). */
async function oneHopTarget(
  cli: string,
  cpName: string,
  yaml: string,
  label: string,
  flags?: string[],
  after?: () => void,
): Promise<Target> {
  const cp = await startControlPlane(cli, cpName, yaml);
  const sc = await startSidecar(cli, label, cp.xds, 'client', undefined, flags);
  return {
    port: sc.outbound,
    procs: [{ label: 'sidecar', pid: sc.child.pid }],
    affinity: [sc.child.pid],
    check: async () => statsLine('sidecar', await sidecarStats(sc.admin)),
    stop: async () => {
      await stopSidecar(sc.child);
      await procs.stop(cp.child);
      after?.();
    },
  };
}

/** One sidecar in front of the upstream. */
function oneHopVariant(id: string, name: string, peersOff: boolean, flags?: string[]): Variant {
  return {
    id,
    name,
    start: (up, cli) =>
      oneHopTarget(cli, `cp-${id}`, meshYaml(up, false, peersOff), 'sidecar', flags),
  };
}

/** Two sidecars, plaintext between them. */
function plainMeshHop(id: string, name: string, peersOff: boolean): Variant {
  return {
    id,
    name,
    start: async (up, cli) => {
      const cp = await startControlPlane(cli, `cp-${id}`, meshYaml(undefined, false, peersOff));
      const server = await startSidecar(cli, 'sidecar B (upstream)', cp.xds, 'upstream', up);
      const client = await startSidecar(cli, 'sidecar A (client)', cp.xds, 'client');
      return meshHop(cp, client, server);
    },
  };
}

/** Two sidecars, mutual TLS between them. */
function mtlsMeshHop(id: string, name: string, peersOff: boolean): Variant {
  return {
    id,
    name,
    start: async (up, cli) => {
      // The real way: the control plane runs its CA, each sidecar proves its service
      // account with a workload token and gets its certificate over the secure port, and
      // `upstream` is STRICT, so sidecar B takes nothing but mutual TLS.
      const caDir = path.join(tmp, `ca-${id}`);
      mkdirSync(caDir, { recursive: true, mode: 0o700 });
      const cp = await startControlPlane(
        cli,
        `cp-${id}`,
        meshYaml(undefined, true, peersOff),
        caDir,
      );
      const server = await startSidecar(
        cli,
        'sidecar B (upstream, mTLS)',
        cp.secure!,
        'upstream',
        up,
        mtlsFlags(caDir, 'upstream'),
      );
      const client = await startSidecar(
        cli,
        'sidecar A (client, mTLS)',
        cp.secure!,
        'client',
        undefined,
        mtlsFlags(caDir, 'client'),
      );
      return meshHop(cp, client, server, () => inboundSecurity(server.metrics));
    },
  };
}

const VARIANTS: Variant[] = [
  {
    id: 'direct',
    name: 'direct',
    start: async (up) => ({ port: up, procs: [], affinity: [], stop: async () => undefined }),
  },
  {
    id: 'http-proxy',
    name: 'http-proxy',
    start: async (up) => {
      const { child, port } = await nodeServer('http-proxy', ['http-proxy', String(up)], PROXY_CPU);
      return {
        port,
        procs: [{ label: 'http-proxy', pid: child.pid }],
        affinity: [child.pid],
        stop: () => procs.stop(child),
      };
    },
  },
  {
    id: 'nginx',
    name: 'nginx',
    start: async (up) => {
      const n = await startNginx(
        'nginx-proxy',
        `upstream up {
    server 127.0.0.1:${up};
    keepalive 256;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:PORT backlog=4096;
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }`,
        PROXY_CPU,
      );
      return {
        port: n.port,
        // The master does nothing while serving; the worker is what is measured.
        procs: n.workers.map((pid) => ({ label: 'nginx worker', pid })),
        affinity: n.pids,
        stop: () => procs.stop(n.child, 'SIGTERM'),
      };
    },
  },
  oneHopVariant('ferry', 'ferry 1 hop', false),
  // The same sidecar with node's HTTP/1.1 server downstream and undici upstream: what the
  // fast path (src/proxy/http1) buys, measured in every run.
  oneHopVariant('ferry-http1-node', 'ferry --http1 node', false, ['--http1', 'node']),
  {
    // The same sidecar built without tap points: the tap hook's idle cost is the difference.
    id: 'ferry-no-tap',
    name: 'ferry 1 hop no-tap',
    start: (up, cli) =>
      oneHopTarget(cli, 'cp-one-hop-no-tap', meshYaml(up), 'sidecar', ['--no-tap']),
  },
  oneHopVariant('ferry-peers-off', 'ferry 1 hop, peers off', true),
  {
    id: 'ferry-traced',
    name: 'ferry traced',
    start: async (up, cli) => {
      // Every request traced (sampling 1) and exported over OTLP/HTTP to a collector that
      // takes and discards: what tracing on costs, next to 'ferry 1 hop' with it off.
      const collector = http.createServer((req, res) => {
        req.resume();
        req.on('end', () => res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
      });
      await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
      return oneHopTarget(
        cli,
        'cp-traced',
        meshYaml(up),
        'sidecar (traced)',
        ['--tracing-endpoint', url],
        () => collector.close(),
      );
    },
  },
  plainMeshHop('ferry-mesh', 'ferry mesh hop', false),
  plainMeshHop('ferry-mesh-peers-off', 'ferry mesh hop, peers off', true),
  {
    id: 'nginx-mtls',
    name: 'nginx mtls',
    start: async (up) => {
      // The same mutual TLS as Ferry's pair: TLS 1.3, both sides present a certificate from
      // the mesh's CA and check the other's, and nginx A keeps its TLS connections to B
      // open (upstream keepalive) and resumes sessions, as a sidecar keeps its pool.
      const dir = path.join(tmp, 'nginx-mtls-certs');
      mkdirSync(dir, { recursive: true });
      const c = await nginxCertificates(dir);
      const b = await startNginx(
        'nginx-mtls-b',
        `upstream app {
    server 127.0.0.1:${up};
    keepalive 256;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:PORT ssl backlog=4096;
    ssl_protocols TLSv1.3;
    ssl_certificate ${c.b}.crt;
    ssl_certificate_key ${c.b}.key;
    ssl_client_certificate ${c.root};
    ssl_verify_client on;
    ssl_session_cache shared:bench:1m;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
    # For the check after the run: what B saw of the connection it was asked on.
    location = /bench-mtls {
      default_type text/plain;
      return 200 "$ssl_protocol $ssl_client_verify $ssl_client_s_dn";
    }
  }`,
        PROXY_CPU,
        listening,
      );
      const a = await startNginx(
        'nginx-mtls-a',
        `upstream b {
    server 127.0.0.1:${b.port};
    keepalive 256;
    keepalive_requests 1000000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:PORT backlog=4096;
    location / {
      proxy_pass https://b;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_ssl_protocols TLSv1.3;
      proxy_ssl_certificate ${c.a}.crt;
      proxy_ssl_certificate_key ${c.a}.key;
      proxy_ssl_trusted_certificate ${c.root};
      proxy_ssl_verify on;
      proxy_ssl_verify_depth 2;
      proxy_ssl_name ${NGINX_B_NAME};
      proxy_ssl_session_reuse on;
    }
  }`,
        PROXY_CPU,
      ).catch(async (err: unknown) => {
        await procs.stop(b.child, 'SIGTERM');
        throw err;
      });
      return {
        port: a.port,
        procs: [
          ...a.workers.map((pid) => ({ label: 'nginx A worker', pid })),
          ...b.workers.map((pid) => ({ label: 'nginx B worker', pid })),
        ],
        affinity: [...a.pids, ...b.pids],
        check: async () => {
          try {
            const r = await httpGet(a.port, '/bench-mtls', { host: HOST, timeoutMs: 2000 });
            const ok = r.status === 200 && /^TLSv1\.3 SUCCESS/.test(r.body);
            return `${ok ? 'mTLS verified' : 'NOT verified'}: nginx B saw ${r.status} "${r.body}"`;
          } catch (err) {
            return `mTLS check failed: ${(err as Error).message}`;
          }
        },
        stop: async () => {
          await procs.stop(a.child, 'SIGTERM');
          await procs.stop(b.child, 'SIGTERM');
        },
      };
    },
  },
  mtlsMeshHop('ferry-mesh-mtls', 'ferry mesh mtls', false),
  mtlsMeshHop('ferry-mesh-mtls-peers-off', 'ferry mesh mtls, peers off', true),
];

// ---------------------------------------------------------------- load

/** Runs a child to its end on the load CPU; resolves with its stdout. */
async function runLoad(
  name: string,
  cmd: string,
  args: string[],
  timeoutMs: number,
  cpu: number | string = LOAD_CPU,
) {
  let stdout = '';
  const child = procs.spawn(name, cmd, args, {
    cpu,
    onLine: (line) => {
      stdout += `${line}\n`;
    },
  });
  let code: number | null;
  try {
    code = await procs.waitExit(child, timeoutMs);
  } catch (err) {
    await procs.stop(child, 'SIGKILL');
    throw err;
  }
  // Let the last stdout lines through the pipe.
  await new Promise((r) => setImmediate(r));
  if (code !== 0) throw new Error(`${name} failed (${code}):\n  ${child.tail.join('\n  ')}`);
  return stdout;
}

interface Saturation {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
}

async function saturate(port: number, seconds: number): Promise<Saturation> {
  const limit = (seconds + 20) * 1000;
  if (WRK) {
    const text = await runLoad(
      'wrk',
      WRK,
      [
        '-t1',
        `-c${CONNECTIONS}`,
        `-d${seconds}s`,
        '--timeout',
        '5s',
        '-H',
        `Host: ${HOST}`,
        `http://127.0.0.1:${port}/`,
      ],
      limit,
    );
    const m = /(\d+) requests in ([\d.]+)(m?s)/.exec(text);
    if (!m) throw new Error(`could not read wrk's output:\n${text}`);
    const requests = Number(m[1]);
    const secs = Number(m[2]) / (m[3] === 'ms' ? 1000 : 1);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
    const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
    const errors = non2xx + (sock ? sock.slice(1).reduce((s, v) => s + Number(v), 0) : 0);
    return { requests: requests - non2xx, errors, seconds: secs, rps: (requests - non2xx) / secs };
  }
  const r = JSON.parse(
    await runLoad(
      'load generator',
      process.execPath,
      saturationArgs(port, HOST, seconds, CONNECTIONS),
      limit,
    ),
  ) as Saturation;
  return r;
}

interface Fixed {
  requests: number;
  /** The requests at or above p99: CLOCK_MONOTONIC µs [sent, answered]. */
  slow?: [number, number][];
  errors: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  lagP99: number;
  queued: number;
}

async function fixedRate(port: number, cpu: number | string): Promise<Fixed> {
  const text = await runLoad(
    'load generator (fixed rate)',
    process.execPath,
    [
      PROXY_LOAD,
      '--mode',
      'rate',
      '--port',
      String(port),
      '--host',
      HOST,
      '--rate',
      String(RATE),
      '--seconds',
      String(RATE_DURATION),
      '--warmup',
      '1',
    ],
    (RATE_DURATION + 30) * 1000,
    cpu,
  );
  return JSON.parse(text) as Fixed;
}

// ---------------------------------------------------------------- measurement

interface Result {
  id: string;
  name: string;
  sat: Saturation;
  fixed: Fixed;
  /** Proxy CPU, ms per 1,000 requests, at saturation and at the fixed rate. */
  cpuSat: number;
  cpuFixed: number;
  /** Share of the proxies' CPU time at saturation spent in the kernel (system time). */
  sysShare: number;
  /** Peak RSS of each proxy process, MiB. */
  rss: { label: string; idle: number; peak: number }[];
  proxyBusy: number;
  loadBusy: number;
  /** CPU other processes on the machine used while this variant was measured, in CPUs. */
  foreign: { share: number; top: string };
  check?: string;
  /** CLOCK_MONOTONIC microseconds of the fixed-rate and saturation phases. */
  windows: { fixed: [number, number]; sat: [number, number] };
  pids: number[];
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sumCpu = (pids: number[]) => pids.reduce((s, pid) => s + cpuMs(pid), 0);

async function measure(id: string, name: string, t: Target): Promise<Result> {
  // Answers, and with the whole body?
  await waitUntil(
    `${name}: first answer`,
    async () => {
      try {
        const r = await httpGet(t.port, '/', { host: HOST, timeoutMs: 2000 });
        return r.status === 200 && r.body.length === BODY_BYTES;
      } catch {
        return false;
      }
    },
    15_000,
    100,
  );
  const pids = t.procs.map((p) => p.pid);
  const idle = pids.map(rssMiB);
  await saturate(t.port, WARMUP);

  // The fixed-rate phase, on the CPUs --rate-cpus says.
  const rateCpu = RATE_CPUS === 'all' ? ALL_CPUS : RATE_CPUS === 'one' ? PROXY_CPU : LOAD_CPU;
  if (RATE_CPUS !== 'split') {
    procs.setAffinity(t.affinity, rateCpu);
    procs.setAffinity(upstreamPids, rateCpu);
  }
  const foreign = new ForeignCpu();
  let c0 = sumCpu(pids);
  const f0 = nowUs();
  const fixed = await fixedRate(t.port, rateCpu);
  const f1 = nowUs();
  if (RATE_CPUS !== 'split') {
    procs.setAffinity(t.affinity, PROXY_CPU);
    procs.setAffinity(upstreamPids, LOAD_CPU);
  }
  const cpuFixed = ((sumCpu(pids) - c0) / (fixed.requests + RATE)) * 1000; // + the 1 s warm-up

  c0 = sumCpu(pids);
  const us0 = pids.map(userSysMs);
  const j0 = cpuJiffies();
  const s0 = nowUs();
  const sat = await saturate(t.port, DURATION);
  const s1 = nowUs();
  const j1 = cpuJiffies();
  const cpuSat = ((sumCpu(pids) - c0) / sat.requests) * 1000;
  let user = 0;
  let sys = 0;
  pids.forEach((pid, i) => {
    const u = userSysMs(pid);
    user += u.user - us0[i].user;
    sys += u.sys - us0[i].sys;
  });

  const result: Result = {
    id,
    name,
    sat,
    fixed,
    cpuSat: pids.length ? cpuSat : Number.NaN,
    cpuFixed: pids.length ? cpuFixed : Number.NaN,
    sysShare: pids.length ? sys / (user + sys) : Number.NaN,
    rss: t.procs.map((p, i) => ({ label: p.label, idle: idle[i], peak: peakRssMiB(p.pid) })),
    proxyBusy: PIN ? busyShare(j0, j1, PROXY_CPU) : Number.NaN,
    loadBusy: PIN ? busyShare(j0, j1, LOAD_CPU) : Number.NaN,
    foreign: foreign.end(),
    check: await t.check?.(),
    windows: { fixed: [f0, f1], sat: [s0, s1] },
    pids,
  };
  if (sat.errors > 0)
    result.check = `${result.check ?? ''} ${sat.errors} failed requests at saturation`;
  if (fixed.errors > 0)
    result.check = `${result.check ?? ''} ${fixed.errors} failed requests at the fixed rate`;
  out(
    `  ${name.padEnd(15)} ${f(sat.rps, 0).padStart(6)} req/s   p90 @${RATE}/s ${f(fixed.p90, 3)} ms` +
      (pids.length
        ? `   ${f(cpuSat, 1)} CPU ms/1k req   peak RSS ${f(Math.max(...result.rss.map((r) => r.peak)), 1)} MiB`
        : '') +
      (PIN ? `   CPU busy: proxy ${pct(result.proxyBusy)}, load ${pct(result.loadBusy)}` : '') +
      `   other processes ${pct(result.foreign.share)}`,
  );
  if (result.check) out(`  ${' '.repeat(15)} ${result.check.trim()}`);
  if (GC_EVENTS)
    t.procs.forEach((p) => {
      const events = GC_EVENTS.get(p.pid);
      if (!events) return;
      out(
        `  ${' '.repeat(15)} GC ${p.label} @${RATE}/s: ${gcSummary(events, f0, f1, fixed.requests + RATE)}`,
      );
      out(
        `  ${' '.repeat(15)} GC ${p.label} saturation: ${gcSummary(events, s0, s1, sat.requests)}`,
      );
      const o = gcOverlap(events, fixed.slow ?? []);
      if (o)
        out(
          `  ${' '.repeat(15)} GC ${p.label}: ${o.met} of the ${o.slow} requests at or above p99 @${RATE}/s were under way during a collection (${pct(o.share)}; a request sent at a random moment: ${pct(o.expected)})`,
        );
    });
  return result;
}

// ---------------------------------------------------------------- report

const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '-');
const pct = (share: number) => (Number.isFinite(share) ? `${Math.round(share * 100)}%` : '-');
const x = (a: number, b: number | undefined) =>
  b !== undefined && Number.isFinite(a) && Number.isFinite(b) && b > 0
    ? `${(a / b).toFixed(2)}x`
    : '-';
const peak = (r: Result) => (r.rss.length ? Math.max(...r.rss.map((p) => p.peak)) : Number.NaN);

function table(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  out(`  ${line(head)}`);
  for (const r of rows) out(`  ${line(r)}`);
}

function report(results: Result[]): void {
  const by = (id: string) => results.find((r) => r.id === id);
  const direct = by('direct');
  const hp = by('http-proxy');
  const ng = by('nginx');
  const one = by('ferry');
  const ngm = by('nginx-mtls');

  out();
  out(
    `Results (saturation: ${WRK ? 'wrk' : 'Node load generator'}, ${CONNECTIONS} connections, ${DURATION} s; latency: open loop at ${RATE} req/s for ${RATE_DURATION} s)`,
  );
  table(
    [
      'variant',
      'req/s',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'p99.9 ms',
      'CPU ms/1k req',
      'of it kernel',
      'CPU ms/1k @rate',
      'RSS MiB idle > peak',
      'CPU busy proxy/load',
    ],
    results.map((r) => [
      r.name,
      f(r.sat.rps, 0),
      f(r.fixed.p50, 3),
      f(r.fixed.p90, 3),
      f(r.fixed.p99, 3),
      f(r.fixed.p999, 3),
      f(r.cpuSat, 1),
      pct(r.sysShare),
      f(r.cpuFixed, 1),
      r.rss.length ? r.rss.map((p) => `${f(p.idle, 0)} > ${f(p.peak, 0)}`).join(', ') : '-',
      PIN ? `${pct(r.proxyBusy)} / ${pct(r.loadBusy)}` : '-',
    ]),
  );
  out(
    '  (CPU and RSS: the proxy processes only; mesh hop: sidecar A + sidecar B, nginx mtls: the' +
      ' workers of nginx A + nginx B, each pair on the proxy CPU)',
  );

  if (direct) {
    out();
    out('Against direct (client -> upstream)');
    table(
      ['variant', 'req/s', 'p50', 'p90', 'p99', 'added p50 ms', 'added p90 ms', 'added p99 ms'],
      results
        .filter((r) => r !== direct)
        .map((r) => [
          r.name,
          x(r.sat.rps, direct.sat.rps),
          x(r.fixed.p50, direct.fixed.p50),
          x(r.fixed.p90, direct.fixed.p90),
          x(r.fixed.p99, direct.fixed.p99),
          f(r.fixed.p50 - direct.fixed.p50, 3),
          f(r.fixed.p90 - direct.fixed.p90, 3),
          f(r.fixed.p99 - direct.fixed.p99, 3),
        ]),
    );
  }
  for (const base of [hp, ng, ngm]) {
    if (!base) continue;
    out();
    out(`Against ${base.name} (ratio of each variant's figure to ${base.name}'s)`);
    table(
      ['variant', 'req/s', 'p50', 'p90', 'p99', 'CPU/req', 'CPU/req @rate', 'peak RSS'],
      results
        .filter((r) => r !== base && r.id !== 'direct')
        .map((r) => [
          r.name,
          x(r.sat.rps, base.sat.rps),
          x(r.fixed.p50, base.fixed.p50),
          x(r.fixed.p90, base.fixed.p90),
          x(r.fixed.p99, base.fixed.p99),
          x(r.cpuSat, base.cpuSat),
          x(r.cpuFixed, base.cpuFixed),
          x(peak(r), peak(base)),
        ]),
    );
  }

  out();
  out('Targets (ferry 1 hop: routing, retries and metrics on)');
  const check = (ok: boolean | undefined, text: string) =>
    out(`  ${ok === undefined ? 'n/a ' : ok ? 'PASS' : 'MISS'}  ${text}`);
  if (!one) {
    out('  n/a   ferry 1 hop was not run');
    return;
  }
  check(
    hp ? one.sat.rps >= 2 * hp.sat.rps : undefined,
    `throughput >= 2x http-proxy: ${hp ? x(one.sat.rps, hp.sat.rps) : 'http-proxy not run'}`,
  );
  check(
    direct ? one.fixed.p90 - direct.fixed.p90 <= 0.5 : undefined,
    `added p90 at ${RATE} req/s <= 0.5 ms: ${direct ? `+${f(one.fixed.p90 - direct.fixed.p90, 3)} ms` : 'direct not run'}`,
  );
  check(
    ng ? one.cpuSat <= 2 * ng.cpuSat : undefined,
    `CPU per request <= 2x nginx: ${ng ? x(one.cpuSat, ng.cpuSat) : NGINX || opt['no-nginx'] ? 'nginx not run' : 'nginx is not installed'}` +
      (ng ? ` (at ${RATE} req/s: ${x(one.cpuFixed, ng.cpuFixed)})` : ''),
  );
  // The target is the one-hop sidecar's (routing, retries and metrics on); the other
  // variants (tracing SDK loaded, mTLS) are shown beside it.
  const sidecars = one.rss.map((p) => p.peak);
  const others = results
    .filter((r) => r.id.startsWith('ferry') && r !== one)
    .map((r) => `${r.name} ${r.rss.map((p) => f(p.peak, 1)).join('/')}`);
  check(
    Math.max(...sidecars) <= 80,
    `peak RSS per sidecar <= 80 MiB: ${sidecars.map((v) => f(v, 1)).join(', ')} MiB` +
      (others.length ? ` (others: ${others.join('; ')} MiB)` : ''),
  );
}

/**
 * Issue 16's tail-latency target: ferry 1 hop's added p99 at the fixed rate (against direct)
 * at most 1 ms, beside nginx's in the same run; and what the fast path buys over node's
 * HTTP/1.1 server (ferry --http1 node).
 */
function tailTarget(results: Result[]): void {
  const by = (id: string) => results.find((r) => r.id === id);
  const direct = by('direct');
  const one = by('ferry');
  if (!direct || !one) return;
  const added = (r: Result, q: 'p90' | 'p99') => r.fixed[q] - direct.fixed[q];
  const ng = by('nginx');
  const node = by('ferry-http1-node');
  out();
  out(`Target (tail latency: added p99 of one hop at ${RATE} req/s, against direct)`);
  out(
    `  ${added(one, 'p99') <= 1 ? 'PASS' : 'MISS'}  ferry 1 hop +${f(added(one, 'p99'), 3)} ms <= +1 ms` +
      (ng ? ` (nginx +${f(added(ng, 'p99'), 3)} ms)` : '') +
      (node ? ` (ferry --http1 node +${f(added(node, 'p99'), 3)} ms)` : ''),
  );
  if (node)
    out(
      `        fast path against --http1 node: CPU per request ${x(one.cpuSat, node.cpuSat)} at saturation, ${x(one.cpuFixed, node.cpuFixed)} at ${RATE} req/s; req/s ${x(one.sat.rps, node.sat.rps)}; added p90 ${f(added(one, 'p90'), 3)} vs ${f(added(node, 'p90'), 3)} ms`,
    );
}

/** What tap costs while nobody taps: the one-hop sidecar against the same built without it. */
function tapTarget(results: Result[]): void {
  const on = results.find((r) => r.id === 'ferry');
  const off = results.find((r) => r.id === 'ferry-no-tap');
  if (!on || !off) return;
  out();
  out('Target (tap idle: ferry 1 hop against ferry 1 hop no-tap, same run)');
  const sat = on.cpuSat / off.cpuSat - 1;
  const fixed = on.cpuFixed / off.cpuFixed - 1;
  const pct = (v: number) => `${v >= 0 ? '+' : ''}${f(100 * v, 1)}%`;
  out(
    `  ${sat <= 0.02 ? 'PASS' : 'MISS'}  CPU per request with tap idle <= +2%: ${pct(sat)} at saturation ` +
      `(${f(on.cpuSat, 1)} vs ${f(off.cpuSat, 1)} ms/1k req), ${pct(fixed)} at ${RATE} req/s ` +
      `(${f(on.cpuFixed, 1)} vs ${f(off.cpuFixed, 1)})`,
  );
}

/** The issue's targets for the mesh hop with mutual TLS, against the nginx pair. */
function mtlsTargets(results: Result[]): void {
  const by = (id: string) => results.find((r) => r.id === id);
  const direct = by('direct');
  const ngm = by('nginx-mtls');
  const mesh = by('ferry-mesh-mtls');
  if (!mesh && !ngm) return;
  out();
  out('Targets (mTLS mesh hop: sidecar A -> mutual TLS 1.3 -> sidecar B, upstream STRICT)');
  const check = (ok: boolean | undefined, text: string) =>
    out(`  ${ok === undefined ? 'n/a ' : ok ? 'PASS' : 'MISS'}  ${text}`);
  if (!mesh) {
    out('  n/a   ferry mesh mtls was not run');
    return;
  }
  const ngmWhy = NGINX || opt['no-nginx'] ? 'nginx mtls not run' : 'nginx is not installed';
  check(
    ngm ? mesh.cpuSat <= 2 * ngm.cpuSat : undefined,
    `CPU per request <= 2x the nginx mTLS pair, at saturation: ${ngm ? `${x(mesh.cpuSat, ngm.cpuSat)} (${f(mesh.cpuSat, 1)} vs ${f(ngm.cpuSat, 1)} ms/1k req)` : ngmWhy}`,
  );
  check(
    ngm ? mesh.cpuFixed <= 2 * ngm.cpuFixed : undefined,
    `CPU per request <= 2x the nginx mTLS pair, at ${RATE} req/s: ${ngm ? `${x(mesh.cpuFixed, ngm.cpuFixed)} (${f(mesh.cpuFixed, 1)} vs ${f(ngm.cpuFixed, 1)} ms/1k req)` : ngmWhy}`,
  );
  check(
    direct ? mesh.fixed.p90 - direct.fixed.p90 <= 1 : undefined,
    `added p90 at ${RATE} req/s for the whole mesh hop <= 1 ms: ${direct ? `+${f(mesh.fixed.p90 - direct.fixed.p90, 3)} ms` : 'direct not run'}` +
      (direct && ngm ? ` (nginx mTLS pair: +${f(ngm.fixed.p90 - direct.fixed.p90, 3)} ms)` : ''),
  );
  if (ngm)
    out(
      `        for reference: throughput ${x(mesh.sat.rps, ngm.sat.rps)} the nginx mTLS pair's, peak RSS ${f(peak(mesh), 0)} vs ${f(peak(ngm), 0)} MiB per process`,
    );
  const verified = (r: Result | undefined) =>
    r ? (r.check?.startsWith('mTLS verified') ? 'mTLS verified' : 'mTLS NOT verified') : '';
  out(
    `        ${[mesh, ngm]
      .filter(Boolean)
      .map((r) => `${r!.name}: ${verified(r)}`)
      .join('; ')}`,
  );
}

/**
 * What naming both peers costs (issue 14's target: <= 5% more CPU per request): each
 * variant against the same one with mesh.telemetry.peerMetadata false, in the same run.
 */
function peerTargets(results: Result[]): void {
  const pairs = [
    ['ferry', 'ferry-peers-off'],
    ['ferry-mesh', 'ferry-mesh-peers-off'],
    ['ferry-mesh-mtls', 'ferry-mesh-mtls-peers-off'],
  ] as const;
  const found = pairs
    .map(([on, off]) => [results.find((r) => r.id === on), results.find((r) => r.id === off)])
    .filter((p): p is [Result, Result] => p[0] !== undefined && p[1] !== undefined);
  if (found.length === 0) return;
  out();
  out('Targets (peer metadata: both peers named on every series, against it off, same run)');
  for (const [on, off] of found) {
    const sat = on.cpuSat / off.cpuSat;
    const fixed = on.cpuFixed / off.cpuFixed;
    out(
      `  ${sat <= 1.05 ? 'PASS' : 'MISS'}  ${on.name}: CPU per request ${f(sat, 3)}x at saturation (${f(on.cpuSat, 1)} vs ${f(off.cpuSat, 1)} ms/1k req), ${f(fixed, 3)}x at ${RATE} req/s (${f(on.cpuFixed, 1)} vs ${f(off.cpuFixed, 1)}); target <= 1.05x`,
    );
  }
}

function notes(results: Result[]): void {
  const notesOut: string[] = [];
  for (const r of results) {
    if (!PIN || r.id === 'direct') continue;
    if (r.proxyBusy < 0.9 && r.loadBusy > 0.95)
      notesOut.push(
        `${r.name}: the load CPU was saturated (${pct(r.loadBusy)}) and the proxy CPU was not (${pct(r.proxyBusy)}): its req/s is a lower bound.`,
      );
  }
  for (const r of results)
    if (r.foreign.share > 0.05)
      notesOut.push(
        `${r.name}: other processes on the machine used ${pct(r.foreign.share)} of a CPU meanwhile (most: ${r.foreign.top}); its figures are disturbed.`,
      );
  for (const r of results)
    if (r.fixed.lagP99 > 2)
      notesOut.push(
        `${r.name}: the fixed-rate generator's timer was late by ${f(r.fixed.lagP99, 2)} ms at p99 (not counted as latency).`,
      );
  if (notesOut.length) {
    out();
    out('Notes');
    for (const n of notesOut) out(`  ${n}`);
  }
}

function profiles(results: Result[]): void {
  if (!PROF_DIR) return;
  const files = readdirSync(PROF_DIR).filter((n) => n.endsWith('.cpuprofile'));
  for (const r of results) {
    if (!r.id.startsWith('ferry')) continue;
    r.pids.forEach((pid, i) => {
      const file = files.find((n) => n.split('.').includes(String(pid)));
      const label = r.rss[i]?.label ?? String(pid);
      if (!file) {
        out(`\n${r.name}, ${label}: no profile found in ${PROF_DIR}`);
        return;
      }
      const full = path.join(PROF_DIR, file);
      out(`\n==== CPU profile: ${r.name}, ${label}, saturation (${r.sat.requests} requests) ====`);
      out(summarizeProfile(full, { windows: [r.windows.sat], requests: r.sat.requests, top: 25 }));
      out(
        `\n==== CPU profile: ${r.name}, ${label}, at ${RATE} req/s (${r.fixed.requests} requests) ====`,
      );
      out(
        summarizeProfile(full, { windows: [r.windows.fixed], requests: r.fixed.requests, top: 12 }),
      );
    });
  }
}

// ---------------------------------------------------------------- main

function describe(): void {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  const version = (cmd: string | undefined, re: RegExp) => {
    if (!cmd) return '';
    const r = spawnSync(cmd, ['-v'], { timeout: 2000, encoding: 'utf8' });
    return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? '';
  };
  const wrkVersion = version(WRK, /wrk (\S+)/);
  const nginxVersion = version(NGINX, /nginx\/(\S+)/);
  out(`Ferry sidecar data-path benchmark — Node ${process.version}, ${cpus().length} x ${model}`);
  out(
    `  load: saturation with ${WRK ? `wrk ${wrkVersion} (-t1 -c${CONNECTIONS})` : `the Node load generator (${CONNECTIONS} connections; ${opt.loadgen === 'node' ? '--loadgen node' : 'wrk is not installed'})`}, ${DURATION} s per variant after ${WARMUP} s warm-up;` +
      ` latency with the Node open-loop generator at ${RATE} req/s for ${RATE_DURATION} s`,
  );
  out(
    `  upstream: ${UPSTREAM_KIND === 'nginx' ? `nginx ${nginxVersion} (return 200, ${BODY_BYTES}-byte body)` : `Node http server (${BODY_BYTES}-byte body)`}; ` +
      `baselines: direct, http-proxy${NGINX ? `, nginx ${nginxVersion} (1 worker, upstream keepalive)` : opt['no-nginx'] ? ' (nginx left out: --no-nginx)' : ' (nginx is not installed)'}`,
  );
  out(
    PIN
      ? `  CPUs (taskset): proxies on CPU ${PROXY_CPU}; load generator, upstream, control plane and this script on CPU ${LOAD_CPU};` +
          ` in the fixed-rate phase ${RATE_CPUS === 'all' ? `proxies, upstream and generator may use every CPU (${ALL_CPUS})` : RATE_CPUS === 'one' ? `proxies, upstream and generator all on CPU ${PROXY_CPU}` : 'the same'}`
      : `  CPUs: not pinned (${TASKSET ? '--no-pin or a single CPU' : 'taskset not found'}): the load generator competes with the proxy`,
  );
  out(
    '  measured: CPU time of the proxy processes, all threads (/proc/PID/task/*/schedstat), per 1,000' +
      ' requests served; peak RSS (VmHWM) per proxy process; CPU busy share of each core (/proc/stat)',
  );
  if (PROF_DIR)
    out(
      `  profiling: sidecars run under node --cpu-prof, profiles in ${PROF_DIR} (numbers are a little lower)`,
    );
  out();
}

/** Each variant's round with the median CPU per request at saturation (all rounds listed). */
function medianRounds(rounds: Result[][]): Result[] {
  const first = rounds[0] ?? [];
  if (rounds.length === 1) return first;
  out();
  out(
    `Rounds (CPU ms/1k req at saturation, ${rounds.length} rounds interleaved; the median is reported)`,
  );
  return first.map((r) => {
    const all = rounds
      .map((round) => round.find((x) => x.id === r.id))
      .filter((x) => x !== undefined);
    out(`  ${r.name.padEnd(20)} ${all.map((x) => f(x.cpuSat, 1)).join('  ')}`);
    const sorted = [...all].sort((a, b) => a.cpuSat - b.cpuSat);
    return sorted[Math.floor((sorted.length - 1) / 2)] ?? r;
  });
}

async function main(): Promise<void> {
  if (PIN)
    execFileSync(TASKSET!, ['-pc', String(LOAD_CPU), String(process.pid)], {
      timeout: 2000,
      stdio: 'ignore',
    });
  if (PROF_DIR) mkdirSync(PROF_DIR, { recursive: true });
  describe();
  let base: BaseBuild | undefined;
  if (opt.ab) {
    out(`building ${opt.ab} for the A/B (A: ${opt.ab}, B: this build) ...`);
    base = buildBase(path.join(HERE, '../..'), opt.ab, path.join(tmp, 'ab-base'));
    out(`  A is ${base.commit}, ${base.cli}`);
    out();
  }

  let upstreamPort: number;
  if (UPSTREAM_KIND === 'nginx') {
    const n = await upstreamNginx();
    upstreamPort = n.port;
    upstreamPids = n.pids;
  } else {
    const n = await nodeServer('upstream', ['upstream'], LOAD_CPU);
    upstreamPort = n.port;
    upstreamPids = [n.child.pid];
  }

  // With --ab, each ferry variant is followed by its twin from the other build.
  const chosen: (Variant & { cli: string })[] = [];
  for (const v of VARIANTS) {
    if (!only.has(v.id)) continue;
    if ((v.id === 'nginx' || v.id === 'nginx-mtls') && !NGINX) continue;
    chosen.push({ ...v, cli: CLI });
    if (base && v.id.startsWith('ferry'))
      chosen.push({ ...v, id: baseId(v.id), name: `${v.name} [A]`, cli: base.cli });
  }
  const rounds: Result[][] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const results: Result[] = [];
    // Every other round in reverse, so that no variant always runs first (A B, B A, ...).
    for (const v of round % 2 === 0 ? chosen : [...chosen].reverse()) {
      const target = await v.start(upstreamPort, v.cli);
      try {
        results.push(await measure(v.id, v.name, target));
      } finally {
        await target.stop();
      }
    }
    rounds.push(results);
  }
  const results = medianRounds(rounds);
  report(results);
  tailTarget(results);
  tapTarget(results);
  mtlsTargets(results);
  peerTargets(results);
  if (base) {
    out();
    for (const line of abReport(
      rounds,
      chosen.filter((v) => v.cli === CLI && v.id.startsWith('ferry')),
      base,
    ))
      out(line);
  }
  notes(results);
  profiles(results);
  if (opt.json)
    writeFileSync(
      opt.json,
      `${JSON.stringify({ date: new Date().toISOString(), results }, null, 2)}\n`,
    );
}

main()
  .then(() => {
    cleanup();
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    cleanup();
    process.exit(1);
  });
