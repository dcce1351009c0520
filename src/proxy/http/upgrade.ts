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
import {
  BodyReader,
  type BodySink,
  CRLF2,
  type Framing,
  framingOf,
  NO_BODY,
  parseResponseHead,
  type ResponseHead,
  UNTIL_CLOSE,
} from '../http1/index.js';
import { type Host, hashKey, NO_HASH, type PickContext } from '../lb/index.js';
import { type ForwardRoute, hashInput, type RouteRequest, rewritePath } from '../router/index.js';
import { socketPrincipal } from '../tls/index.js';
import { connectEndpoint, type UpstreamTls } from '../upstream/index.js';
import type { RequestOutcome } from './istio-metrics.js';
import { normalizePath } from './path-normalization.js';
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
  'http2-settings',
]);

/** An Upgrade header that offers h2c (a token list, RFC 9110 §7.8). */
const H2C = /(^|,)\s*h2c\s*(,|$)/i;

export interface UpgradeOptions {
  /** The route view in force now, for this request's connection (inbound: its port). */
  readonly view: (req: IncomingMessage) => RouteView;
  readonly random: () => number;
  readonly stats: ProxyStats;
  readonly istio?: (x: RequestOutcome) => void;
}

/** Largest upstream response head to an upgrade (as node's default). */
const MAX_RESPONSE_HEAD = 16 * 1024;
const EMPTY = Buffer.alloc(0);
/** Where a passed-on body's payload goes: nowhere (the bytes are forwarded as framed). */
const DISCARD: BodySink = { onBody() {} };

/** The upstream's answer to an upgrade: its status, parsed head, bytes, and what followed. */
interface UpstreamAnswer {
  readonly status: number;
  readonly head: ResponseHead;
  readonly bytes: Buffer;
  readonly rest: Buffer;
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
  const view = options.view(req);
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
    // The client's bytes wait until the upstream has agreed to switch protocols.
    socket.pause();
    const [authority, raw] = splitTarget(req.url ?? '/', headers.host);
    const path = normalizePath(raw);
    // A body on an upgrade request would have to be framed upstream before the switch, and
    // bytes after it could only be guessed at: refused rather than passed on raw.
    const malformed =
      headers['transfer-encoding'] !== undefined ||
      (headers['content-length'] !== undefined && headers['content-length'] !== '0')
        ? 'upgrade request with a body'
        : path === undefined
          ? 'malformed percent-encoding in path'
          : undefined;
    if (malformed !== undefined || path === undefined) {
      socket.on('error', () => socket.destroy());
      options.stats.downstreamProtocolErrors++;
      reject(socket, 400, malformed ?? '', FLAG.DOWNSTREAM_PROTOCOL_ERROR);
      return;
    }
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
    // h2c (RFC 7540 §3.2, removed by RFC 9113) would turn the connection into HTTP/2
    // streams the app serves with no route or policy of the sidecar's in the way ("h2c
    // smuggling"). As Envoy does, the upgrade is dropped: the request goes up as an ordinary
    // one, and a 101 to it is a protocol error.
    const h2c = H2C.test(String(headers.upgrade ?? ''));
    text += h2c
      ? 'connection: close\r\n\r\n'
      : `connection: upgrade\r\nupgrade: ${headers.upgrade ?? ''}\r\n\r\n`;
    new Tunnel(socket, cluster, host, options, cluster.hostTls?.get(host)).open(
      text,
      head,
      (req.socket as unknown) ?? socket,
      !h2c,
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
  /** Response head bytes received so far, before the head is complete. */
  private pending: Buffer | undefined = undefined;
  /** The response flag of a tunnel that failed ('' while all is well). */
  private flag = '';
  /** The body of a non-101 answer being passed on, to find where it ends. */
  private body: BodyReader | undefined = undefined;

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
  open(
    head: string | undefined,
    early: Buffer,
    downstream: unknown,
    /** Whether a 101 may open the tunnel (false: the upgrade was dropped from the request). */
    mayUpgrade = true,
  ): void {
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
      // Nothing of the client's goes up, and nothing is joined, until the upstream answers
      // 101 (RFC 9110 §7.8): a server that answers anything else has not switched, and the
      // client's next bytes are another request, which must be routed and checked, never
      // slipped through raw. Such an answer is passed on as an ordinary response, after
      // which the connection closes.
      const onHead = (chunk: Buffer) => {
        const answer = this.responseHead(chunk);
        if (answer === undefined) return;
        upstream.off('data', onHead);
        if (answer.status === 101 && !mayUpgrade) {
          this.protocolError('101 Switching Protocols to a request without an upgrade');
          return;
        }
        this.sawResponse = true;
        this.status = answer.status;
        if (answer.status === 101) {
          this.record(downstream);
          socket.write(answer.bytes);
          if (early.length > 0) upstream.write(early);
          join();
        } else this.plainResponse(answer, downstream);
      };
      upstream.on('data', onHead);
    }
    upstream.on('error', () => this.failed());
    upstream.on('close', () => {
      clearTimeout(timer);
      host.active--;
      if (!this.sawResponse) this.failed();
      else if (this.body && !this.body.closed())
        socket.destroy(); // cut short: say so
      else if (!socket.writableEnded) socket.end();
    });
    socket.on('close', () => upstream.destroy());
  }

  /**
   * Collects the upstream's response head. Returns undefined until a final one (or a 101)
   * is complete; interim 1xx heads are skipped; a malformed head answers 502 UPE.
   */
  private responseHead(chunk: Buffer): UpstreamAnswer | undefined {
    let buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    for (;;) {
      const end = buf.indexOf(CRLF2);
      if (end < 0) {
        if (buf.length > MAX_RESPONSE_HEAD) this.protocolError('response head too large');
        else this.pending = buf;
        return undefined;
      }
      let parsed: ResponseHead;
      try {
        parsed = parseResponseHead(buf.toString('latin1', 0, end));
      } catch (err) {
        this.protocolError((err as Error).message);
        return undefined;
      }
      if (parsed.status >= 200 || parsed.status === 101) {
        return { status: parsed.status, head: parsed, bytes: buf, rest: buf.subarray(end + 4) };
      }
      buf = buf.subarray(end + 4); // 100 Continue, 103 Early Hints: not for this client
      if (buf.length === 0) return undefined;
    }
  }

  /** Passes a non-101 answer on as an ordinary response; the connection then closes. */
  private plainResponse(answer: UpstreamAnswer, downstream: unknown): void {
    const { status, head, rest } = answer;
    let framing: Framing;
    try {
      framing = status === 204 || status === 304 ? NO_BODY : framingOf(head.headers, UNTIL_CLOSE);
    } catch (err) {
      this.protocolError((err as Error).message);
      return;
    }
    this.record(downstream);
    let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (const name in head.headers) {
      if (name === 'connection' || name === 'keep-alive' || name === 'upgrade') continue;
      const v = head.headers[name];
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const one of v) text += `${name}: ${one}\r\n`;
      else text += `${name}: ${v}\r\n`;
    }
    this.socket.write(`${text}connection: close\r\n\r\n`, 'latin1');
    const body = new BodyReader(framing);
    this.body = body;
    const upstream = this.upstream!;
    const forward = (chunk: Buffer) => {
      // The body goes on as framed (chunked stays chunked); only its end is looked for.
      const used = body.read(chunk, 0, DISCARD);
      if (used > 0) this.socket.write(used === chunk.length ? chunk : chunk.subarray(0, used));
      if (body.done) {
        upstream.off('data', forward);
        this.socket.end();
        upstream.destroy();
      }
    };
    upstream.on('data', forward);
    if (body.done) forward(EMPTY);
    else if (rest.length > 0) forward(rest);
  }

  private protocolError(message: string): void {
    this.sawResponse = true;
    this.host.rqError++;
    this.status = 502;
    this.flag = FLAG.UPSTREAM_PROTOCOL_ERROR;
    this.options.stats.upstreamProtocolErrors++;
    this.record(this.socket);
    this.upstream?.destroy();
    if (!this.socket.destroyed) {
      reject(this.socket, 502, `upstream protocol error: ${message}`, FLAG.UPSTREAM_PROTOCOL_ERROR);
    }
  }

  private failed(): void {
    if (this.sawResponse) {
      this.socket.destroy();
      return;
    }
    this.sawResponse = true;
    this.host.rqError++;
    this.status = 503;
    this.flag = FLAG.UPSTREAM_CONNECT_FAILURE;
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
    this.options.istio?.({
      clusterName: this.cluster.name,
      status: this.status,
      grpc: false,
      grpcStatus: '',
      flags: this.flag,
      startedAt: this.startedAt,
      requestBytes: 0,
      responseBytes: 0,
      downstreamSocket: downstream,
      upstreamHost: this.host,
      upstreamSecure: this.secure !== undefined,
    });
  }
}
