/**
 * An HTTP listener that speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on one
 * port: the first bytes of a connection tell which (RFC 9113 §3.4: the client preface
 * starts with "PRI * HTTP/2.0"), and the socket is handed to the matching server.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { FAILURE, plainReplyFields, rawReply } from '../failure/index.js';
import {
  type FastConnection,
  type FastRequest,
  type FastResponse,
  serveFast,
} from '../http1/index.js';
import { TLS_PEER } from '../tls/index.js';
import { H2Request } from './h2-request.js';
import { H2Response } from './h2-response.js';
import { H2ServerSocket } from './h2-server-socket.js';
import { expiredH2, trackH2Session } from './h2-session-limits.js';
import { DEFAULT_LIMITS, LIMIT, type LimitName, type ListenerLimits } from './limits.js';
import { DETECTION_TIMEOUT_MS, isHttp2Preface, TLS_HANDSHAKE } from './protocol-detection.js';
import { carryRawSocket } from './raw-socket.js';
import { invalidRequest } from './request-checks.js';
import { guardHandshake, peerVerified } from './tls-handshake.js';

export type HttpHandler = (
  req: IncomingMessage | H2Request | FastRequest,
  res: ServerResponse | H2Response | FastResponse,
) => void;

/** Inbound mTLS modes, as Istio's PeerAuthentication names them. */
export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** TLS termination for a listener; read per connection, so config changes apply to new ones. */
export interface ListenerTls {
  /**
   * STRICT: TLS with a valid client certificate only; PERMISSIVE: TLS or plaintext, told
   * apart by the first byte (a TLS handshake record is 0x16); DISABLE: plaintext only.
   */
  mode(): MtlsMode;
  /** The workload's secure context; undefined (no certificate yet) means plaintext only. */
  context(): tls.SecureContext | undefined;
}

export interface ListenOptions {
  /** Serve plain HTTP/1.1 with the hand-parsed fast path (default true). */
  readonly fastPath?: boolean;
  /** Terminate (m)TLS on this listener. */
  readonly tls?: ListenerTls;
  /**
   * Takes a connection this listener should not serve as HTTP (a tcp service's port):
   * called with the (decrypted) socket and its first bytes; returns true when it took it.
   */
  readonly opaque?: (socket: net.Socket, first: Buffer) => boolean;
  /**
   * Sees every connection as it is accepted, before a byte is read (the outbound listener
   * routes on its original destination there); returns true when it took the connection.
   * It may hand a connection it took back to the HTTP server later, with the bytes it read,
   * or a stream it made of it (a gateway's TLS socket, terminated with the SNI's certificate).
   */
  readonly accept?: (
    socket: net.Socket,
    serveHttp: (first: Buffer, stream?: net.Socket) => void,
  ) => boolean;
  /** CONNECT tunnels (HTTP_PROXY clients' https:// URLs): without it they get 404 NR. */
  readonly connect?: (req: IncomingMessage, socket: net.Socket, head: Buffer) => void;
  /** HTTP/1.1 upgrades (WebSocket...): without it they are refused. */
  readonly upgrade?: (req: IncomingMessage, socket: net.Socket, head: Buffer) => void;
  /** Counts a request refused as malformed before it reached the handler (400 DPE). */
  readonly refused?: () => void;
  /** Timeouts, sizes and HTTP/2 stream limits (default DEFAULT_LIMITS). */
  readonly limits?: ListenerLimits;
  /** Counts a limit acting (ferry_proxy_downstream_limits_total). */
  readonly limitHit?: (limit: LimitName) => void;
}

const EMPTY = Buffer.alloc(0);

export interface HttpListener {
  readonly port: number;
  readonly host: string;
  /** Stops accepting; tells keep-alive and HTTP/2 clients to go away; waits up to drainMs for what is in flight. */
  close(drainMs: number): Promise<void>;
  /** Open downstream connections. */
  readonly connections: number;
}

/** CONNECT on a listener that routes none: no route, from the failure table. */
function rejectConnect(req: IncomingMessage, socket: net.Socket): void {
  const f = FAILURE.NO_ROUTE;
  socket.end(rawReply(f.httpStatus, `no route for CONNECT ${req.url ?? ''}`, f.flag));
}

function ignoreStreamError(): void {}

/** What node's parser or Ferry's request checks refuse: a malformed request (DPE). */
const MALFORMED = FAILURE.DOWNSTREAM_PROTOCOL_ERROR;

function closeAfterResponse(_req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
}

/** The 400 (431) for a malformed request node parsed; on HTTP/1.1 the connection then closes. */
function refuseRequest(res: ServerResponse | H2Response, reason: string, status = 400): void {
  const body = `${reason}\n`;
  if ('shouldKeepAlive' in res) res.shouldKeepAlive = false;
  res.writeHead(status, plainReplyFields(Buffer.byteLength(body), MALFORMED.flag));
  res.end(body);
}

/**
 * Raw 400 on a socket no response object owns (an upgrade, a parse error), then the socket
 * is destroyed once the answer is out: a refused socket is paused, so it would never read
 * the client's FIN or RST, and a half-closed one would hold its descriptor for good.
 */
function refuseOnSocket(socket: net.Socket, status: number, reason: string): void {
  socket.end(rawReply(status, reason, MALFORMED.flag), () => socket.destroy());
}

/*
 * node's HTTP/1.1 server parses pipelined requests ahead of their responses. When one of
 * them is malformed, its default is to answer 400 and destroy the socket at once, though
 * requests before it are on their way upstream: those would be forwarded and never
 * answered. Instead, the requests in flight on each socket are counted, reading stops at
 * the malformed one, and its 400 goes out after the last of their responses.
 */
const IN_FLIGHT = Symbol('ferry.node.inFlight');
const BROKEN = Symbol('ferry.node.broken');
const LAST = Symbol('ferry.node.last');
type NodeSocket = net.Socket & {
  [IN_FLIGHT]?: number;
  [BROKEN]?: number;
  [LAST]?: ServerResponse;
};
type TrackedResponse = ServerResponse & { [IN_FLIGHT]?: NodeSocket };

function nodeResponseClosed(this: TrackedResponse): void {
  const socket = this[IN_FLIGHT];
  if (!socket) return;
  this[IN_FLIGHT] = undefined;
  const left = (socket[IN_FLIGHT] ?? 1) - 1;
  socket[IN_FLIGHT] = left;
  const status = socket[BROKEN];
  if (left === 0 && status !== undefined && !socket.destroyed) {
    refuseOnSocket(socket, status, 'malformed request');
  }
}

function onClientError(
  err: NodeJS.ErrnoException,
  socket: net.Socket,
  refused: (() => void) | undefined,
  limitHit: ((limit: LimitName) => void) | undefined,
): void {
  const s = socket as NodeSocket;
  if (s[BROKEN] !== undefined) return;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') limitHit?.(LIMIT.HEADERS_TIMEOUT);
  else if (err.code === 'HPE_HEADER_OVERFLOW') limitHit?.(LIMIT.HEAD_TOO_LARGE);
  if (s.destroyed || !s.writable || err.code === 'ECONNRESET') {
    s.destroy();
    return;
  }
  refused?.();
  // node's own choices of status for what its parser refuses.
  const status =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 431
      : err.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? 413
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? 408
          : 400;
  s[BROKEN] = status;
  const last = s[LAST];
  if (last && !last.req.complete && (s[IN_FLIGHT] ?? 0) > 0) {
    // The bad bytes are inside the body of a request under way: that request cannot go on
    // (its exchange answers 400 DPE or is cut), and nothing after it can be parsed.
    if (s[IN_FLIGHT] === 1 && !last.headersSent) {
      refuseOnSocket(s, status, 'malformed request');
      s.once('finish', () => s.destroy()); // once the 400 is out
    } else s.destroy();
    return;
  }
  s.pause();
  if ((s[IN_FLIGHT] ?? 0) === 0) refuseOnSocket(s, status, 'malformed request');
}

export async function listenHttp(
  host: string,
  port: number,
  handler: HttpHandler,
  options: ListenOptions = {},
): Promise<HttpListener> {
  const refused = options.refused;
  const limits = options.limits ?? DEFAULT_LIMITS;
  const limitHit = options.limitHit;
  /** More header fields than the limit: 431, as the fast path answers (node would drop them). */
  const tooManyFields = (req: IncomingMessage | H2Request) =>
    req.rawHeaders.length > 2 * limits.maxHeaders;
  /** Answers 400 to a request node parsed that the fast path would refuse; true if it did. */
  const refuse = (req: IncomingMessage | H2Request, res: ServerResponse | H2Response) => {
    if (tooManyFields(req)) {
      limitHit?.(LIMIT.TOO_MANY_HEADERS);
      refused?.();
      refuseRequest(res, 'too many header fields', 431);
      return true;
    }
    const why = invalidRequest(req);
    if (why === undefined) return false;
    refused?.();
    refuseRequest(res, why);
    return true;
  };
  /** Requests node parsed: checked as the fast path checks, then counted while in flight. */
  const checkedH1 = (req: IncomingMessage, res: ServerResponse) => {
    if (refuse(req, res)) return;
    const socket = req.socket as NodeSocket;
    socket[IN_FLIGHT] = (socket[IN_FLIGHT] ?? 0) + 1;
    socket[LAST] = res;
    (res as TrackedResponse)[IN_FLIGHT] = socket;
    res.once('close', nodeResponseClosed);
    handler(req, res);
  };
  /**
   * A stream the session opened, served on node's core stream API (not its compatibility
   * layer, which costs two streams and a dozen listeners per request): what the
   * compatibility layer does first is done here too. CONNECT (RFC 9113 §8.5) is not served
   * (405), `Expect: 100-continue` is answered 100 at once, and any other expectation 417.
   */
  const checkedH2 = (
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    _flags: number,
    rawHeaders: string[],
  ) => {
    // Errors on a stream (a reset by the client) are seen through its 'close'.
    stream.on('error', ignoreStreamError);
    const req = new H2Request(stream, headers, rawHeaders);
    const res = new H2Response(stream);
    if (req.method === 'CONNECT') {
      res.statusCode = 405;
      res.end();
      return;
    }
    const expect = headers.expect;
    if (expect !== undefined) {
      if (expect !== '100-continue') {
        res.statusCode = 417;
        res.end();
        return;
      }
      res.writeContinue();
    }
    if (!refuse(req, res)) handler(req, res);
  };
  const upgrade = options.upgrade;
  const checkedTunnel =
    (next: (req: IncomingMessage, socket: net.Socket, head: Buffer) => void) =>
    (req: IncomingMessage, socket: net.Socket, head: Buffer) => {
      const many = tooManyFields(req);
      const why = many ? 'too many header fields' : invalidRequest(req);
      if (why !== undefined) {
        if (many) limitHit?.(LIMIT.TOO_MANY_HEADERS);
        refused?.();
        socket.on('error', () => socket.destroy());
        refuseOnSocket(socket, many ? 431 : 400, why);
        return;
      }
      next(req, socket, head);
    };
  // A missing Host is refused by invalidRequest (400 DPE, counted) rather than by node.
  // The timeouts are checked by a sweep rather than a timer per connection or request: its
  // period is a quarter of the shorter one (at most 1 s), so a timeout acts within 25% late.
  const sweepMs = Math.max(
    10,
    Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.idleTimeoutMs) / 4)),
  );
  const h1 = http.createServer(
    {
      keepAlive: true,
      noDelay: true,
      requireHostHeader: false,
      maxHeaderSize: limits.maxHeadBytes,
      connectionsCheckingInterval: sweepMs,
    },
    checkedH1,
  );
  h1.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) =>
    onClientError(err, socket, refused, limitHit),
  );
  h1.keepAliveTimeout = limits.idleTimeoutMs;
  h1.headersTimeout = limits.headersTimeoutMs;
  h1.requestTimeout = 0;
  // No count limit in node itself (the head size still bounds it): Ferry's own check answers
  // 431 and counts it. Node 20 dropped the fields past maxHeadersCount; Node 24 fails the
  // parse with the same HPE_HEADER_OVERFLOW as an oversized head, so the two would not be
  // told apart in 'clientError'.
  h1.maxHeadersCount = 0;
  // node's keep-alive timer: with a listener on 'timeout' node leaves the socket to it.
  h1.on('timeout', (socket: net.Socket) => {
    limitHit?.(LIMIT.IDLE_TIMEOUT);
    socket.destroy();
  });
  // node's server is handed sockets and never listens itself, and it sets up the tracking of
  // its connections on 'listening': without it closeIdleConnections() (the drain) and
  // headersTimeout do nothing, and a keep-alive connection is never closed by a drain.
  h1.emit('listening');
  // A CONNECT (tunnel) request has no route: answer 404 NR, as Envoy does without a
  // connect_matcher, instead of letting node drop the connection unanswered.
  h1.on('connect', checkedTunnel(options.connect ?? rejectConnect));
  if (upgrade) h1.on('upgrade', checkedTunnel(upgrade));
  const h2 = http2.createServer({
    settings: {
      maxConcurrentStreams: limits.h2MaxConcurrentStreams,
      maxHeaderListSize: limits.maxHeadBytes,
    },
    // The pseudo-header fields count too: four for a request.
    maxHeaderListPairs: limits.maxHeaders + 4,
  });
  h2.on('stream', checkedH2);
  const sessions = new Set<http2.ServerHttp2Session>();
  // The TLS socket under the HTTP/2 connection being handed over now, for the session.
  let handingOver: net.Socket | undefined;
  /** The connection under the HTTP/2 session being made now (node wraps it out of reach). */
  let handingOverConnection: net.Socket | undefined;
  /** What node makes that session over: it closes the session after an error GOAWAY. */
  let handingOverH2: H2ServerSocket | undefined;
  h2.on('session', (s) => {
    if (handingOver) (s as unknown as Record<symbol, unknown>)[TLS_PEER] = handingOver;
    if (handingOverConnection) carryRawSocket(s, handingOverConnection);
    if (handingOverH2) handingOverH2.session = s;
    sessions.add(s);
    trackH2Session(s, limits, limitHit);
    s.once('close', () => sessions.delete(s));
  });
  const sockets = new Set<net.Socket>();
  const fast = options.fastPath ?? true;
  const fastConns = new Set<FastConnection>();
  let draining = false;
  const fastOptions = {
    handOff: (s: net.Socket) => h1.emit('connection', s),
    refused,
    limitHit,
    maxHeadBytes: limits.maxHeadBytes,
    maxHeaders: limits.maxHeaders,
    maxPipelinedBytes: limits.maxPipelinedBytes,
  };
  /** The timeouts of fast-path connections and HTTP/2 sessions, checked together. */
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of fastConns) {
      const why = c.expired(now, limits.headersTimeoutMs, limits.idleTimeoutMs);
      if (why === undefined) continue;
      limitHit?.(why);
      c.socket.destroy();
    }
    for (const s of sessions) {
      const why = expiredH2(s, now, limits);
      if (why !== undefined) limitHit?.(why);
    }
  }, sweepMs).unref();
  /** Until a connection's first bytes (or its first decrypted ones), the header-read timeout. */
  const silent = function (this: net.Socket) {
    limitHit?.(LIMIT.HEADERS_TIMEOUT);
    this.destroy();
  };
  const spoke = (socket: net.Socket) => {
    socket.setTimeout(0);
    socket.off('timeout', silent);
  };

  /** Serves a (plaintext or decrypted) connection whose first bytes are `first`. */
  const opaque = options.opaque;
  const serve = (socket: net.Socket, first: Buffer) => {
    if (opaque?.(socket, first)) return;
    if (isHttp2Preface(first)) {
      // The session is made (and 'session' emitted) synchronously inside this emit.
      handingOver = (socket as tls.TLSSocket).encrypted ? socket : undefined;
      handingOverConnection = socket;
      // A JS stream around the socket (H2ServerSocket) puts the detection's bytes back and
      // watches the frames the server writes for an error GOAWAY, which node never closes
      // after (goaway-watch.ts). It costs a copy and callbacks per frame each way; handing
      // node the socket itself (unshift) was ~25% cheaper per request but loses that watch.
      handingOverH2 = new H2ServerSocket(socket, first);
      h2.emit('connection', handingOverH2);
      handingOver = undefined;
      handingOverConnection = undefined;
      handingOverH2 = undefined;
    } else if (fast) {
      const conn = serveFast(socket, handler, fastOptions, first);
      fastConns.add(conn);
      socket.once('close', () => fastConns.delete(conn));
      if (draining) conn.drain();
    } else {
      socket.pause();
      socket.unshift(first);
      h1.emit('connection', socket);
      socket.resume();
    }
  };

  /**
   * Terminates TLS, then serves what it carries, straight on the TCP socket (OpenSSL's
   * native path). `first` (bytes read to tell TLS from plaintext) goes back into the
   * socket's buffer, paused so that nothing emits it: node's TLS socket reads what is
   * buffered there before the handle's next bytes (lib/_tls_wrap.js initRead).
   */
  const terminate = (
    socket: net.Socket,
    first: Buffer | undefined,
    context: tls.SecureContext,
    mode: MtlsMode,
  ) => {
    if (first) {
      socket.pause();
      socket.unshift(first);
    }
    const secure = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: context,
      requestCert: true,
      // STRICT: only peers with a certificate from the mesh's CA. PERMISSIVE: any TLS client
      // (a peer without a certificate simply has no identity).
      rejectUnauthorized: mode === 'STRICT',
      ALPNProtocols: ['h2', 'http/1.1'],
    });
    carryRawSocket(secure, socket);
    guardHandshake(secure, socket, () => {
      // A TLSSocket made by hand (not by tls.Server) checks nothing beyond OpenSSL's "a
      // certificate is required": the chain and dates of a certificate the client did send
      // must be checked here, as tls.Server does, from the handshake's verify result. A
      // certificate that does not verify ends the connection in either mode (as Envoy's
      // validation context does); without one, PERMISSIVE serves a peer with no identity.
      if (!peerVerified(secure)) {
        secure.destroy();
        socket.destroy();
        return;
      }
      // A tcp port's TLS connection is proxied as it is, without waiting for the client to
      // speak (it may be a server-first protocol).
      if (opaque?.(secure, EMPTY)) {
        spoke(socket);
        // A proxied TCP stream ends one direction at a time: the TCP socket under the TLS
        // socket must let the other direction go on (TLS 1.3 allows it).
        socket.allowHalfOpen = true;
        return;
      }
      // HTTP/2 is told apart by its preface here too, whatever ALPN said.
      secure.once('data', (chunk: Buffer) => {
        spoke(socket);
        serve(secure, chunk);
      });
    });
  };

  const tlsOptions = options.tls;
  const accept = options.accept;
  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (accept?.(socket, (first, stream = socket) => serve(stream, first))) return;
    socket.setTimeout(limits.headersTimeoutMs, silent);
    if (tlsOptions?.mode() === 'STRICT') {
      // Only mutual TLS is taken: no need to look at the first bytes.
      const context = tlsOptions.context();
      if (context) terminate(socket, undefined, context, 'STRICT');
      else socket.destroy(); // no certificate yet: nothing can be served
      return;
    }
    // A server-first protocol (MySQL, SMTP...) on a tcp port sends nothing until the
    // server speaks: after a short wait, such a connection is taken as plaintext TCP.
    const quiet = opaque
      ? setTimeout(() => {
          // STRICT takes no plaintext: a silent connection there is simply not talking yet.
          if (tlsOptions?.mode() === 'STRICT' || socket.readableLength > 0) return;
          if (opaque(socket, EMPTY)) {
            spoke(socket);
            socket.off('data', first);
          }
        }, DETECTION_TIMEOUT_MS)
      : undefined;
    const first = (chunk: Buffer) => {
      if (quiet) clearTimeout(quiet);
      if (tlsOptions) {
        const mode = tlsOptions.mode();
        const context = mode === 'DISABLE' ? undefined : tlsOptions.context();
        if (context && chunk[0] === TLS_HANDSHAKE) {
          terminate(socket, chunk, context, mode);
          return;
        }
        if (mode === 'STRICT') {
          // Plaintext (or TLS before there is a certificate) is refused outright.
          socket.destroy();
          return;
        }
      }
      spoke(socket);
      serve(socket, chunk);
    };
    socket.once('data', first);
    socket.once('close', () => quiet && clearTimeout(quiet));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    port: address.port,
    host,
    get connections() {
      return sockets.size;
    },
    close(drainMs: number) {
      closing ??= drain(drainMs);
      return closing;
    },
  };

  async function drain(drainMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Idle keep-alive connections close now, busy ones after their response
    // (Connection: close); HTTP/2 clients get GOAWAY and finish their streams.
    draining = true;
    clearInterval(sweep);
    // node's server never listened (it is handed sockets), so nothing tells it it is
    // closing: each response from now on carries Connection: close and ends its connection,
    // and close() shuts its idle connections now (and stops its timeout checks).
    h1.prependListener('request', closeAfterResponse);
    h1.close();
    for (const c of fastConns) c.drain();
    for (const s of sessions) s.close();
    const deadline = new Promise<void>((resolve) => setTimeout(resolve, drainMs).unref());
    const drained = (async () => {
      while (sockets.size > 0) {
        h1.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await Promise.race([drained, deadline]);
    for (const s of sockets) s.destroy();
    await closed;
  }
}
