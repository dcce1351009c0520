/**
 * HTTP/1.1 upgrades (WebSocket and any other `Upgrade:` protocol), as Envoy's
 * `upgrade_configs` carry them, and CONNECT: the request goes through the same stack as any
 * other (src/proxy/stack: authorization, rate limits, route, route filters; the route's
 * cluster, its circuit breakers and an outlier-aware pick), is sent on a connection of its
 * own with its Connection/Upgrade headers kept, and from then on the bytes flow both ways
 * untouched, half-closes included, until either side closes. A tunnel holds a request slot
 * of its cluster's breakers for its whole life, and its connect failures and protocol
 * errors count against its host for outlier detection. No retries (a tunnel cannot be
 * replayed). The route timeout bounds the wait for the upstream's answer to an upgrade
 * (504 UT when none came in time) and stops once the response head arrives, so it never
 * cuts a tunnel that is open: an upgraded stream is long-lived, which the route timeout
 * (RouteAction.timeout, made for request/response exchanges) must not bound
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/http/upgrades). The
 * connect timeout of the cluster still holds.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type net from 'node:net';
import type { Span } from '@opentelemetry/api';
import type { RuntimeCluster } from '../cluster/index.js';
import { countFailure, FAILURE, type Failure, rawReply } from '../failure/index.js';
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
import { Host } from '../lb/index.js';
import type { ForwardRoute, RouteRequest } from '../router/index.js';
import {
  acquireHost,
  chooseCluster,
  connectHost,
  decideRoute,
  hostBegin,
  hostDone,
  isSecure,
  MALFORMED_PATH,
  pickContext,
  Refusal,
  refusalOf,
  release,
  reportLocalFailure,
  reportStatus,
  upstreamAuthority,
  upstreamPath,
} from '../stack/index.js';
import { socketPrincipal } from '../tls/index.js';
import type { LoggedExchange } from './access-log.js';
import type { ExchangeTelemetry } from './exchange.js';
import type { RequestOutcome } from './istio-metrics.js';
import { normalizePath } from './path-normalization.js';
import { type Denial, type RouteView, recordRefusal } from './request-handler.js';
import { splitTarget } from './request-target.js';
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
  /** A tunnel authorization refused (logged with its rule, as requests are). */
  readonly onDenied?: (d: Denial) => void;
  /** Which listener: inbound tunnels get SERVER spans, outbound CLIENT spans. */
  readonly inbound?: boolean;
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

const UPGRADE_WITH_BODY = refusalOf(
  FAILURE.DOWNSTREAM_PROTOCOL_ERROR,
  'upgrade request with a body',
);

/** Answers on the raw socket (nothing was sent upstream) and closes it. */
function reject(socket: net.Socket, status: number, body: string, flags: string): void {
  socket.end(rawReply(status, body, flags));
}

/** Answers a refused tunnel request from the failure table, counted and logged. */
function refuseTunnel(
  options: UpgradeOptions,
  view: RouteView | undefined,
  req: IncomingMessage,
  socket: net.Socket,
  r: Refusal,
  authority: string,
  path: string,
): void {
  const method = req.method ?? 'GET';
  recordRefusal(options, r, false, req, method, authority, path);
  view?.accessLog?.local(method, req.headers, authority, path, r.status, r.flags);
  reject(socket, r.status, r.detail, r.flags);
}

/** A tunnel request on its way through the stack: what it needs once a route is chosen. */
class TunnelRequest {
  constructor(
    readonly options: UpgradeOptions,
    readonly req: IncomingMessage,
    readonly socket: net.Socket,
    readonly early: Buffer,
    readonly routeReq: RouteRequest,
    /** The upgrade's request head builder; undefined for CONNECT. */
    readonly upgrade: boolean,
  ) {}

  /** The route layer: a refusal, a delay (a fault's), or on to the concrete layer. */
  route(view: RouteView): void {
    const { options, req, routeReq } = this;
    const principal = view.rbac === undefined ? undefined : socketPrincipal(req.socket);
    const decision = decideRoute(view, options, routeReq, principal);
    if (decision.kind === 'delay') {
      setTimeout(afterTunnelDelay, decision.ms, this, view, decision.then);
      return;
    }
    this.decided(
      view,
      decision.kind === 'forward' || decision.kind === 'refuse' ? decision : undefined,
    );
  }

  decided(view: RouteView, decision: ForwardRoute | Refusal | undefined): void {
    const { options, req, socket, routeReq } = this;
    const { authority, path } = routeReq;
    if (decision === undefined) {
      // A direct response or redirect cannot open a tunnel: as a route that is not there.
      const r = refusalOf(FAILURE.NO_ROUTE, `no route for ${authority}${path}`);
      refuseTunnel(options, view, req, socket, r, authority, path);
      return;
    }
    if (decision instanceof Refusal) {
      refuseTunnel(options, view, req, socket, decision, authority, path);
      return;
    }
    const route = decision;
    const cluster = chooseCluster(route, view.clusters, routeReq, options.random);
    if (cluster instanceof Refusal) {
      refuseTunnel(options, view, req, socket, cluster, authority, path);
      return;
    }
    const host = acquireHost(cluster, pickContext(route, routeReq, socket.remoteAddress ?? ''));
    if (!(host instanceof Host)) {
      // The cluster's breakers are full (UO) or it has no healthy host (UH).
      const r = refusalOf(host).to(cluster.name);
      refuseTunnel(options, view, req, socket, r, authority, path);
      return;
    }
    const tunnel = new Tunnel(
      req,
      socket,
      cluster,
      host,
      options,
      route.timeoutMs,
      authority,
      this.upgrade ? path : undefined,
      view,
    );
    const downstream = (req.socket as unknown) ?? socket;
    if (!this.upgrade) {
      tunnel.open(undefined, this.early, downstream);
      return;
    }
    const headers = req.headers;
    // With tracing on, the tunnel's span is the upstream's parent (the caller's trace
    // headers are replaced by the span's, as an exchange's attempt does).
    const trace = tunnel.traceHeaders();
    let text = `${routeReq.method} ${upstreamPath(route, path)} HTTP/1.1\r\n`;
    text += `host: ${upstreamAuthority(route, authority)}\r\n`;
    for (const name in headers) {
      if (HOP_BY_HOP.has(name) || (trace !== undefined && name in trace)) continue;
      const v = headers[name];
      if (v === undefined) continue;
      text += headerLine(name, v);
    }
    if (trace !== undefined) for (const name in trace) text += headerLine(name, trace[name]!);
    // h2c (RFC 7540 §3.2, removed by RFC 9113) would turn the connection into HTTP/2
    // streams the app serves with no route or policy of the sidecar's in the way ("h2c
    // smuggling"). As Envoy does, the upgrade is dropped: the request goes up as an ordinary
    // one, and a 101 to it is a protocol error.
    const h2c = H2C.test(String(headers.upgrade ?? ''));
    text += h2c
      ? 'connection: close\r\n\r\n'
      : `connection: upgrade\r\nupgrade: ${headers.upgrade ?? ''}\r\n\r\n`;
    tunnel.open(text, this.early, downstream, !h2c);
  }
}

function afterTunnelDelay(t: TunnelRequest, view: RouteView, then: Refusal | ForwardRoute): void {
  if (t.socket.destroyed) return;
  t.decided(view, then);
}

/** The header line(s) of one field (a list: one line per value). */
function headerLine(name: string, v: string | string[]): string {
  if (!Array.isArray(v)) return `${name}: ${v}\r\n`;
  let text = '';
  for (const one of v) text += `${name}: ${one}\r\n`;
  return text;
}

/** Closes `socket` with a TCP reset where it is a plain TCP socket; else destroys it. */
function resetConnection(socket: net.Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    // Not a TCP handle (a TLS connection): closed as usual.
    socket.destroy();
  }
}

function onAnswerTimeout(t: Tunnel): void {
  t.answerTimedOut();
}

function onTunnelSocketError(this: net.Socket): void {
  this.destroy();
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
    const withBody =
      headers['transfer-encoding'] !== undefined ||
      (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    socket.on('error', onTunnelSocketError);
    if (withBody || path === undefined) {
      const r = withBody ? UPGRADE_WITH_BODY : MALFORMED_PATH;
      refuseTunnel(options, options.view(req), req, socket, r, authority, raw);
      return;
    }
    const routeReq: RouteRequest = { authority, path, method: req.method ?? 'GET', headers };
    new TunnelRequest(options, req, socket, head, routeReq, true).route(options.view(req));
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
    socket.on('error', onTunnelSocketError);
    const authority = req.url ?? '';
    const routeReq: RouteRequest = {
      authority,
      path: '/',
      method: 'CONNECT',
      headers: req.headers,
    };
    new TunnelRequest(options, req, socket, head, routeReq, false).route(options.view(req));
  };
}

/**
 * One upgraded connection: downstream socket <-> upstream socket. Told to the access log
 * (one line when it closes, with its bytes both ways) and to tracing (a span from the
 * request to the close) as an exchange is.
 */
class Tunnel implements LoggedExchange {
  private upstream: net.Socket | undefined;
  status = 0;
  readonly startedAt = performance.now();
  readonly grpcStatus = '';
  /** A tunnel is never retried. */
  readonly attempts = 1;
  /** Bytes from the client sent upstream, and from the upstream sent to the client. */
  requestBytes = 0;
  responseBytes = 0;
  traceId: string | undefined = undefined;
  private span: Span | undefined = undefined;
  /** Whether the tunnel's end was told to the log and tracing. */
  private finished = false;
  private sawResponse = false;
  /** Response head bytes received so far, before the head is complete. */
  private pending: Buffer | undefined = undefined;
  /** The response flag of a tunnel that failed ('' while all is well). */
  flags = '';
  /** The body of a non-101 answer being passed on, to find where it ends. */
  private body: BodyReader | undefined = undefined;

  /** Whether the breaker slot and the host's active count were given back. */
  private released = false;

  constructor(
    readonly req: IncomingMessage,
    private readonly socket: net.Socket,
    readonly cluster: RuntimeCluster,
    private readonly host: Host,
    private readonly options: UpgradeOptions,
    /** The route timeout, for the upgrade's response head (0: none). */
    private readonly timeoutMs: number,
    readonly authority: string,
    /** The upgrade's path; undefined for CONNECT. */
    readonly path: string | undefined,
    private readonly telemetry: ExchangeTelemetry,
  ) {
    const tracing = telemetry.tracing;
    if (tracing !== undefined) {
      this.span = tracing.startRequest(
        options.inbound === true,
        req.headers,
        req.method ?? 'GET',
        authority,
        path ?? authority,
        false,
      );
      this.traceId = this.span.spanContext().traceId;
    }
  }

  get upstreamHost(): Host {
    return this.host;
  }

  /** The trace headers for the upstream request head, when tracing is on. */
  traceHeaders(): Record<string, string | string[]> | undefined {
    const span = this.span;
    if (span === undefined) return undefined;
    const out: Record<string, string | string[]> = {};
    this.telemetry.tracing!.inject(span, out);
    return out;
  }

  /** The tunnel closed (or never opened): its span ends and its access log line is written. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    const span = this.span;
    if (span !== undefined) {
      this.span = undefined;
      this.telemetry.tracing!.end(span, this.status, '', this.flags, {
        'ferry.upstream_cluster': this.cluster.name,
        'ferry.upstream_host': this.host.key,
      });
    }
    this.telemetry.accessLog?.exchange(this);
  }

  /** The tunnel is over: its breaker slot and its host's active count go back, once. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    hostDone(this.host);
    release(this.cluster);
  }

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
    const { host, cluster, socket } = this;
    const { socket: upstream, ready } = connectHost(cluster, host, ['http/1.1']);
    this.upstream = upstream;
    hostBegin(host);
    socket.setNoDelay(true);
    const timer = setTimeout(() => upstream.destroy(), cluster.connectTimeoutMs);
    const join = () => {
      // Both directions, with backpressure; an end on one side half-closes the other.
      upstream.pipe(socket);
      socket.pipe(upstream);
      // The bytes are counted for the access log only, and only when it is on.
      if (this.telemetry.accessLog !== undefined) {
        this.requestBytes += early.length;
        socket.on('data', (chunk: Buffer) => {
          this.requestBytes += chunk.length;
        });
        upstream.on('data', (chunk: Buffer) => {
          this.responseBytes += chunk.length;
        });
      }
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
      // The route timeout runs from the request until the answer's head (an upstream
      // that accepts and never answers must not hold the client), then stops.
      const answerTimer =
        this.timeoutMs > 0 ? setTimeout(onAnswerTimeout, this.timeoutMs, this) : undefined;
      upstream.once('close', () => clearTimeout(answerTimer));
      // Nothing of the client's goes up, and nothing is joined, until the upstream answers
      // 101 (RFC 9110 §7.8): a server that answers anything else has not switched, and the
      // client's next bytes are another request, which must be routed and checked, never
      // slipped through raw. Such an answer is passed on as an ordinary response, after
      // which the connection closes.
      const onHead = (chunk: Buffer) => {
        const answer = this.responseHead(chunk);
        if (answer === undefined) return;
        clearTimeout(answerTimer);
        upstream.off('data', onHead);
        if (answer.status === 101 && !mayUpgrade) {
          this.protocolError('101 Switching Protocols to a request without an upgrade');
          return;
        }
        this.sawResponse = true;
        this.status = answer.status;
        reportStatus(cluster, host, answer.status);
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
      this.release();
      if (!this.sawResponse) this.failed();
      else if (this.body && !this.body.closed())
        socket.destroy(); // cut short: say so
      else if (!socket.writableEnded) socket.end();
      this.finish();
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
      text += headerLine(name, v);
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

  /** No answer to the upgrade within the route timeout: 504 UT, as a request's would be. */
  answerTimedOut(): void {
    if (this.sawResponse) return;
    // Not the host's error (a slow answer), but told to outlier detection as a local failure.
    this.fail(FAILURE.UPSTREAM_TIMEOUT, FAILURE.UPSTREAM_TIMEOUT.body, false);
  }

  private protocolError(message: string): void {
    this.fail(FAILURE.UPSTREAM_PROTOCOL_ERROR, `upstream protocol error: ${message}`);
  }

  private failed(): void {
    if (this.sawResponse) {
      this.socket.destroy();
      return;
    }
    // The client left before the upstream answered: not the host's failure (DC, as an
    // exchange the client leaves is never told to outlier detection).
    const f = this.socket.destroyed ? FAILURE.DOWNSTREAM_CLOSED : FAILURE.CONNECT_FAILURE;
    this.fail(f, f.body);
  }

  /**
   * The upstream failed before the tunnel opened: the host's error, told to outlier
   * detection as a request's would be, counted and answered from the failure table.
   */
  private fail(f: Failure, body: string, countError = true): void {
    this.sawResponse = true;
    if (f !== FAILURE.DOWNSTREAM_CLOSED) reportLocalFailure(this.cluster, this.host, countError);
    countFailure(this.options.stats, f);
    this.status = f.httpStatus;
    this.flags = f.flag;
    this.record(this.socket);
    const upstream = this.upstream;
    if (upstream !== undefined) {
      // A request given up on (timeout) is reset, as an exchange's is: an upstream left
      // half-open by a plain close could hold it forever. TLS has no reset of its own.
      if (f === FAILURE.UPSTREAM_TIMEOUT) resetConnection(upstream);
      else upstream.destroy();
    }
    if (!this.socket.destroyed) {
      this.socket.unpipe();
      this.upstream?.unpipe();
      reject(this.socket, f.httpStatus, body, f.flag);
    }
  }

  private record(downstream: unknown): void {
    this.options.istio?.({
      clusterName: this.cluster.name,
      status: this.status,
      grpc: false,
      grpcStatus: '',
      flags: this.flags,
      startedAt: this.startedAt,
      requestBytes: 0,
      responseBytes: 0,
      downstreamSocket: downstream,
      upstreamHost: this.host,
      upstreamSecure: isSecure(this.cluster, this.host),
    });
  }
}
