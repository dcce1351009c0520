/**
 * HTTP/1.1 upgrades (WebSocket and any other `Upgrade:` protocol), as Envoy's
 * `upgrade_configs` carry them: the request is routed like any other (route, weighted
 * cluster, balancer), sent on a connection of its own with its Connection/Upgrade headers
 * kept, and from then on the bytes flow both ways untouched, half-closes included, until
 * either side closes. No retries (a tunnel cannot be replayed), no route timeout once
 * upgraded; the connect timeout of the cluster still holds.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type net from 'node:net';
import type { RuntimeCluster } from '../cluster/index.js';
import { type Host, hashKey, NO_HASH, type PickContext } from '../lb/index.js';
import { type ForwardRoute, hashInput, type RouteRequest, rewritePath } from '../router/index.js';
import { socketPrincipal } from '../tls/index.js';
import { connectEndpoint, type UpstreamTls } from '../upstream/index.js';
import type { RequestOutcome } from './istio-metrics.js';
import type { RouteView } from './request-handler.js';
import { splitTarget } from './request-target.js';
import { FLAG } from './response-flags.js';
import type { ProxyStats } from './stats.js';

/** Headers that describe the downstream hop only; Connection and Upgrade are rebuilt. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'transfer-encoding',
  'te',
  'trailer',
  'host',
  'upgrade',
]);

export interface UpgradeOptions {
  readonly view: () => RouteView;
  readonly random: () => number;
  readonly stats: ProxyStats;
  readonly istio?: (x: RequestOutcome) => void;
}

/** Answers on the raw socket (nothing was sent upstream) and closes it. */
function reject(socket: net.Socket, status: number, reason: string, flag: string): void {
  const body = `${reason}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
      `content-type: text/plain\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${flag ? `x-ferry-response-flags: ${flag}\r\n` : ''}connection: close\r\n\r\n${body}`,
  );
}

/** Routes a tunnel request to a cluster and host, or answers it and returns undefined. */
function routeTunnel(
  options: UpgradeOptions,
  req: IncomingMessage,
  socket: net.Socket,
  authority: string,
  path: string,
): { route: ForwardRoute; cluster: RuntimeCluster; host: Host } | undefined {
  socket.on('error', () => socket.destroy());
  const headers = req.headers;
  const method = req.method ?? 'GET';
  const view = options.view();
  if (view.rbac !== undefined) {
    const principal = socketPrincipal(req.socket);
    if (!view.rbac.evaluate({ principal, method, path, port: view.port ?? 0 }).allowed) {
      options.stats.denied++;
      reject(socket, 403, 'RBAC: access denied', '');
      return undefined;
    }
  }
  const routeReq: RouteRequest = { authority, path, method, headers };
  const route = view.table?.match(routeReq);
  if (route?.kind !== 'forward') {
    options.stats.recordLocal(404, 'NR');
    reject(socket, 404, `no route for ${authority}${path}`, FLAG.NO_ROUTE);
    return undefined;
  }
  const clusterName = route.pickCluster(options.random(), routeReq);
  const cluster = clusterName === undefined ? undefined : view.clusters.get(clusterName);
  if (!cluster) {
    options.stats.recordLocal(503, 'NC');
    reject(socket, 503, `no cluster ${clusterName ?? ''}`, FLAG.NO_CLUSTER);
    return undefined;
  }
  let pick: PickContext = NO_HASH;
  if (route.hashPolicies.length > 0) {
    const input = hashInput(route.hashPolicies, routeReq, socket.remoteAddress ?? '');
    if (input !== undefined) pick = { hash: hashKey(input) };
  }
  const host = cluster.balancer.pick(pick);
  if (!host) {
    reject(socket, 503, 'no healthy upstream', FLAG.NO_HEALTHY_UPSTREAM);
    return undefined;
  }
  return { route, cluster, host };
}

/** The handler for node's HTTP server 'upgrade' event. */
export function createUpgradeHandler(
  options: UpgradeOptions,
): (req: IncomingMessage, socket: net.Socket, head: Buffer) => void {
  return function upgrade(req, socket, head) {
    const headers = req.headers;
    const [authority, path] = splitTarget(req.url ?? '/', headers.host);
    const target = routeTunnel(options, req, socket, authority, path);
    if (!target) return;
    const { route, cluster, host } = target;
    let text = `${req.method ?? 'GET'} ${route.pathRewrite ? rewritePath(route, path) : path} HTTP/1.1\r\n`;
    text += `host: ${route.hostRewrite ?? authority}\r\n`;
    for (const name in headers) {
      if (HOP_BY_HOP.has(name)) continue;
      const v = headers[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const one of v) text += `${name}: ${one}\r\n`;
      else text += `${name}: ${v}\r\n`;
    }
    text += `connection: upgrade\r\nupgrade: ${headers.upgrade ?? ''}\r\n\r\n`;
    new Tunnel(socket, cluster, host, options, cluster.hostTls?.get(host)).open(
      text,
      head,
      (req.socket as unknown) ?? socket,
    );
  };
}

/**
 * The handler for node's HTTP server 'connect' event: an HTTP_PROXY client's CONNECT
 * host:port (for an https:// URL, or any TCP) is routed by that authority like a request
 * to it, and tunnelled to a host of the service it names.
 */
export function createConnectHandler(
  options: UpgradeOptions,
): (req: IncomingMessage, socket: net.Socket, head: Buffer) => void {
  return function connect(req, socket, head) {
    const authority = req.url ?? '';
    const target = routeTunnel(options, req, socket, authority, '/');
    if (!target) return;
    const { cluster, host } = target;
    new Tunnel(socket, cluster, host, options, cluster.hostTls?.get(host)).open(
      undefined,
      head,
      (req.socket as unknown) ?? socket,
    );
  };
}

/** One upgraded connection: downstream socket <-> upstream socket. */
class Tunnel {
  private upstream: net.Socket | undefined;
  private status = 0;
  private readonly startedAt = performance.now();
  private sawResponse = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly cluster: RuntimeCluster,
    private readonly host: Host,
    private readonly options: UpgradeOptions,
    private readonly secure: UpstreamTls | undefined,
  ) {}

  /**
   * Connects upstream and joins the two sockets. With `head`, an upgrade: the request goes
   * up first and the upstream's answer (101) comes back through the tunnel. Without, a
   * CONNECT: the proxy answers 200 itself once the upstream connection is open.
   */
  open(head: string | undefined, early: Buffer, downstream: unknown): void {
    const { host, cluster, socket, secure } = this;
    const { socket: upstream, ready } = connectEndpoint(host.address, host.port, secure, [
      'http/1.1',
    ]);
    this.upstream = upstream;
    host.active++;
    host.rqTotal++;
    socket.setNoDelay(true);
    const timer = setTimeout(() => upstream.destroy(), cluster.connectTimeoutMs);
    const join = () => {
      // Both directions, with backpressure; an end on one side half-closes the other.
      upstream.pipe(socket);
      socket.pipe(upstream);
    };
    if (head === undefined) {
      upstream.once(ready, () => {
        clearTimeout(timer);
        this.sawResponse = true;
        this.status = 200;
        this.record(downstream);
        socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (early.length > 0) upstream.write(early);
        join();
      });
    } else {
      upstream.once(ready, () => clearTimeout(timer));
      upstream.write(head, 'latin1');
      if (early.length > 0) upstream.write(early);
      upstream.once('data', (first: Buffer) => {
        this.sawResponse = true;
        // "HTTP/1.1 101 ..." — the status, for the stats; the bytes go through untouched.
        this.status = Number(first.toString('latin1', 9, 12)) || 0;
        this.record(downstream);
      });
      join();
    }
    upstream.on('error', () => this.failed());
    upstream.on('close', () => {
      clearTimeout(timer);
      host.active--;
      if (!this.sawResponse) this.failed();
      else if (!socket.writableEnded) socket.end();
    });
    socket.on('close', () => upstream.destroy());
  }

  private failed(): void {
    if (this.sawResponse) {
      this.socket.destroy();
      return;
    }
    this.sawResponse = true;
    this.host.rqError++;
    this.status = 503;
    this.record(this.socket);
    if (!this.socket.destroyed) {
      this.socket.unpipe();
      this.upstream?.unpipe();
      reject(
        this.socket,
        503,
        'upstream connect error or disconnect/reset before headers. reset reason: connection failure',
        FLAG.UPSTREAM_CONNECT_FAILURE,
      );
    }
  }

  private record(downstream: unknown): void {
    const failed = this.status === 503;
    this.options.istio?.({
      clusterName: this.cluster.name,
      status: this.status,
      grpc: false,
      grpcStatus: '',
      flags: failed ? FLAG.UPSTREAM_CONNECT_FAILURE : '',
      startedAt: this.startedAt,
      requestBytes: 0,
      responseBytes: 0,
      downstreamSocket: downstream,
    });
  }
}
