/**
 * The Aggregated Discovery Service: accepts SotW and delta streams and pushes every
 * newly published snapshot generation to each of them.
 */
import type * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../xds/index.js';
import { DeltaStream } from './ads-delta.js';
import { type AdsLimits, DEFAULT_ADS_LIMITS } from './ads-limits.js';
import { SotwStream } from './ads-sotw.js';
import type { AdsStream, StreamContext, StreamStatus } from './ads-stream.js';
import type { Transport } from './registration-gate.js';
import { SotwResponseCache } from './sotw-response-cache.js';

/** Streams served per turn of the event loop during a push. */
const PUSH_SLICE = 200;

export class AdsServer {
  private readonly streams = new Set<AdsStream>();
  private readonly unsubscribe: () => void;
  private readonly ctx: StreamContext;
  /** Bumped per publish; a push loop still running for an older one stops. */
  private pushRound = 0;

  constructor(
    context: Omit<StreamContext, 'sotwCache' | 'warmUntil' | 'limits'> & {
      warmupMs?: number;
      limits?: Partial<AdsLimits>;
    },
  ) {
    const { warmupMs = 0, limits: given, ...rest } = context;
    const limits = { ...DEFAULT_ADS_LIMITS, ...given };
    this.ctx = {
      ...rest,
      limits,
      sotwCache: new SotwResponseCache(context.controlPlaneId, {
        maxEntries: limits.sotwCacheEntries,
        maxBytes: limits.sotwCacheBytes,
        metrics: context.metrics.sotwCache,
      }),
      warmUntil: warmupMs > 0 ? performance.now() + warmupMs : 0,
    };
    this.unsubscribe = this.ctx.cache.onPublish(() => this.pushAll());
  }

  /**
   * Adds the ADS service to a gRPC server; `transport` says whether that server's port is the
   * plaintext or the TLS one (which decides who may register, see registration-gate.ts).
   */
  register(server: grpc.Server, transport: Transport = 'plaintext'): void {
    server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<object, object>) =>
        this.track(new SotwStream(call, this.ctx, (s) => this.untrack(s), transport)),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<object, object>) =>
        this.track(new DeltaStream(call, this.ctx, (s) => this.untrack(s), transport)),
    });
  }

  /** Registrations refused recently (for /debug/registry). */
  refusedRegistrations(): ReturnType<StreamContext['registration']['refused']> {
    return this.ctx.registration.refused();
  }

  private track(s: AdsStream): void {
    this.streams.add(s);
    this.ctx.metrics.connected[s.mode].inc();
  }

  private untrack(s: AdsStream): void {
    if (this.streams.delete(s)) this.ctx.metrics.connected[s.mode].dec();
  }

  /**
   * Pushes a new generation to every stream, a slice at a time, so that responses go out
   * (and ACKs come in) while later streams are still being served.
   */
  private pushAll(): void {
    const round = ++this.pushRound;
    const streams = [...this.streams];
    let next = 0;
    const slice = () => {
      if (round !== this.pushRound) return;
      const end = Math.min(next + PUSH_SLICE, streams.length);
      for (; next < end; next++) {
        const s = streams[next];
        if (s.closed) continue;
        if (s.holding) {
          s.published();
          continue;
        }
        try {
          s.push();
        } catch (err) {
          this.ctx.log.error({ err, node: s.nodeId }, 'push failed');
        }
      }
      if (next < streams.length) setImmediate(slice);
    };
    slice();
  }

  /** How many streams are open now. */
  get streamCount(): number {
    return this.streams.size;
  }

  /** The shared SotW response cache (its size is bounded; see ads-limits.ts). */
  get sotwCache(): SotwResponseCache {
    return this.ctx.sotwCache;
  }

  /** Sync status of every connected stream (for /debug/syncz). */
  status(): StreamStatus[] {
    return [...this.streams].map((s) => s.status());
  }

  /** The first connected stream of a node id. */
  streamOf(nodeId: string): AdsStream | undefined {
    for (const s of this.streams) if (s.nodeId === nodeId) return s;
    return undefined;
  }

  close(): void {
    this.unsubscribe();
    for (const s of [...this.streams]) s.shutdown();
  }
}
