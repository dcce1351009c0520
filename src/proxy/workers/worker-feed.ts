/**
 * A worker's side of the pool: the configuration and certificate come from the primary over
 * IPC instead of an xDS stream and an identity client of its own, so N workers make one xDS
 * connection and one certificate request.
 */
import process from 'node:process';
import type { CompileHook, ProxyConfig } from '../../xds-client/index.js';
import type { ClusterView } from '../admin/index.js';
import type { CertificateSource, WorkloadCertificate } from '../tls/index.js';
import { ConfigDecoder } from './config-codec.js';
import { type FromWorker, isFerryMessage, type ToWorker } from './worker-messages.js';

/** Where a proxy's configuration comes from: its own xDS client, or the primary. */
export interface ConfigFeed {
  onConfig(fn: (config: ProxyConfig) => void): unknown;
  start(): void;
  close(): void;
}

export interface WorkerHooks {
  /** The worker's metrics text and admin stats, for the primary's sum. */
  metrics(): { text: string; stats: Record<string, number | string> };
  /** The worker's clusters, for the primary's /clusters. */
  clusters(): ClusterView[];
  /** Stop accepting, finish what is in flight, then resolve (the worker exits). */
  drain(drainMs: number): Promise<void>;
}

export class WorkerFeed implements ConfigFeed, CertificateSource {
  private readonly decoder: ConfigDecoder;
  private readonly configWatchers = new Set<(config: ProxyConfig) => void>();
  private readonly certWatchers = new Set<() => void>();
  private certificate: WorkloadCertificate | undefined;
  private pending: ProxyConfig | undefined;
  private hooks: WorkerHooks | undefined;
  private started = false;
  private readonly onMessage = (m: unknown) => this.receive(m);

  /** `compile`: the proxy's compile hook, the one its primary's xDS client runs. */
  constructor(compile: CompileHook) {
    this.decoder = new ConfigDecoder(compile);
    process.on('message', this.onMessage);
    // The primary is gone: nothing will configure or drain this worker any more.
    process.once('disconnect', () => process.exit(0));
    // Messages that arrive before a listener is attached are dropped: only now may the
    // primary send the certificate and configuration.
    this.send({ type: 'ferry:hello' });
  }

  /** Connects the worker's proxy: what the primary asks of it. */
  serve(hooks: WorkerHooks): void {
    this.hooks = hooks;
  }

  onConfig(fn: (config: ProxyConfig) => void): () => void {
    this.configWatchers.add(fn);
    return () => this.configWatchers.delete(fn);
  }

  start(): void {
    this.started = true;
    if (this.pending) this.emit(this.pending);
  }

  close(): void {
    process.off('message', this.onMessage);
  }

  /** Tells the primary which configuration this worker now runs. */
  applied(version: number, error?: string): void {
    this.send({ type: 'ferry:applied', version, ...(error ? { error } : {}) });
  }

  /**
   * Tells the primary the ports this worker listens on: a port asked for as 0 is chosen once
   * by the primary's cluster module and shared, so the first worker's ports are everyone's.
   */
  listening(ports: Readonly<Record<string, number>>): void {
    this.send({ type: 'ferry:listening', ports });
  }

  current(): WorkloadCertificate | undefined {
    return this.certificate;
  }

  onChange(listener: () => void): () => void {
    this.certWatchers.add(listener);
    return () => this.certWatchers.delete(listener);
  }

  /** Resolves with the first certificate (a worker with mTLS waits for it before listening). */
  firstCertificate(): Promise<void> {
    if (this.certificate) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onChange(() => {
        off();
        resolve();
      });
    });
  }

  private receive(m: unknown): void {
    if (!isFerryMessage(m)) return;
    const msg = m as ToWorker;
    switch (msg.type) {
      case 'ferry:config': {
        const r = this.decoder.decode(msg.config);
        if (!r.ok) {
          this.send({ type: 'ferry:refused', version: msg.config.version, error: r.error });
          return;
        }
        if (this.started) this.emit(r.config);
        else this.pending = r.config;
        return;
      }
      case 'ferry:certificate':
        this.certificate = msg.certificate;
        for (const fn of [...this.certWatchers]) fn();
        return;
      case 'ferry:metrics': {
        const m = this.hooks?.metrics() ?? { text: '', stats: {} };
        this.send({ type: 'ferry:metrics', id: msg.id, text: m.text, stats: m.stats });
        return;
      }
      case 'ferry:check': {
        const error = this.decoder.check(msg.typeUrl, msg.entries);
        this.send({ type: 'ferry:checked', id: msg.id, ...(error !== undefined ? { error } : {}) });
        return;
      }
      case 'ferry:clusters':
        this.send({ type: 'ferry:clusters', id: msg.id, clusters: this.hooks?.clusters() ?? [] });
        return;
      case 'ferry:drain':
        void (this.hooks?.drain(msg.drainMs) ?? Promise.resolve()).then(() => process.exit(0));
    }
  }

  private emit(config: ProxyConfig): void {
    for (const fn of [...this.configWatchers]) fn(config);
  }

  private send(message: FromWorker): void {
    process.send?.(message);
  }
}
