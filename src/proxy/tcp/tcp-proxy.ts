/**
 * TCP proxying (Envoy's tcp_proxy filter): one upstream connection per downstream one, to a
 * host the cluster's balancer picks, bytes copied both ways untouched with backpressure,
 * half-closes passed on (each direction ends on its own), an idle timeout, and the
 * cluster's connect timeout. mTLS to meshed hosts as for HTTP.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/listeners/network_filters/tcp_proxy_filter
 */
import type net from 'node:net';
import type { RuntimeCluster } from '../cluster/index.js';
import { type Host, NO_HASH } from '../lb/index.js';
import { connectEndpoint } from '../upstream/index.js';

/** Envoy's tcp_proxy default idle timeout. */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 3_600_000;

/** What a proxied connection reports when it ends (for Istio's TCP metrics). */
export interface TcpOutcome {
  readonly cluster: RuntimeCluster;
  /** Bytes from the downstream peer sent upstream, and from upstream sent downstream. */
  readonly received: number;
  readonly sent: number;
  readonly downstream: net.Socket;
  /** The upstream connection never opened. */
  readonly failed: boolean;
  /** When the connection was taken (performance.now()), and the host picked for it. */
  readonly startedAt: number;
  readonly host: Host | undefined;
}

export interface TcpProxyEnv {
  readonly opened?: (cluster: RuntimeCluster, downstream: net.Socket) => void;
  readonly closed?: (x: TcpOutcome) => void;
}

/**
 * Proxies `downstream` (with `first`, bytes already read from it) to a host of `cluster`.
 * The downstream socket may be plain or TLS-terminated.
 */
export function proxyTcp(
  downstream: net.Socket,
  first: Buffer | undefined,
  cluster: RuntimeCluster,
  idleTimeoutMs: number,
  env: TcpProxyEnv,
): void {
  // Each direction ends on its own (half-close), as tcp_proxy does.
  downstream.allowHalfOpen = true;
  const startedAt = performance.now();
  const host = cluster.balancer.pick(NO_HASH);
  if (!host) {
    downstream.destroy();
    env.closed?.({
      cluster,
      received: 0,
      sent: 0,
      downstream,
      failed: true,
      startedAt,
      host: undefined,
    });
    return;
  }
  const { socket: upstream, ready } = connectEndpoint(
    host.address,
    host.port,
    cluster.hostTls?.get(host),
  );
  upstream.allowHalfOpen = true;
  host.active++;
  host.rqTotal++;
  env.opened?.(cluster, downstream);
  let received = first?.length ?? 0;
  let sent = 0;
  let connected = false;
  let done = false;
  const connectTimer = setTimeout(() => upstream.destroy(), cluster.connectTimeoutMs);
  upstream.once(ready, () => {
    connected = true;
    clearTimeout(connectTimer);
  });
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(connectTimer);
    host.active--;
    if (!connected) host.rqError++;
    downstream.destroy();
    upstream.destroy();
    env.closed?.({ cluster, received, sent, downstream, failed: !connected, startedAt, host });
  };
  const idle = () => finish();
  downstream.setTimeout(idleTimeoutMs, idle);
  upstream.setTimeout(idleTimeoutMs, idle);
  if (first && first.length > 0) upstream.write(first);
  downstream.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (!upstream.write(chunk)) downstream.pause();
  });
  upstream.on('drain', () => downstream.resume());
  upstream.on('data', (chunk: Buffer) => {
    sent += chunk.length;
    if (!downstream.write(chunk)) upstream.pause();
  });
  downstream.on('drain', () => upstream.resume());
  downstream.on('end', () => upstream.end());
  upstream.on('end', () => downstream.end());
  // The connection is over when both directions have ended, or on any error.
  const maybeDone = () => {
    if (downstream.writableFinished && upstream.writableFinished) finish();
  };
  downstream.on('finish', maybeDone);
  upstream.on('finish', maybeDone);
  downstream.on('close', finish);
  upstream.on('close', finish);
  downstream.on('error', finish);
  upstream.on('error', finish);
}
