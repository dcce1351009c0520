/**
 * The Aggregated Discovery Service: accepts SotW and delta streams and pushes every
 * newly published snapshot generation to each of them.
 */
import type * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../xds/index.js';
import { DeltaStream } from './ads-delta.js';
import { SotwStream } from './ads-sotw.js';
import type { AdsStream, StreamContext, StreamStatus } from './ads-stream.js';

export class AdsServer {
  private readonly streams = new Set<AdsStream>();
  private readonly unsubscribe: () => void;

  constructor(private readonly ctx: StreamContext) {
    this.unsubscribe = ctx.cache.onPublish(() => this.pushAll());
  }

  /** Adds the ADS service to a gRPC server. */
  register(server: grpc.Server): void {
    server.addService(adsServiceDefinition, {
      StreamAggregatedResources: (call: grpc.ServerDuplexStream<object, object>) =>
        this.track(new SotwStream(call, this.ctx, (s) => this.untrack(s))),
      DeltaAggregatedResources: (call: grpc.ServerDuplexStream<object, object>) =>
        this.track(new DeltaStream(call, this.ctx, (s) => this.untrack(s))),
    });
  }

  private track(s: AdsStream): void {
    this.streams.add(s);
    this.ctx.metrics.connected[s.mode].inc();
  }

  private untrack(s: AdsStream): void {
    if (this.streams.delete(s)) this.ctx.metrics.connected[s.mode].dec();
  }

  private pushAll(): void {
    for (const s of this.streams) {
      try {
        s.push();
      } catch (err) {
        this.ctx.log.error({ err, node: s.nodeId }, 'push failed');
      }
    }
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
    for (const s of [...this.streams]) s.close();
  }
}
