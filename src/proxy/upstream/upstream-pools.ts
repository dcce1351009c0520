/**
 * Connection pools to upstream endpoints: one dispatcher per endpoint and protocol, kept
 * across configuration updates (so idle keep-alive connections survive a push) and closed
 * gracefully when the endpoint leaves every cluster. HTTP/1.1 goes through Ferry's own
 * raw-socket pool by default, or through undici's Pool (the `--http1 node` path, which
 * trades speed for the libraries' behaviour); HTTP/2 through node's http2 client.
 */
import { createRequire } from 'node:module';
import type { PeerCertificate, SecureContext } from 'node:tls';
import type { Dispatcher, Pool as PoolType } from 'undici';
import { Http1Upstream } from './http1-upstream.js';
import { Http2Upstream } from './http2-upstream.js';

export type UpstreamProtocol = 'http1' | 'http2';

export interface PoolSettings {
  readonly protocol: UpstreamProtocol;
  readonly connectTimeoutMs: number;
  /** Circuit breakers per endpoint pool (HTTP/1.1): connections open, requests waiting. */
  readonly maxConnections?: number;
  readonly maxPendingRequests?: number;
}

/**
 * mTLS to an upstream that runs a sidecar (from the cluster's UpstreamTlsContext): the
 * workload's own context, and who the peer may be. Built once per cluster config.
 */
export interface UpstreamTls {
  /** The secure context for a connection opening now (it follows rotations). */
  context(): SecureContext | undefined;
  /** Verifies the peer's SPIFFE ID once its chain is verified (tls checkServerIdentity). */
  readonly verify: (host: string, cert: PeerCertificate) => Error | undefined;
  /** SNI to send, if any (Istio: outbound_.PORT_._.HOST). */
  readonly servername?: string;
  /**
   * What the connections promise and check (SNI, the SPIFFE IDs accepted), as one string
   * made when the configuration is compiled: connections made for one identity are never
   * used for another (a subset's SNI, or the identities a cluster accepts after a change).
   */
  readonly identity?: string;
}

/** Which client carries HTTP/1.1 upstream. */
export type Http1Engine = 'ferry' | 'undici';

let undiciPool: typeof PoolType | undefined;
/**
 * undici's Pool, loaded on first use only. undici's index loads all of undici (fetch,
 * WebSocket, a second llhttp build): about 10 MiB of memory the data path never uses.
 */
function loadUndiciPool(): typeof PoolType {
  undiciPool ??= createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof PoolType;
  return undiciPool;
}

/** What the exchange needs of an upstream: undici's dispatch contract. */
export interface Upstream {
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export class UpstreamPools {
  /**
   * Plaintext pools by endpoint (`address:port`), one map per protocol: HTTP/1.1, HTTP/2
   * (so that finding a pool builds no key per request).
   */
  private readonly plain = [new Map<string, Upstream>(), new Map<string, Upstream>()];
  /** mTLS pools by endpoint, then by the TLS identity they were made for (UpstreamTls.identity). */
  private readonly secure = [
    new Map<string, Map<string | undefined, Upstream>>(),
    new Map<string, Map<string | undefined, Upstream>>(),
  ];

  constructor(private readonly http1: Http1Engine = 'ferry') {}

  /**
   * The dispatcher for `address:port` over `protocol` (with mTLS when `tls` is given),
   * created on first use. Plaintext and mTLS pools to one endpoint are kept apart, and so
   * are mTLS pools made for different identities.
   */
  get(
    key: string,
    address: string,
    port: number,
    settings: PoolSettings,
    tls?: UpstreamTls,
  ): Upstream {
    const h2 = settings.protocol === 'http2' ? 1 : 0;
    if (tls) {
      const byKey = this.secure[h2];
      let byIdentity = byKey.get(key);
      if (!byIdentity) {
        byIdentity = new Map();
        byKey.set(key, byIdentity);
      }
      let pool = byIdentity.get(tls.identity);
      if (!pool) {
        pool = this.create(address, port, settings, tls);
        byIdentity.set(tls.identity, pool);
      }
      return pool;
    }
    const pools = this.plain[h2];
    let pool = pools.get(key);
    if (!pool) {
      pool = this.create(address, port, settings, undefined);
      pools.set(key, pool);
    }
    return pool;
  }

  private create(
    address: string,
    port: number,
    settings: PoolSettings,
    tls: UpstreamTls | undefined,
  ): Upstream {
    const scheme = tls ? 'https' : 'http';
    const origin = `${scheme}://${address.includes(':') ? `[${address}]` : address}:${port}`;
    const connectTimeoutMs = settings.connectTimeoutMs;
    return settings.protocol === 'http2'
      ? new Http2Upstream(origin, { connectTimeoutMs, tls })
      : this.http1 === 'ferry' || tls
        ? new Http1Upstream(address, port, {
            connectTimeoutMs,
            tls,
            maxConnections: settings.maxConnections,
            maxPending: settings.maxPendingRequests,
          })
        : new (loadUndiciPool())(origin, {
            connect: { timeout: settings.connectTimeoutMs, noDelay: true },
            connections: 256,
            pipelining: 1,
            keepAliveTimeout: 60_000,
            keepAliveMaxTimeout: 600_000,
            bodyTimeout: 0,
            headersTimeout: 0,
          });
  }

  /** Every pool, by endpoint key. */
  private *entries(): Generator<[string, Upstream]> {
    for (const pools of this.plain) yield* pools;
    for (const byKey of this.secure)
      for (const [key, byIdentity] of byKey)
        for (const pool of byIdentity.values()) yield [key, pool];
  }

  /** Closes (gracefully) the pools of endpoints no longer in `keep` (keys: `address:port`). */
  retain(keep: ReadonlySet<string>): void {
    for (const [key, pool] of [...this.entries()]) {
      if (!keep.has(key)) pool.close().catch(() => undefined);
    }
    for (const map of [...this.plain, ...this.secure]) {
      for (const key of map.keys()) if (!keep.has(key)) map.delete(key);
    }
  }

  /** Open pools (for the admin page). */
  get size(): number {
    let n = 0;
    for (const _ of this.entries()) n++;
    return n;
  }

  private clear(): Upstream[] {
    const all = [...this.entries()].map(([, pool]) => pool);
    for (const map of [...this.plain, ...this.secure]) map.clear();
    return all;
  }

  async close(): Promise<void> {
    await Promise.all(this.clear().map((p) => p.close().catch(() => undefined)));
  }

  destroy(): void {
    for (const p of this.clear()) p.destroy().catch(() => undefined);
  }
}
