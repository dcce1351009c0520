/**
 * Control plane scale benchmark: `npm run bench:controlplane [-- --clients 100,1000,5000]`.
 *
 * One control plane runs in its own process; N simulated xDS clients (half state of the
 * world, half delta, each on CDS wildcard + EDS for every cluster) run in one or more
 * client worker processes. After all of them have ACKed their first configuration, the
 * mesh file is rewritten (temp file + rename) with one endpoint's port changed, and every
 * client records when it ACKed the EDS response that carries the new generation. That time,
 * measured from the end of the rename, includes the file watch, the push debounce, the
 * rebuild, the push and the client's own work: it is what an operator waits for.
 *
 * Three processes (orchestrator, control plane, client worker) share the machine's cores.
 * All timestamps are CLOCK_MONOTONIC (process.hrtime), which is the same clock in every
 * process, so times taken in different processes can be subtracted.
 *
 * Roles of this file (one per process):
 *   (default)          orchestrator: starts the others, changes the file, prints results
 *   --server FILE MS   control plane (ControlPlane.start, as `ferry control-plane` does)
 *   --clients-worker   simulated clients, driven over IPC
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import {
  type AdsClient,
  createAdsClient,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
  decodeResource,
  types,
} from '../src/xds/index.js';

/** Milliseconds on CLOCK_MONOTONIC: comparable across processes on one machine. */
function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Rejects with `what` if `p` has not settled within `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------
// The mesh: S services, each with an http and a grpc port and E endpoints.

const HTTP_PORT = 8080;
const GRPC_PORT = 9090;
const DOMAIN = 'cluster.local';

interface Change {
  readonly service: number;
  /** The new port of the service's first endpoint on HTTP_PORT. */
  readonly port: number;
}

function serviceName(s: number): string {
  return `svc-${s}`;
}

function endpointAddress(s: number, e: number): string {
  return `10.${(s >> 8) & 255}.${s & 255}.${e + 1}`;
}

function clusterName(port: number, s: number): string {
  return `outbound|${port}||${serviceName(s)}.default.svc.${DOMAIN}`;
}

function clusterNames(services: number): string[] {
  const names: string[] = [];
  for (let s = 0; s < services; s++) {
    names.push(clusterName(HTTP_PORT, s), clusterName(GRPC_PORT, s));
  }
  return names;
}

function meshYaml(services: number, endpoints: number, change?: Change): string {
  const doc = {
    mesh: { trustDomain: DOMAIN },
    services: Array.from({ length: services }, (_, s) => ({
      name: serviceName(s),
      namespace: 'default',
      ports: [
        { port: HTTP_PORT, protocol: 'http' },
        { port: GRPC_PORT, protocol: 'grpc' },
      ],
      endpoints: Array.from({ length: endpoints }, (_, e) => ({
        address: endpointAddress(s, e),
        ports: {
          [String(HTTP_PORT)]: change && change.service === s && e === 0 ? change.port : HTTP_PORT,
          [String(GRPC_PORT)]: GRPC_PORT,
        },
        labels: { app: serviceName(s), version: e % 2 ? 'v2' : 'v1' },
        zone: e % 2 ? 'zone-b' : 'zone-a',
      })),
    })),
  };
  return stringify(doc);
}

/** Replaces the file atomically (what editors and config management tools do). */
function writeAtomically(path: string, text: string): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, text);
  renameSync(temp, path);
}

// ---------------------------------------------------------------------------------------
// IPC messages.

type ToWorker =
  | {
      type: 'connect';
      address: string;
      first: number;
      count: number;
      clusters: string[];
      streamsPerConnection: number;
      timeoutMs: number;
    }
  | { type: 'arm'; expect: Expected }
  | { type: 'collect'; timeoutMs: number }
  | { type: 'close' };

interface Expected {
  readonly cluster: string;
  readonly address: string;
  readonly port: number;
}

type FromWorker =
  | { type: 'ready' }
  | { type: 'connected'; ready: number; failed: number; firstError: string | undefined }
  | { type: 'armed' }
  | {
      type: 'result';
      /** Per converged client: when its response arrived and when it had written the ACK. */
      recv: number[];
      ack: number[];
      missing: number;
      cpuMs: number;
      verified: number;
      checked: number;
      problems: string[];
    }
  | { type: 'error'; message: string };

type FromServer =
  | { type: 'listening'; xdsPort: number; httpPort: number }
  | {
      type: 'published';
      version: string;
      /** When the generation was published (snapshot.publishedAt), monotonic ms. */
      at: number;
      /** When every stream had been handed its response (after AdsServer's push loop). */
      pushedAt: number;
    };

// ---------------------------------------------------------------------------------------
// Role: control plane (forked). The same start-up as `ferry control-plane`, plus a report
// of every publish so the orchestrator can split file-watch + debounce from the push.

async function runServer(configPath: string, debounceMs: number): Promise<void> {
  const { ControlPlane } = await import('../src/controlplane/index.js');
  const { createLogger } = await import('../src/log/index.js');
  const send = (m: FromServer) => process.send?.(m);
  const log = createLogger({ level: 'warn', name: 'control-plane' });
  const cp = await ControlPlane.start({
    configPath,
    host: '127.0.0.1',
    xdsPort: 0,
    httpPort: 0,
    debounceMs,
    log,
  });
  // performance.now() and hrtime run on the same clock; this maps one onto the other.
  const offset = now() - performance.now();
  // Registered after the ADS server's own listener, so this runs once the push loop is done.
  cp.cache.onPublish((version: string) => {
    const pushedAt = now();
    const at = cp.cache.snapshotFor(undefined).publishedAt + offset;
    send({ type: 'published', version, at, pushedAt });
  });
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(0), 3000).unref();
    cp.close().finally(() => process.exit(0));
  };
  process.on('disconnect', stop);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  send({ type: 'listening', xdsPort: cp.xdsPort, httpPort: cp.httpPort });
}

// ---------------------------------------------------------------------------------------
// Role: client worker. Each simulated client is one ADS stream; streams are spread over
// channels of `streamsPerConnection` streams, each channel with its own TCP connection.

const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.use_local_subchannel_pool': 1,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
};

/** Responses kept for checking their content, per mode and worker. */
const SAMPLES_PER_MODE = 3;

interface Sim {
  readonly index: number;
  readonly sotw: boolean;
  readonly keepSample: boolean;
  call: grpc.ClientDuplexStream<object, object> | undefined;
  cdsSeen: boolean;
  edsSeen: boolean;
  /** Highest EDS generation received. */
  edsVersion: number;
  /** Responses of a generation above this one complete the current round. */
  baseline: number;
  recvAt: number;
  ackAt: number;
  sample: DiscoveryResponse | DeltaDiscoveryResponse | undefined;
  failed: boolean;
}

class Fleet {
  private readonly sims: Sim[] = [];
  private readonly channels: AdsClient[] = [];
  private ready = 0;
  private failed = 0;
  private firstError: string | undefined;
  private pending = 0;
  private expected: Expected | undefined;
  private wake: (() => void) | undefined;
  private cpuAtArm: NodeJS.CpuUsage | undefined;

  connect(cmd: Extract<ToWorker, { type: 'connect' }>): Promise<void> {
    const { clusters } = cmd;
    let channel: AdsClient | undefined;
    for (let i = 0; i < cmd.count; i++) {
      if (i % cmd.streamsPerConnection === 0) {
        channel = createAdsClient(cmd.address, grpc.credentials.createInsecure(), CHANNEL_OPTIONS);
        this.channels.push(channel);
      }
      const index = cmd.first + i;
      const sotw = index % 2 === 0;
      const sim: Sim = {
        index,
        sotw,
        keepSample: i < 2 * SAMPLES_PER_MODE,
        call: undefined,
        cdsSeen: false,
        edsSeen: false,
        edsVersion: 0,
        baseline: Number.POSITIVE_INFINITY,
        recvAt: 0,
        ackAt: 0,
        sample: undefined,
        failed: false,
      };
      this.sims.push(sim);
      if (sotw) this.openSotw(sim, channel as AdsClient, clusters);
      else this.openDelta(sim, channel as AdsClient, clusters);
    }
    return this.until(() => this.ready + this.failed >= this.sims.length, cmd.timeoutMs);
  }

  private openSotw(sim: Sim, channel: AdsClient, clusters: string[]): void {
    const call = channel.StreamAggregatedResources();
    sim.call = call;
    call.on('data', (res: DiscoveryResponse) => {
      const t = now();
      const typeUrl = res.type_url ?? '';
      const eds = typeUrl === types.ENDPOINT;
      call.write({
        type_url: typeUrl,
        response_nonce: res.nonce,
        version_info: res.version_info,
        resource_names: eds ? clusters : [],
      });
      this.received(sim, typeUrl, Number(res.version_info), t, res);
    });
    call.on('error', (err: Error) => this.lost(sim, err));
    call.write({
      node: { id: `bench-sotw-${sim.index}`, user_agent_name: 'ferry-bench' },
      type_url: types.CLUSTER,
      resource_names: [],
    });
    call.write({ type_url: types.ENDPOINT, resource_names: clusters });
  }

  private openDelta(sim: Sim, channel: AdsClient, clusters: string[]): void {
    const call = channel.DeltaAggregatedResources();
    sim.call = call;
    call.on('data', (res: DeltaDiscoveryResponse) => {
      const t = now();
      const typeUrl = res.type_url ?? '';
      call.write({ type_url: typeUrl, response_nonce: res.nonce });
      this.received(sim, typeUrl, Number(res.system_version_info), t, res);
    });
    call.on('error', (err: Error) => this.lost(sim, err));
    call.write({
      node: { id: `bench-delta-${sim.index}`, user_agent_name: 'ferry-bench' },
      type_url: types.CLUSTER,
    });
    call.write({ type_url: types.ENDPOINT, resource_names_subscribe: clusters });
  }

  /** Called after the ACK has been written. */
  private received(
    sim: Sim,
    typeUrl: string,
    version: number,
    recvAt: number,
    res: DiscoveryResponse | DeltaDiscoveryResponse,
  ): void {
    if (typeUrl === types.CLUSTER) {
      if (!sim.cdsSeen) {
        sim.cdsSeen = true;
        if (sim.edsSeen) this.readyOne();
      }
      return;
    }
    if (typeUrl !== types.ENDPOINT) return;
    if (!sim.edsSeen) {
      sim.edsSeen = true;
      if (sim.cdsSeen) this.readyOne();
    }
    if (version > sim.baseline && sim.ackAt === 0) {
      sim.recvAt = recvAt;
      sim.ackAt = now();
      if (sim.keepSample) sim.sample = res;
      this.pending--;
      if (this.pending === 0) this.wake?.();
    }
    if (version > sim.edsVersion) sim.edsVersion = version;
  }

  private readyOne(): void {
    this.ready++;
    this.wake?.();
  }

  private lost(sim: Sim, err: Error): void {
    if (sim.failed) return;
    sim.failed = true;
    this.failed++;
    this.firstError ??= err.message;
    if (this.expected && sim.ackAt === 0) this.pending--;
    this.wake?.();
  }

  private until(done: () => boolean, timeoutMs: number): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(finish, timeoutMs);
      const self = this;
      function finish(): void {
        clearTimeout(timer);
        self.wake = undefined;
        resolve();
      }
      this.wake = () => {
        if (done()) finish();
      };
    });
  }

  connectReport(): FromWorker {
    return {
      type: 'connected',
      ready: this.ready,
      failed: this.failed,
      firstError: this.firstError,
    };
  }

  arm(expect: Expected): void {
    this.expected = expect;
    this.pending = 0;
    for (const sim of this.sims) {
      sim.baseline = sim.edsVersion;
      sim.recvAt = 0;
      sim.ackAt = 0;
      sim.sample = undefined;
      if (!sim.failed) this.pending++;
    }
    this.cpuAtArm = process.cpuUsage();
  }

  async collect(timeoutMs: number): Promise<FromWorker> {
    await this.until(() => this.pending <= 0, timeoutMs);
    const cpu = process.cpuUsage(this.cpuAtArm);
    const recv: number[] = [];
    const ack: number[] = [];
    let missing = 0;
    for (const sim of this.sims) {
      if (sim.ackAt) {
        recv.push(sim.recvAt);
        ack.push(sim.ackAt);
      } else missing++;
    }
    // Off the clock: check that the sampled responses carry the changed endpoint.
    let checked = 0;
    let verified = 0;
    const problems: string[] = [];
    for (const sim of this.sims) {
      if (!sim.sample || !this.expected) continue;
      checked++;
      const problem = checkSample(sim, this.expected);
      if (problem) problems.push(problem);
      else verified++;
    }
    return {
      type: 'result',
      recv,
      ack,
      missing,
      cpuMs: (cpu.user + cpu.system) / 1000,
      verified,
      checked,
      problems,
    };
  }

  close(): void {
    for (const sim of this.sims) sim.call?.cancel();
    for (const channel of this.channels) channel.close();
  }
}

interface LoadAssignment {
  cluster_name?: string;
  endpoints?: Array<{
    lb_endpoints?: Array<{
      endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } };
    }>;
  }>;
}

/** Undefined when the sampled response carries the expected endpoint; else what is wrong. */
function checkSample(sim: Sim, expect: Expected): string | undefined {
  const what = `${sim.sotw ? 'SotW' : 'delta'} client ${sim.index}`;
  let values: Uint8Array[];
  if (sim.sotw) {
    values = ((sim.sample as DiscoveryResponse).resources ?? []).map(
      (r) => r.value ?? new Uint8Array(),
    );
  } else {
    const res = sim.sample as DeltaDiscoveryResponse;
    const names = (res.resources ?? []).map((r) => r.name);
    if (names.length !== 1 || names[0] !== expect.cluster) {
      return `${what}: delta response carries [${names.join(', ')}], expected only ${expect.cluster}`;
    }
    values = (res.resources ?? []).map((r) => r.resource?.value ?? new Uint8Array());
  }
  for (const bytes of values) {
    const cla = decodeResource<LoadAssignment>(types.ENDPOINT, bytes);
    if (cla.cluster_name !== expect.cluster) continue;
    for (const locality of cla.endpoints ?? []) {
      for (const lb of locality.lb_endpoints ?? []) {
        const sa = lb.endpoint?.address?.socket_address;
        if (sa?.address === expect.address && sa.port_value === expect.port) return undefined;
      }
    }
    return `${what}: ${expect.cluster} lacks ${expect.address}:${expect.port}`;
  }
  return `${what}: response has no ${expect.cluster}`;
}

function runWorker(): void {
  const fleet = new Fleet();
  const send = (m: FromWorker) => process.send?.(m);
  process.on('disconnect', () => process.exit(0));
  process.on('message', (raw) => {
    const cmd = raw as ToWorker;
    const handle = async (): Promise<void> => {
      switch (cmd.type) {
        case 'connect':
          await fleet.connect(cmd);
          send(fleet.connectReport());
          return;
        case 'arm':
          fleet.arm(cmd.expect);
          send({ type: 'armed' });
          return;
        case 'collect':
          send(await fleet.collect(cmd.timeoutMs));
          return;
        case 'close':
          fleet.close();
          setTimeout(() => process.exit(0), 50);
          return;
      }
    };
    handle().catch((err: unknown) => send({ type: 'error', message: String(err) }));
  });
  send({ type: 'ready' });
}

// ---------------------------------------------------------------------------------------
// Orchestrator: process handles, /proc sampling, /metrics scraping.

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll(): void {
  for (const child of children) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** A child that answers requests over IPC, one at a time. */
class Peer<In, Out extends { type: string }> {
  private readonly inbox: Out[] = [];
  private waiter: ((m: Out) => void) | undefined;
  private exited: string | undefined;
  private readonly stderr: string[] = [];

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (raw) => {
      const m = raw as unknown as Out;
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(m);
      } else this.inbox.push(m);
    });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        if (!line.trim()) continue;
        this.stderr.push(line);
        if (this.stderr.length > 20) this.stderr.shift();
        process.stderr.write(`  [${name}] ${line}\n`);
      }
    });
    proc.stdout?.setEncoding('utf8');
    proc.stdout?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n'))
        if (line.trim()) process.stdout.write(`  [${name}] ${line}\n`);
    });
    proc.once('exit', (code, signal) => {
      this.exited = `${name} exited (${signal ?? `code ${code}`})${this.stderr.length ? `: ${this.stderr.join('\n')}` : ''}`;
      this.waiter?.({ type: 'error', message: this.exited } as unknown as Out);
    });
  }

  get pid(): number {
    return this.proc.pid ?? 0;
  }

  send(m: In): void {
    this.proc.send?.(m as object);
  }

  /** The next message, which must be of type `type`. */
  async next<T extends Out['type']>(type: T, ms: number): Promise<Extract<Out, { type: T }>> {
    const m = await within(this.receive(), ms, `${this.name}: waiting for "${type}"`);
    if (m.type === 'error') throw new Error(`${this.name}: ${(m as { message?: string }).message}`);
    if (m.type !== type) throw new Error(`${this.name}: expected "${type}", got "${m.type}"`);
    return m as Extract<Out, { type: T }>;
  }

  private receive(): Promise<Out> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    if (this.exited)
      return Promise.resolve({ type: 'error', message: this.exited } as unknown as Out);
    return new Promise((r) => {
      this.waiter = r;
    });
  }

  /** Waits `graceMs` for the child to exit by itself, then SIGTERM, then SIGKILL. */
  async stop(graceMs = 0): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    if (
      graceMs > 0 &&
      (await within(exited, graceMs, 'exit').then(
        () => true,
        () => false,
      ))
    )
      return;
    this.proc.kill('SIGTERM');
    try {
      await within(exited, 5000, `${this.name} to exit`);
    } catch {
      this.proc.kill('SIGKILL');
      await within(exited, 2000, `${this.name} to die`).catch(() => undefined);
    }
  }
}

type Worker = Peer<ToWorker, FromWorker>;

/** The control plane child: forked from this file, or the real CLI. */
interface ControlPlaneProcess {
  readonly peer: Peer<never, FromServer | { type: 'error'; message: string }>;
  readonly xdsPort: number;
  readonly httpPort: number;
  /** Publishes reported by a forked control plane (none with --cp cli). */
  readonly publishes: Array<Extract<FromServer, { type: 'published' }>>;
}

const HERE = dirname(fileURLToPath(import.meta.url));

async function startControlPlane(
  mode: 'fork' | 'cli',
  configPath: string,
  debounceMs: number,
  cpuProfileDir: string | undefined,
): Promise<ControlPlaneProcess> {
  const execArgv = cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProfileDir)] : [];
  if (mode === 'fork') {
    const proc = track(
      fork(process.argv[1], ['--server', configPath, String(debounceMs)], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        execArgv: [...process.execArgv, ...execArgv],
      }),
    );
    const peer = new Peer<never, FromServer | { type: 'error'; message: string }>(
      'control plane',
      proc,
    );
    const publishes: Array<Extract<FromServer, { type: 'published' }>> = [];
    const first = await peer.next('listening', 30_000);
    proc.on('message', (raw) => {
      const m = raw as unknown as FromServer;
      if (m.type === 'published') publishes.push(m);
    });
    // The Peer queues every message too; nothing else is awaited from this peer.
    return { peer, xdsPort: first.xdsPort, httpPort: first.httpPort, publishes };
  }
  const cli = resolve(HERE, '../src/cli/main.js');
  const args = [
    cli,
    'control-plane',
    '--config',
    configPath,
    '--xds-port',
    '0',
    '--http-port',
    '0',
  ];
  args.push('--log-level', 'warn', '--debounce', String(debounceMs));
  const proc = track(
    spawn(process.execPath, [...execArgv, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }),
  );
  const listening = new Promise<{ xds: number; http: number }>((resolveListening, reject) => {
    let buffered = '';
    proc.stdout?.on('data', (chunk: Buffer | string) => {
      buffered += String(chunk);
      const m = /xDS on [^\s,]+:(\d+), HTTP on http:\/\/[^/]+:(\d+)\//.exec(buffered);
      if (m) resolveListening({ xds: Number(m[1]), http: Number(m[2]) });
    });
    proc.once('exit', (code) => reject(new Error(`ferry control-plane exited with code ${code}`)));
  });
  const peer: ControlPlaneProcess['peer'] = new Peer('control plane', proc);
  const ports = await within(listening, 30_000, 'ferry control-plane to listen');
  return { peer, xdsPort: ports.xds, httpPort: ports.http, publishes: [] };
}

async function startWorker(n: number): Promise<Worker> {
  const proc = track(
    fork(process.argv[1], ['--clients-worker'], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] }),
  );
  const worker = new Peer<ToWorker, FromWorker>(`clients ${n}`, proc);
  await worker.next('ready', 30_000);
  return worker;
}

/** CPU time of a process (all threads) in ms: schedstat (ns) where the kernel has it, else stat (ticks). */
function cpuMs(pid: number): number {
  let ns = 0;
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited meanwhile
      }
    }
  } catch {
    ns = 0;
  }
  if (ns > 0 && Number.isFinite(ns)) return ns / 1e6;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3. USER_HZ is 100.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Memory {
  readonly rssMb: number;
  readonly hwmMb: number;
}

function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
}

function httpGet(url: string, timeoutMs: number): Promise<string> {
  return new Promise((resolveGet, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => {
        if (res.statusCode === 200) resolveGet(body);
        else reject(new Error(`${url}: HTTP ${res.statusCode}`));
      });
    });
    req.setTimeout(timeoutMs, () =>
      req.destroy(new Error(`${url}: no answer within ${timeoutMs} ms`)),
    );
    req.on('error', reject);
  });
}

type Metrics = Map<string, number>;

async function scrape(httpPort: number): Promise<Metrics> {
  const text = await httpGet(`http://127.0.0.1:${httpPort}/metrics`, 10_000);
  const out: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

function delta(before: Metrics, after: Metrics, series: string): number {
  return (after.get(series) ?? 0) - (before.get(series) ?? 0);
}

const CONVERGENCE = 'ferry_xds_push_convergence_seconds';

interface Histogram {
  /** [upper bound in seconds, cumulative count], ascending, ending with +Inf. */
  readonly buckets: Array<[number, number]>;
  readonly count: number;
  readonly sum: number;
}

function histogramDelta(before: Metrics, after: Metrics, name: string): Histogram {
  const buckets: Array<[number, number]> = [];
  for (const [series, value] of after) {
    const m = new RegExp(`^${name}_bucket\\{(?:.*,)?le="([^"]+)"`).exec(series);
    if (!m) continue;
    const le = m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]);
    buckets.push([le, value - (before.get(series) ?? 0)]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const sumKey = [...after.keys()].find((k) => k.startsWith(`${name}_sum`)) ?? `${name}_sum`;
  const countKey = [...after.keys()].find((k) => k.startsWith(`${name}_count`)) ?? `${name}_count`;
  return { buckets, count: delta(before, after, countKey), sum: delta(before, after, sumKey) };
}

/** A quantile from histogram buckets, as Prometheus' histogram_quantile: interpolated, ms. */
function histogramQuantile(
  h: Histogram,
  q: number,
): { estimateMs: number; bucketMs: number } | undefined {
  const total = h.buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [le, cumulative] of h.buckets) {
    if (cumulative >= rank) {
      if (!Number.isFinite(le))
        return { estimateMs: lower * 1000, bucketMs: Number.POSITIVE_INFINITY };
      const inBucket = cumulative - below;
      const estimate = lower + (le - lower) * (inBucket > 0 ? (rank - below) / inBucket : 1);
      return { estimateMs: estimate * 1000, bucketMs: le * 1000 };
    }
    lower = le;
    below = cumulative;
  }
  return undefined;
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

// ---------------------------------------------------------------------------------------
// One scale point.

interface Options {
  readonly clients: number[];
  readonly rounds: number;
  readonly workers: number;
  readonly streamsPerConnection: number;
  readonly services: number;
  readonly endpoints: number;
  readonly cp: 'fork' | 'cli';
  readonly debounceMs: number;
  readonly settleMs: number;
  readonly cpuProfileDir: string | undefined;
}

interface Round {
  readonly round: number;
  readonly converged: number;
  readonly missing: number;
  /** Rename done -> client wrote its ACK, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Rename -> first client received the new EDS response. */
  readonly firstResponse: number;
  /** Rename -> generation published (file watch + debounce), fork mode only. */
  readonly renameToPublish: number | undefined;
  /** Publish -> the push loop had handed every stream its response. */
  readonly pushLoop: number | undefined;
  /** Publish -> client ACK (client clocks): mean, p50, p99. */
  readonly fromPublishMean: number | undefined;
  readonly fromPublishP50: number | undefined;
  readonly fromPublishP99: number | undefined;
  readonly publishes: number | undefined;
  readonly cpHist: Histogram;
  readonly edsPushes: number;
  readonly nacks: number;
  readonly cpCpuMs: number;
  readonly clientCpuMs: number;
  /** First response received -> last ACK written: how long the clients were busy. */
  readonly clientBusyMs: number;
  readonly verified: number;
  readonly checked: number;
  readonly problems: string[];
}

interface ScaleResult {
  readonly clients: number;
  readonly connections: number;
  readonly connectMs: number;
  readonly connectFailed: number;
  readonly connectCpuMs: number;
  readonly cpConnected: { sotw: number; delta: number };
  readonly rssIdleMb: number;
  readonly rssConnectedMb: number;
  readonly rssAfterMb: number;
  readonly hwmMb: number;
  readonly workerRssMb: number;
  readonly rounds: Round[];
  readonly median: Round;
}

async function runScale(n: number, o: Options): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-'));
  const meshPath = join(dir, 'mesh.yaml');
  const clusters = clusterNames(o.services);
  writeAtomically(meshPath, meshYaml(o.services, o.endpoints));
  let cp: ControlPlaneProcess | undefined;
  const workers: Worker[] = [];
  try {
    cp = await startControlPlane(o.cp, meshPath, o.debounceMs, o.cpuProfileDir);
    const cpPid = cp.peer.pid;
    await sleep(500);
    const idle = memory(cpPid);
    const workerCount = Math.max(1, Math.min(o.workers, n));
    for (let w = 0; w < workerCount; w++) workers.push(await startWorker(w + 1));

    // Connect: every client gets CDS and EDS and ACKs both.
    const connectTimeoutMs = 30_000 + n * 20;
    const cpu0 = cpuMs(cpPid);
    const t0 = now();
    let first = 0;
    const shares = workers.map(
      (_, w) => Math.floor(n / workers.length) + (w < n % workers.length ? 1 : 0),
    );
    for (let w = 0; w < workers.length; w++) {
      const count = shares[w];
      workers[w].send({
        type: 'connect',
        address: `127.0.0.1:${cp.xdsPort}`,
        first,
        count,
        clusters,
        streamsPerConnection: o.streamsPerConnection,
        timeoutMs: connectTimeoutMs,
      });
      first += count;
    }
    const reports = await Promise.all(
      workers.map((w) => w.next('connected', connectTimeoutMs + 5000)),
    );
    const connectMs = now() - t0;
    const connectCpuMs = cpuMs(cpPid) - cpu0;
    const connectFailed = n - reports.reduce((s, r) => s + r.ready, 0);
    if (connectFailed > 0) {
      const why =
        reports.find((r) => r.firstError)?.firstError ?? 'no initial configuration in time';
      throw new Error(`${connectFailed} of ${n} clients did not connect: ${why}`);
    }
    await sleep(o.settleMs);
    const connectedMetrics = await scrape(cp.httpPort);
    const cpConnected = {
      sotw: connectedMetrics.get('ferry_xds_connected_clients{mode="sotw"}') ?? Number.NaN,
      delta: connectedMetrics.get('ferry_xds_connected_clients{mode="delta"}') ?? Number.NaN,
    };
    const connected = memory(cpPid);
    const workerRssMb = workers.reduce((s, w) => s + memory(w.pid).rssMb, 0);

    const rounds: Round[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      // The same endpoint each run, a new port each time: exactly one CLA changes.
      const change: Change = { service: 7 % o.services, port: 10_000 + r };
      const expect: Expected = {
        cluster: clusterName(HTTP_PORT, change.service),
        address: endpointAddress(change.service, 0),
        port: change.port,
      };
      const text = meshYaml(o.services, o.endpoints, change);
      const before = await scrape(cp.httpPort);
      for (const w of workers) w.send({ type: 'arm', expect });
      await Promise.all(workers.map((w) => w.next('armed', 10_000)));
      const publishedBefore = cp.publishes.length;
      const cpuBefore = cpuMs(cpPid);
      writeAtomically(meshPath, text);
      const renamed = now();
      const collectTimeoutMs = 20_000 + n * 5;
      for (const w of workers) w.send({ type: 'collect', timeoutMs: collectTimeoutMs });
      const results = await Promise.all(
        workers.map((w) => w.next('result', collectTimeoutMs + 5000)),
      );
      // Let the control plane finish reading the last ACKs before sampling it.
      await sleep(250);
      const cpCpuMs = cpuMs(cpPid) - cpuBefore;
      const after = await scrape(cp.httpPort);
      if (o.cp === 'fork' && cp.publishes.length === publishedBefore) {
        await within(
          (async () => {
            while (cp.publishes.length === publishedBefore) await sleep(20);
          })(),
          2000,
          'the control plane to report its publish',
        ).catch(() => undefined);
      }
      const publishes = o.cp === 'fork' ? cp.publishes.slice(publishedBefore) : [];
      const publish = publishes[0];

      const acks = results.flatMap((x) => x.ack).sort((a, b) => a - b);
      const recvs = results.flatMap((x) => x.recv).sort((a, b) => a - b);
      const e2e = acks.map((t) => t - renamed);
      const fromPublish = publish ? acks.map((t) => t - publish.at) : undefined;
      rounds.push({
        round: r,
        converged: acks.length,
        missing: results.reduce((s, x) => s + x.missing, 0),
        p50: percentile(e2e, 50),
        p99: percentile(e2e, 99),
        max: e2e.at(-1) ?? Number.NaN,
        firstResponse: (recvs[0] ?? Number.NaN) - renamed,
        renameToPublish: publish ? publish.at - renamed : undefined,
        pushLoop: publish ? publish.pushedAt - publish.at : undefined,
        fromPublishMean: fromPublish
          ? fromPublish.reduce((a, b) => a + b, 0) / fromPublish.length
          : undefined,
        fromPublishP50: fromPublish ? percentile(fromPublish, 50) : undefined,
        fromPublishP99: fromPublish ? percentile(fromPublish, 99) : undefined,
        publishes: o.cp === 'fork' ? publishes.length : undefined,
        cpHist: histogramDelta(before, after, CONVERGENCE),
        edsPushes: delta(before, after, 'ferry_xds_pushes_total{type="EDS"}'),
        nacks: [...after.keys()]
          .filter((k) => k.startsWith('ferry_xds_nacks_total'))
          .reduce((s, k) => s + delta(before, after, k), 0),
        cpCpuMs,
        clientCpuMs: results.reduce((s, x) => s + x.cpuMs, 0),
        clientBusyMs: (acks.at(-1) ?? Number.NaN) - (recvs[0] ?? Number.NaN),
        verified: results.reduce((s, x) => s + x.verified, 0),
        checked: results.reduce((s, x) => s + x.checked, 0),
        problems: results.flatMap((x) => x.problems),
      });
      await sleep(o.settleMs);
    }
    const ordered = [...rounds].sort((a, b) => a.p99 - b.p99);
    const after = memory(cpPid);
    return {
      clients: n,
      connections: shares.reduce((s, c) => s + Math.ceil(c / o.streamsPerConnection), 0),
      connectMs,
      connectFailed,
      connectCpuMs,
      cpConnected,
      rssIdleMb: idle.rssMb,
      rssConnectedMb: connected.rssMb,
      rssAfterMb: after.rssMb,
      hwmMb: after.hwmMb,
      workerRssMb,
      rounds,
      median: ordered[Math.floor((ordered.length - 1) / 2)],
    };
  } finally {
    for (const w of workers) w.send({ type: 'close' });
    await Promise.all(workers.map((w) => w.stop(3000)));
    await cp?.peer.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------
// Output.

function ms(v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  return v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

function mb(v: number): string {
  return v.toFixed(0);
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function cpQuantile(h: Histogram, q: number): string {
  const v = histogramQuantile(h, q);
  if (!v) return '-';
  const bound = Number.isFinite(v.bucketMs) ? `<=${v.bucketMs}` : '>10000';
  return `~${ms(v.estimateMs)} (${bound})`;
}

function report(results: ScaleResult[], o: Options): void {
  const out: string[] = [];
  out.push('');
  out.push(
    `Convergence after one endpoint change (median of ${o.rounds} runs by p99; ms from the ` +
      'end of the rename to the client writing its ACK; includes file watch + debounce)',
  );
  out.push(
    table(
      [
        'clients',
        'p50',
        'p99',
        'max',
        'first resp',
        'rename->publish',
        'push loop',
        'publish->ACK mean',
        'p50',
        'p99',
        'all p99s',
      ],
      results.map((r) => [
        String(r.clients),
        ms(r.median.p50),
        ms(r.median.p99),
        ms(r.median.max),
        ms(r.median.firstResponse),
        ms(r.median.renameToPublish),
        ms(r.median.pushLoop),
        ms(r.median.fromPublishMean),
        ms(r.median.fromPublishP50),
        ms(r.median.fromPublishP99),
        r.rounds.map((x) => ms(x.p99)).join('/'),
      ]),
    ),
  );
  out.push('');
  out.push(
    "The control plane's own view (ferry_xds_push_convergence_seconds, publish -> ACK received):",
  );
  out.push(
    table(
      ['clients', 'ACKs', 'mean', 'p50', 'p99', 'EDS pushes', 'NACKs', 'publishes', 'checked'],
      results.map((r) => {
        const h = r.median.cpHist;
        return [
          String(r.clients),
          String(h.count),
          h.count ? ms((h.sum / h.count) * 1000) : '-',
          cpQuantile(h, 0.5),
          cpQuantile(h, 0.99),
          String(r.median.edsPushes),
          String(r.median.nacks),
          r.median.publishes === undefined ? '-' : String(r.median.publishes),
          `${r.median.verified}/${r.median.checked}`,
        ];
      }),
    ),
  );
  out.push('');
  out.push(
    'Resources (CPU: all threads, from /proc/PID/task/*/schedstat; RSS from /proc/PID/status)',
  );
  out.push(
    table(
      [
        'clients',
        'conns',
        'connect ms',
        'CP cpu connect',
        'CP cpu push',
        'us/client',
        'client cpu push',
        'client busy',
        'CP RSS idle',
        'connected',
        'peak',
        'client RSS',
      ],
      results.map((r) => [
        String(r.clients),
        String(r.connections),
        ms(r.connectMs),
        ms(r.connectCpuMs),
        ms(r.median.cpCpuMs),
        ((r.median.cpCpuMs * 1000) / r.clients).toFixed(0),
        ms(r.median.clientCpuMs),
        ms(r.median.clientBusyMs),
        `${mb(r.rssIdleMb)} MB`,
        `${mb(r.rssConnectedMb)} MB`,
        `${mb(r.hwmMb)} MB`,
        `${mb(r.workerRssMb)} MB`,
      ]),
    ),
  );
  for (const r of results) {
    const problems = r.rounds.flatMap((x) => x.problems);
    const missing = r.rounds.reduce((s, x) => s + x.missing, 0);
    if (missing) out.push(`! ${r.clients} clients: ${missing} client updates missing (timed out)`);
    for (const p of problems.slice(0, 5)) out.push(`! ${r.clients} clients: ${p}`);
    if (r.cpConnected.sotw + r.cpConnected.delta !== r.clients) {
      out.push(
        `! ${r.clients} clients: the control plane counts ${r.cpConnected.sotw} SotW + ` +
          `${r.cpConnected.delta} delta streams`,
      );
    }
  }
  const target = results.find((r) => r.clients === 1000);
  out.push('');
  if (target) {
    const pass = target.median.p99 < 300 && target.median.missing === 0;
    out.push(
      `Target (1,000 clients converge in < 300 ms at p99, debounce included): ` +
        `${pass ? 'PASS' : 'MISS'} (p99 ${ms(target.median.p99)} ms)`,
    );
  } else out.push('Target (1,000 clients, p99 < 300 ms): not measured (add 1000 to --clients)');
  out.push('');
  process.stdout.write(`${out.join('\n')}\n`);
}

// ---------------------------------------------------------------------------------------
// Entry.

const HELP = `Usage: node dist/bench/controlplane.js [options]

  --clients LIST              client counts to measure          (default 100,1000,5000)
  --rounds N                  endpoint changes per count         (default 3)
  --workers N                 client processes                   (default 1)
  --streams-per-connection N  ADS streams per TCP connection     (default 100)
  --services N                services in the mesh (2 ports each) (default 20)
  --endpoints N               endpoints per service              (default 4)
  --cp fork|cli               fork this file as the control plane, or run 'ferry control-plane'
                                                                 (default fork)
  --debounce MS               the control plane's push debounce  (default 100, its default)
  --cpu-prof DIR              write a V8 CPU profile of each control plane run into DIR
`;

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number`);
  return n;
}

function options(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string' },
      rounds: { type: 'string' },
      workers: { type: 'string' },
      'streams-per-connection': { type: 'string' },
      services: { type: 'string' },
      endpoints: { type: 'string' },
      cp: { type: 'string' },
      debounce: { type: 'string' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return undefined;
  }
  const clients = (values.clients ?? '100,1000,5000')
    .split(',')
    .map((c) => positive('clients', c.trim(), 0));
  const cp = values.cp ?? 'fork';
  if (cp !== 'fork' && cp !== 'cli') throw new Error('--cp must be fork or cli');
  const services = positive('services', values.services, 20);
  if (services > 65_000) throw new Error('--services must be at most 65000');
  return {
    clients,
    rounds: positive('rounds', values.rounds, 3),
    workers: positive('workers', values.workers, 1),
    streamsPerConnection: positive('streams-per-connection', values['streams-per-connection'], 100),
    services,
    endpoints: positive('endpoints', values.endpoints, 4),
    cp,
    debounceMs: values.debounce === undefined ? 100 : positive('debounce', values.debounce, 100),
    settleMs: 500,
    cpuProfileDir: values['cpu-prof'],
  };
}

async function orchestrate(argv: string[]): Promise<void> {
  const o = options(argv);
  if (!o) return;
  // Whatever happens, the children go with us.
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      killAll();
      process.exit(130);
    });
  }
  const deadline = setTimeout(
    () => {
      process.stderr.write('bench: overall time limit reached; stopping\n');
      killAll();
      process.exit(1);
    },
    (5 + o.clients.reduce((s, n) => s + n, 0) / 250) * 60_000,
  );
  deadline.unref();
  process.stdout.write(
    `Ferry control plane scale benchmark: ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}), ` +
      `${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n` +
      `Mesh: ${o.services} services x 2 ports x ${o.endpoints} endpoints ` +
      `(${2 * o.services} clusters). Clients: half SotW, half delta; each on CDS (wildcard) and ` +
      `EDS (all ${2 * o.services} clusters), ${o.streamsPerConnection} streams per TCP ` +
      `connection, in ${o.workers} client process(es). Control plane: ${o.cp === 'fork' ? 'forked ControlPlane.start' : 'ferry control-plane'}, ` +
      `debounce ${o.debounceMs} ms.\n`,
  );
  const results: ScaleResult[] = [];
  for (const n of o.clients) {
    process.stdout.write(`\n${n} clients ...\n`);
    const r = await runScale(n, o);
    for (const x of r.rounds) {
      process.stdout.write(
        `  run ${x.round}: p50 ${ms(x.p50)}  p99 ${ms(x.p99)}  max ${ms(x.max)} ms` +
          (x.renameToPublish === undefined ? '' : `  (rename->publish ${ms(x.renameToPublish)})`) +
          `  CP cpu ${ms(x.cpCpuMs)} ms  client cpu ${ms(x.clientCpuMs)} ms in ${ms(x.clientBusyMs)} ms` +
          (x.missing ? `  ${x.missing} missing` : '') +
          '\n',
      );
    }
    process.stdout.write(
      `  connected in ${ms(r.connectMs)} ms; CP RSS ${mb(r.rssConnectedMb)} MB, peak ${mb(r.hwmMb)} MB\n`,
    );
    results.push(r);
  }
  report(results, o);
}

const argv = process.argv.slice(2);
if (argv[0] === '--server') {
  runServer(argv[1], Number(argv[2] ?? 100)).catch((err: unknown) => {
    process.stderr.write(`control plane failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
} else if (argv[0] === '--clients-worker') {
  runWorker();
} else {
  orchestrate(argv).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`bench: ${(err as Error).message ?? String(err)}\n`);
      killAll();
      process.exit(1);
    },
  );
}
