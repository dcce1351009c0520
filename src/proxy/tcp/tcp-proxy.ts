/**
 * TCP proxying (Envoy's tcp_proxy filter): one upstream connection per downstream one, to a
 * host the concrete layer picks (src/proxy/stack: outlier-aware, its connect failures and
 * successes told to outlier detection as Envoy's tcp_proxy does), bytes copied both ways
 * untouched with backpressure, half-closes passed on (each direction ends on its own), an
 * idle timeout, and the cluster's connect timeout. mTLS to meshed hosts as for HTTP.
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/listeners/network_filters/tcp_proxy_filter
 */
import type net from 'node:net';
import type { RuntimeCluster } from '../cluster/index.js';
import { type Host, NO_HASH } from '../lb/index.js';
import {
  admitConnection,
  endpointTls,
  hostBegin,
  hostDone,
  pickHost,
  releaseConnection,
  reportConnected,
  reportLocalFailure,
} from '../stack/index.js';
import { connectEndpoint, type UpstreamTls } from '../upstream/index.js';

/** Envoy's tcp_proxy default idle timeout. */
export const DEFAULT_TCP_IDLE_TIMEOUT_MS = 3_600_000;

/** What a connection is proxied to, as metrics and timeouts see it. */
export interface TcpTarget {
  readonly name: string;
  readonly connectTimeoutMs: number;
}

/** What a proxied connection reports when it ends (for Istio's TCP metrics). */
export interface TcpOutcome {
  readonly cluster: TcpTarget;
  /** Bytes from the downstream peer sent upstream, and from upstream sent downstream. */
  readonly received: number;
  readonly sent: number;
  readonly downstream: net.Socket;
  /** The upstream connection never opened. */
  readonly failed: boolean;
  /** When the connection was taken (performance.now()), and where it was sent. */
  readonly startedAt: number;
  readonly host: UpstreamAddress | undefined;
  /** Whether the upstream connection is mTLS. */
  readonly secure: boolean;
}

/** Where a connection is sent: a picked host, or an original destination. */
export interface UpstreamAddress {
  readonly address: string;
  readonly port: number;
  /** `address:port`, as logs show it. */
  readonly key: string;
}

export interface TcpProxyEnv {
  /** A connection is proxied to `to` (a picked host: its EDS metadata names its workload). */
  readonly opened?: (
    cluster: TcpTarget,
    downstream: net.Socket,
    to: UpstreamAddress,
    secure: boolean,
  ) => void;
  readonly closed?: (x: TcpOutcome) => void;
  /** The idle timeout where the configuration sets none; default Envoy's 1 h. */
  readonly defaultIdleTimeoutMs?: number;
  /** Counts a connection closed by the idle timeout. */
  readonly idleTimedOut?: () => void;
  /** Counts a connection closed because its cluster was at max_connections. */
  readonly overflowed?: () => void;
}

/**
 * Proxies `downstream` (with `first`, bytes already read from it) to a host of `cluster`.
 * The downstream socket may be plain or TLS-terminated.
 */
export function proxyTcp(
  downstream: net.Socket,
  first: Buffer | undefined,
  cluster: RuntimeCluster,
  idleTimeoutMs: number | undefined,
  env: TcpProxyEnv,
): void {
  const startedAt = performance.now();
  // A connection over max_connections is closed at once, as Envoy's tcp_proxy does.
  if (admitConnection(cluster) !== undefined) {
    env.overflowed?.();
    refused(downstream, cluster, env, startedAt);
    return;
  }
  const host = pickHost(cluster, NO_HASH, undefined);
  if (!host) {
    releaseConnection(cluster);
    refused(downstream, cluster, env, startedAt);
    return;
  }
  hostBegin(host);
  const tls = endpointTls(cluster, host);
  const ended = new HostConnection(cluster, host);
  proxyTcpTo(downstream, first, cluster, host, tls, idleTimeoutMs, env, startedAt, ended);
}

/** Closes a connection that was given no upstream, and reports it as failed. */
function refused(
  downstream: net.Socket,
  cluster: RuntimeCluster,
  env: TcpProxyEnv,
  startedAt: number,
): void {
  downstream.destroy();
  env.closed?.({
    cluster,
    received: 0,
    sent: 0,
    downstream,
    failed: true,
    startedAt,
    host: undefined,
    secure: false,
  });
}

/**
 * A connection to a picked host: its opening and its end told to outlier detection (as
 * Envoy's tcp_proxy reports connect success and failure), the host and the cluster's
 * connection slot given back at the end.
 */
class HostConnection implements ConnectionEvents {
  constructor(
    private readonly cluster: RuntimeCluster,
    private readonly host: Host,
  ) {}

  connected(): void {
    reportConnected(this.cluster, this.host);
  }

  ended(connected: boolean): void {
    hostDone(this.host);
    releaseConnection(this.cluster);
    if (!connected) reportLocalFailure(this.cluster, this.host);
  }
}

/** Hears when a proxied connection's upstream opens, and whether it had when it ends. */
export interface ConnectionEvents {
  connected(): void;
  ended(connected: boolean): void;
}

const NOTHING_TO_TELL: ConnectionEvents = { connected() {}, ended() {} };

/**
 * Proxies `downstream` to one address (a picked host, or an ORIGINAL_DST cluster's: the
 * destination the app asked for), in plaintext or with `tls`; `ended` hears whether the
 * upstream connection ever opened.
 */
export function proxyTcpTo(
  downstream: net.Socket,
  first: Buffer | undefined,
  target: TcpTarget,
  to: UpstreamAddress,
  tls: UpstreamTls | undefined,
  idleTimeoutMs: number | undefined,
  env: TcpProxyEnv,
  startedAt = performance.now(),
  events: ConnectionEvents = NOTHING_TO_TELL,
): void {
  // Each direction ends on its own (half-close), as tcp_proxy does.
  downstream.allowHalfOpen = true;
  const { socket: upstream, ready } = connectEndpoint(to.address, to.port, tls);
  upstream.allowHalfOpen = true;
  env.opened?.(target, downstream, to, tls !== undefined);
  let received = first?.length ?? 0;
  let sent = 0;
  let connected = false;
  let done = false;
  const connectTimer = setTimeout(() => upstream.destroy(), target.connectTimeoutMs);
  upstream.once(ready, () => {
    connected = true;
    clearTimeout(connectTimer);
    events.connected();
  });
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(connectTimer);
    events.ended(connected);
    downstream.destroy();
    upstream.destroy();
    env.closed?.({
      cluster: target,
      received,
      sent,
      downstream,
      failed: !connected,
      startedAt,
      host: to,
      secure: tls !== undefined,
    });
  };
  const idle = () => {
    if (!done) env.idleTimedOut?.();
    finish();
  };
  const idleMs = idleTimeoutMs ?? env.defaultIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
  downstream.setTimeout(idleMs, idle);
  upstream.setTimeout(idleMs, idle);
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
  // A side that closes after both its directions ended cleanly leaves the other to finish
  // writing what it passed on: ending the connection then would cut off the tail (the app
  // closing right after its last bytes, which the TLS side has not sent yet).
  const closed = (side: net.Socket) => () => {
    if (side.readableEnded && side.writableFinished) maybeDone();
    else finish();
  };
  downstream.on('close', closed(downstream));
  upstream.on('close', closed(upstream));
  downstream.on('error', finish);
  upstream.on('error', finish);
}
