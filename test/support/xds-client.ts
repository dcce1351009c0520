/**
 * A small scripted xDS client for tests: opens a real ADS stream, queues decoded
 * responses, and lets a test send requests and await the next response.
 */
import type * as grpc from '@grpc/grpc-js';
import {
  type AdsClient,
  createAdsClient,
  type DeltaDiscoveryResponse,
  type DiscoveryResponse,
  decodeResource,
} from '../../src/xds/index.js';

export class StreamProbe<Res> {
  private readonly queue: Res[] = [];
  private waiter: ((r: Res) => void) | undefined;
  error: (grpc.ServiceError & Error) | undefined;
  private errorWaiter: ((e: grpc.ServiceError) => void) | undefined;

  constructor(readonly call: grpc.ClientDuplexStream<object, object>) {
    call.on('data', (res: Res) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(res);
      } else this.queue.push(res);
    });
    call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.errorWaiter?.(err);
    });
  }

  send(req: object): void {
    this.call.write(req);
  }

  /** The next response, or a rejection after `ms`. */
  next(ms = 3000): Promise<Res> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no xDS response within ${ms} ms`));
      }, ms);
      this.waiter = (r) => {
        clearTimeout(t);
        resolve(r);
      };
    });
  }

  /** The last response before the stream goes quiet for `quietMs`. */
  async latest(quietMs = 300): Promise<Res> {
    let last = await this.next();
    for (;;) {
      try {
        last = await this.next(quietMs);
      } catch {
        return last;
      }
    }
  }

  /** Resolves true if no response arrives within `ms`. */
  async silentFor(ms: number): Promise<boolean> {
    if (this.queue.length) return false;
    try {
      await this.next(ms);
      return false;
    } catch {
      return true;
    }
  }

  /** The error status the server ended the stream with. */
  failure(ms = 3000): Promise<grpc.ServiceError> {
    if (this.error) return Promise.resolve(this.error);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('stream did not fail')), ms);
      this.errorWaiter = (e) => {
        clearTimeout(t);
        resolve(e);
      };
    });
  }

  close(): void {
    this.call.cancel();
  }
}

export function adsClient(port: number): AdsClient {
  return createAdsClient(`127.0.0.1:${port}`);
}

export function openSotw(client: AdsClient): StreamProbe<DiscoveryResponse> {
  const call = client.StreamAggregatedResources();
  return new StreamProbe<DiscoveryResponse>(call);
}

export function openDelta(client: AdsClient): StreamProbe<DeltaDiscoveryResponse> {
  const call = client.DeltaAggregatedResources();
  return new StreamProbe<DeltaDiscoveryResponse>(call);
}

/** Decodes a SotW response's resources into plain objects. */
export function sotwResources<T = Record<string, unknown>>(res: DiscoveryResponse): T[] {
  return (res.resources ?? []).map((a) =>
    decodeResource<T>(a.type_url ?? '', a.value ?? new Uint8Array()),
  );
}

/** Decodes a delta response's resources into { name, version, value }. */
export function deltaResources<T = Record<string, unknown>>(
  res: DeltaDiscoveryResponse,
): Array<{ name: string; version: string; value: T }> {
  return (res.resources ?? []).map((r) => ({
    name: r.name ?? '',
    version: r.version ?? '',
    value: decodeResource<T>(r.resource?.type_url ?? '', r.resource?.value ?? new Uint8Array()),
  }));
}

export interface ClaLike {
  cluster_name: string;
  endpoints?: Array<{
    lb_endpoints?: Array<{
      endpoint?: { address?: { socket_address?: { address?: string; port_value?: number } } };
    }>;
  }>;
}

/** `address:port` of every endpoint in a ClusterLoadAssignment. */
export function claAddresses(cla: ClaLike): string[] {
  const out: string[] = [];
  for (const loc of cla.endpoints ?? []) {
    for (const lb of loc.lb_endpoints ?? []) {
      const sa = lb.endpoint?.address?.socket_address;
      out.push(`${sa?.address}:${sa?.port_value}`);
    }
  }
  return out.sort();
}
