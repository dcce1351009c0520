/**
 * The primary of a proxy running on N cores: it forks N workers (node:cluster) that share
 * the listening sockets, feeds them the configuration its one xDS stream accepted and the
 * workload certificate its one identity client holds, asks them for their metrics (summed
 * into one exposition) and clusters (one view), and drains them all on stop. Listening sockets are shared by the
 * cluster module: by default the primary accepts and hands connections out round robin
 * (SCHED_RR, what balances across workers; NODE_CLUSTER_SCHED_POLICY=none lets the kernel
 * wake whichever worker, which measured less even: see the gateway bench).
 * https://nodejs.org/api/cluster.html#how-it-works
 */
import cluster, { type Worker } from 'node:cluster';
import type { Logger } from '../../log/index.js';
import type { ConfirmRequest, ProxyConfig } from '../../xds-client/index.js';
import type { ClusterView } from '../admin/index.js';
import type { CertificateSource } from '../tls/index.js';
import { toWire } from './config-codec.js';
import { sumClusters } from './sum-clusters.js';
import { sumPrometheusText } from './sum-metrics.js';
import { type FromWorker, isFerryMessage, type ToWorker } from './worker-messages.js';

/** Set in a worker's environment: the worker takes its configuration from the primary. */
export const WORKER_ENV = 'FERRY_WORKER';

export interface WorkerPoolOptions {
  readonly workers: number;
  readonly log: Logger;
  readonly certificates?: CertificateSource;
  /** How long the primary's ACK waits for every worker to apply a configuration (default 10 s). */
  readonly applyTimeoutMs?: number;
  /** A worker that died is replaced (default true); not while stopping. */
  readonly restart?: boolean;
}

interface WorkerState {
  readonly worker: Worker;
  /** It said hello: it listens for messages (what is sent before is lost). */
  listening: boolean;
  /** The configuration version it applied last (0: none yet). */
  applied: number;
  lastError: string | undefined;
  /** The last configuration it refused, and why. */
  refused: { readonly version: number; readonly error: string } | undefined;
}

/** How long the primary waits for a worker's metrics or clusters before going without. */
const ASK_TIMEOUT_MS = 2000;

/** Admin stats that are one value for the whole proxy (the highest worker's), not a count. */
const SHARED_STATS: ReadonlySet<string> = new Set(['config_version']);

type Answer = FromWorker & { type: 'ferry:metrics' | 'ferry:clusters' | 'ferry:checked' };

export class WorkerPool {
  private readonly states = new Map<number, WorkerState>();
  private config: ProxyConfig | undefined;
  private stopping = false;
  private askId = 0;
  /** Replies awaited from workers (metrics, clusters), by request id. */
  private readonly answers = new Map<number, (m: Answer) => void>();
  private readonly appliedWatchers = new Set<() => void>();
  private stopCertificates: (() => void) | undefined;
  private ports: Readonly<Record<string, number>> | undefined;
  private readonly portWatchers = new Set<(ports: Readonly<Record<string, number>>) => void>();

  constructor(private readonly options: WorkerPoolOptions) {}

  start(): void {
    for (let i = 0; i < this.options.workers; i++) this.fork();
    const certs = this.options.certificates;
    if (certs) this.stopCertificates = certs.onChange(() => this.sendCertificate());
  }

  get size(): number {
    return this.states.size;
  }

  /** Every worker's last applied configuration version, by worker id. */
  applied(): Array<{ id: number; pid: number | undefined; applied: number; lastError?: string }> {
    return [...this.states.values()].map((s) => ({
      id: s.worker.id,
      pid: s.worker.process.pid,
      applied: s.applied,
      ...(s.lastError ? { lastError: s.lastError } : {}),
    }));
  }

  /** Whether every worker runs the configuration of this version (or a later one). */
  allApplied(version: number): boolean {
    if (this.states.size === 0) return false;
    for (const s of this.states.values()) if (s.applied < version) return false;
    return true;
  }

  /** Why a worker refused `version` (or a later one), if one did. */
  private refusalOf(version: number): string | undefined {
    for (const s of this.states.values())
      if (s.refused && s.refused.version >= version)
        return `worker ${s.worker.process.pid}: ${s.refused.error}`;
    return undefined;
  }

  /**
   * Resolves once every worker applied `version`; rejects as soon as one refuses it (with
   * its reason), or after `timeoutMs`.
   */
  whenApplied(version: number, timeoutMs: number): Promise<void> {
    const refusal = this.refusalOf(version);
    if (refusal !== undefined) return Promise.reject(new Error(refusal));
    if (this.allApplied(version)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.appliedWatchers.delete(check);
      };
      const check = () => {
        const refused = this.refusalOf(version);
        if (refused !== undefined) {
          done();
          reject(new Error(refused));
        } else if (this.allApplied(version)) {
          done();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        this.appliedWatchers.delete(check);
        reject(
          new Error(`not every worker applied configuration ${version} within ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.appliedWatchers.add(check);
    });
  }

  /**
   * The xDS client's `confirm`, so that the primary ACKs and NACKs exactly the responses a
   * single process would, for the same reasons: a response that completed a configuration
   * (sent to the workers by the client's watcher, before this) is ACKed once every worker
   * applied it; one that completed none yet (a cluster whose endpoints are still to come) is
   * ACKed once every worker compiled the resources it changed, which a single process does
   * on arrival too. Either is NACKed with the reason of a worker that refused it.
   */
  readonly confirm = (request: ConfirmRequest): Promise<string | undefined> => {
    const timeoutMs = this.options.applyTimeoutMs ?? 10_000;
    if (request.config === undefined) return this.check(request, timeoutMs);
    return this.whenApplied(request.config.version, timeoutMs).then(
      () => undefined,
      (err: Error) => err.message,
    );
  };

  /**
   * Has every worker compile a response's changed resources (kept for the configuration
   * that will hold them); resolves with the first refusal (`worker <pid>: ...`), if any.
   */
  private async check(request: ConfirmRequest, timeoutMs: number): Promise<string | undefined> {
    const entries = request.changed.map((e) => ({
      name: e.name,
      version: e.version,
      value: e.value,
    }));
    // A worker still starting compiles everything with the configuration it is sent first.
    const states = [...this.states.values()].filter((s) => s.listening);
    const replies = await Promise.all(
      states.map((s) =>
        this.ask<FromWorker & { type: 'ferry:checked' }>(
          s.worker,
          (id) => ({ type: 'ferry:check', id, typeUrl: request.typeUrl, entries }),
          timeoutMs,
        ),
      ),
    );
    for (const [i, r] of replies.entries()) {
      const pid = states[i].worker.process.pid;
      if (r === undefined && !states[i].worker.isDead())
        return `worker ${pid} did not compile the response within ${timeoutMs} ms`;
      if (r?.error !== undefined) return `worker ${pid}: ${r.error}`;
    }
    return undefined;
  }

  /** Resolves with the ports the first worker to listen reported (all workers share them). */
  listening(): Promise<Readonly<Record<string, number>>> {
    if (this.ports) return Promise.resolve(this.ports);
    return new Promise((resolve) => this.portWatchers.add(resolve));
  }

  /** Sends a configuration to every worker (and to any worker forked later). */
  configure(config: ProxyConfig): void {
    this.config = config;
    const message: ToWorker = { type: 'ferry:config', config: toWire(config) };
    for (const s of this.states.values()) this.send(s.worker, message);
  }

  /**
   * Every worker's metrics summed, with the primary's `own` exposition lines among them; their
   * admin stats summed too.
   */
  async metrics(own: readonly string[] = []): Promise<{
    text: string;
    stats: Record<string, number | string>;
    /** Each worker's own stats (which worker served what). */
    perWorker: Array<{
      id: number;
      pid: number | undefined;
      stats: Record<string, number | string>;
    }>;
  }> {
    const states = [...this.states.values()];
    const replies = await Promise.all(
      states.map((s) =>
        this.ask<FromWorker & { type: 'ferry:metrics' }>(s.worker, (id) => ({
          type: 'ferry:metrics',
          id,
        })),
      ),
    );
    const perWorker = states.flatMap((s, i) => {
      const r = replies[i];
      return r ? [{ id: s.worker.id, pid: s.worker.process.pid, stats: { ...r.stats } }] : [];
    });
    const got = replies.filter((r) => r !== undefined);
    const stats: Record<string, number | string> = {};
    for (const r of got)
      for (const [k, v] of Object.entries(r.stats)) {
        const before = stats[k];
        if (typeof v !== 'number' || typeof before === 'string') stats[k] = v;
        else if (before === undefined) stats[k] = v;
        else stats[k] = SHARED_STATS.has(k) ? Math.max(before, v) : before + v;
      }
    stats.workers = this.states.size;
    return { text: sumPrometheusText([...got.map((r) => r.text), ...own]), stats, perWorker };
  }

  /** Every worker's clusters as one view (see sum-clusters.ts for how fields combine). */
  async clusters(): Promise<ClusterView[]> {
    const replies = await Promise.all(
      [...this.states.values()].map((s) =>
        this.ask<FromWorker & { type: 'ferry:clusters' }>(s.worker, (id) => ({
          type: 'ferry:clusters',
          id,
        })),
      ),
    );
    return sumClusters(replies.flatMap((r) => (r ? [r.clusters] : [])));
  }

  /** Tells every worker to stop accepting and finish; resolves when all have exited. */
  async stop(drainMs: number): Promise<void> {
    this.stopping = true;
    this.stopCertificates?.();
    const exits = [...this.states.values()].map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.worker.isDead()) return resolve();
          s.worker.once('exit', () => resolve());
          this.send(s.worker, { type: 'ferry:drain', drainMs });
        }),
    );
    // A worker that does not exit after its drain (a bug) is killed.
    const deadline = setTimeout(() => {
      for (const s of this.states.values()) if (!s.worker.isDead()) s.worker.kill('SIGKILL');
    }, drainMs + 5000);
    await Promise.all(exits);
    clearTimeout(deadline);
  }

  private fork(): void {
    const worker = cluster.fork({ [WORKER_ENV]: '1' });
    const state: WorkerState = {
      worker,
      listening: false,
      applied: 0,
      lastError: undefined,
      refused: undefined,
    };
    this.states.set(worker.id, state);
    worker.on('message', (m: unknown) => {
      if (!isFerryMessage(m)) return;
      const msg = m as FromWorker;
      if (msg.type === 'ferry:hello') {
        state.listening = true;
        // What a worker needs before it can serve: the certificate, then the configuration.
        this.sendCertificate(worker);
        if (this.config) this.send(worker, { type: 'ferry:config', config: toWire(this.config) });
      } else if (msg.type === 'ferry:applied') {
        state.applied = Math.max(state.applied, msg.version);
        state.lastError = msg.error;
        for (const w of [...this.appliedWatchers]) w();
      } else if (msg.type === 'ferry:refused') {
        state.refused = { version: msg.version, error: msg.error };
        state.lastError = msg.error;
        for (const w of [...this.appliedWatchers]) w();
      } else if (msg.type === 'ferry:listening') {
        this.ports ??= msg.ports;
        for (const w of [...this.portWatchers]) w(this.ports);
        this.portWatchers.clear();
      } else if (
        msg.type === 'ferry:metrics' ||
        msg.type === 'ferry:clusters' ||
        msg.type === 'ferry:checked'
      ) {
        this.answers.get(msg.id)?.(msg);
      }
    });
    worker.once('exit', (code, signal) => {
      this.states.delete(worker.id);
      if (this.stopping) return;
      this.options.log.error({ worker: worker.id, code, signal }, 'worker died; starting another');
      if (this.options.restart !== false) this.fork();
    });
  }

  private sendCertificate(only?: Worker): void {
    const current = this.options.certificates?.current();
    if (!current) return;
    // Plain fields: IPC serializes messages as JSON, and an identity's certificate redacts
    // its key in JSON (IssuedCertificate.toJSON), which the worker could not load.
    const { key, chain, roots } = current;
    const message: ToWorker = { type: 'ferry:certificate', certificate: { key, chain, roots } };
    if (only) this.send(only, message);
    else for (const s of this.states.values()) this.send(s.worker, message);
  }

  private send(worker: Worker, message: ToWorker): void {
    if (!worker.isConnected()) return;
    worker.send(message, (err: Error | null) => {
      if (err) this.options.log.warn({ worker: worker.id, err: err.message }, 'IPC send failed');
    });
  }

  /**
   * Asks a worker (its metrics, its clusters, to compile resources); undefined when it does
   * not answer in time or dies first.
   */
  private ask<T extends Answer>(
    worker: Worker,
    message: (id: number) => ToWorker,
    timeoutMs = ASK_TIMEOUT_MS,
  ): Promise<T | undefined> {
    const id = ++this.askId;
    return new Promise((resolve) => {
      const gone = () => {
        clearTimeout(timer);
        worker.off('exit', gone);
        this.answers.delete(id);
        resolve(undefined);
      };
      const timer = setTimeout(gone, timeoutMs);
      worker.once('exit', gone);
      this.answers.set(id, (m) => {
        clearTimeout(timer);
        worker.off('exit', gone);
        this.answers.delete(id);
        resolve(m as T);
      });
      this.send(worker, message(id));
    });
  }
}
