/**
 * HTTP/1.1 to one upstream endpoint on raw sockets: a keep-alive connection pool whose
 * requests are written as one string and whose responses are parsed by hand (the same
 * RFC 9112 head and body parsers as the downstream fast path). Node's socket I/O is cheap;
 * its HTTP object layers, and undici's, are what a proxy pays for per request, so the
 * common case skips them. It speaks undici's dispatch contract, like Http2Upstream and the
 * undici pool that `--http1 node` keeps, so the exchange does not know which it has.
 *
 * One request per connection at a time (no pipelining). A request that finds no idle
 * connection waits in the pool's queue, and a new connection is opened for it unless enough
 * are opening already; whichever connection is free first takes it, a new one once connected
 * or a busy one once its response ends (Envoy's pending requests). So a slow handshake (a
 * busy peer) does not fail a request that a kept-alive connection can carry a moment later.
 * A connect failure fails the waiting requests that no other opening connection will carry
 * (Envoy purges its pending requests then), so a retry can take them to another host rather
 * than wait on busy connections to a host that may be hung. A
 * connection goes back to the pool only when its request was fully written and its response
 * fully read without `Connection: close`; anything else closes it. Idle connections are checked out
 * newest-first and retired after the upstream's `Keep-Alive: timeout` hint (less a margin)
 * or the pool's idle timeout; a request that meets a keep-alive connection the upstream had
 * just closed is sent once more on a new connection when it is idempotent and its body
 * can be resent, since the upstream never saw it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type net from 'node:net';
import type { Readable } from 'node:stream';
import type tls from 'node:tls';
import type { Dispatcher } from 'undici';
import {
  BodyReader,
  type BodySink,
  batchWrite,
  CRLF2,
  type Framing,
  framingOf,
  NO_BODY,
  parseResponseHead,
  UNTIL_CLOSE,
} from '../http1/index.js';
import { connectEndpoint } from './connect-endpoint.js';
import {
  CONNECT_TIMEOUT,
  OVERFLOW,
  PROTOCOL_ERROR,
  SOCKET_CLOSED,
  TLS_HANDSHAKE,
  UpstreamError,
} from './upstream-error.js';
import type { UpstreamTls } from './upstream-pools.js';

type Handler = Dispatcher.DispatchHandler;

export interface Http1UpstreamOptions {
  readonly connectTimeoutMs: number;
  /** Most connections open at once; requests beyond wait in order. Default 1024. */
  readonly maxConnections?: number;
  /**
   * Most requests waiting for a connection (to open, or to be free); beyond, refused at once.
   * Default 1024.
   */
  readonly maxPending?: number;
  /** How long an idle connection is kept without a Keep-Alive hint. Default 60 s. */
  readonly idleTimeoutMs?: number;
  /** mTLS to the endpoint (it runs a sidecar). */
  readonly tls?: UpstreamTls;
}

/** Largest response head accepted (as node's default). */
const MAX_HEAD = 16 * 1024;
/** Bodies up to this size leave in the same write as the request head. */
const COALESCE_LIMIT = 16 * 1024;
/** Retire a hinted keep-alive connection this long before the upstream would. */
const KEEP_ALIVE_MARGIN_MS = 1000;
const SWEEP_INTERVAL_MS = 1000;
const KEEP_ALIVE_TIMEOUT = /timeout=(\d+)/i;
/** RFC 9110 §9.2.2: safe to send again when the first copy never reached the upstream. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);
const NO_TRAILERS: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;

const CONN = Symbol('ferry.h1.connection');
type TaggedSocket = net.Socket & { [CONN]?: H1Connection };
type TaggedBody = Readable & { [CONN]?: H1Connection };

/** One request: the controller the exchange holds while it is under way. */
class H1Call implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  conn: H1Connection | undefined = undefined;
  /** Already sent once more after a stale keep-alive connection. */
  resent = false;
  constructor(
    readonly pool: Http1Upstream,
    readonly handler: Handler,
    readonly opts: Dispatcher.DispatchOptions,
  ) {}
  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const conn = this.conn;
    this.conn = undefined;
    // A connection in the middle of a request cannot be reused: close it.
    if (conn) conn.fail(reason, false);
    else this.pool.forget(this);
    this.handler.onResponseError?.(this, reason);
  }
  pause(): void {
    this.paused = true;
    this.conn?.socket.pause();
  }
  resume(): void {
    this.paused = false;
    this.conn?.socket.resume();
  }
}

class H1Connection implements BodySink {
  readonly socket: TaggedSocket;
  call: H1Call | undefined = undefined;
  /** Set once the connection has failed or closed; it is out of the pool for good. */
  dead = false;
  /** It has carried a request before this one (so it may be stale). */
  reused = false;
  /** Response bytes have arrived for the current request. */
  gotBytes = false;
  /** Connected (and for TLS, its handshake done): it can carry requests. */
  connected = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private buf: Buffer | undefined = undefined;
  private reader: BodyReader | undefined = undefined;
  private body: TaggedBody | undefined = undefined;
  private chunked = false;
  private requestDone = false;
  private closeAfter = false;
  private headRequest = false;
  /** When this connection, idle, must be retired (performance.now() ms). */
  idleDeadline = 0;
  private keepAliveMs: number;

  constructor(
    readonly pool: Http1Upstream,
    address: string,
    port: number,
    connectTimeoutMs: number,
    idleTimeoutMs: number,
    secure: UpstreamTls | undefined,
  ) {
    this.keepAliveMs = idleTimeoutMs;
    const { socket: opened, ready } = connectEndpoint(
      address,
      port,
      secure,
      ['http/1.1'],
      READ_INTO,
    );
    const socket = opened as TaggedSocket;
    this.socket = socket;
    socket[CONN] = this;
    // With TLS the connection is usable (and the connect timeout over) after the handshake.
    socket.on(ready, onSocketConnect);
    // Plain TCP reads into READ_INTO; TLS emits its plaintext as 'data'.
    if (ready === 'secureConnect') socket.on('data', onSocketData);
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
    socket.on('drain', onSocketDrain);
    this.connectTimer = setTimeout(onConnectTimeout, connectTimeoutMs, this);
  }

  /** Sends `call` on this connection (connected, and free). */
  start(call: H1Call): void {
    this.call = call;
    call.conn = this;
    this.gotBytes = false;
    this.requestDone = false;
    this.headRequest = call.opts.method === 'HEAD';
    if (call.paused) this.socket.pause();
    this.writeRequest(call.opts);
  }

  private writeRequest(opts: Dispatcher.DispatchOptions): void {
    const body = opts.body as Buffer | Readable | null | undefined;
    const headers = opts.headers as Record<string, string | string[] | undefined> | undefined;
    let head = `${opts.method} ${opts.path} HTTP/1.1\r\n`;
    let hasLength = false;
    if (headers) {
      for (const name in headers) {
        const v = headers[name];
        if (v === undefined) continue;
        if (name === 'content-length') hasLength = true;
        if (typeof v === 'string') head += `${name}: ${v}\r\n`;
        else for (const one of v) head += `${name}: ${one}\r\n`;
      }
    }
    const socket = this.socket;
    if (body === null || body === undefined) {
      batchWrite(socket, `${head}\r\n`);
      this.requestDone = true;
      return;
    }
    if (Buffer.isBuffer(body)) {
      if (!hasLength) head += `content-length: ${body.length}\r\n`;
      head += '\r\n';
      if (body.length <= COALESCE_LIMIT) {
        const out = Buffer.allocUnsafe(head.length + body.length);
        out.write(head, 0, 'latin1');
        body.copy(out, head.length);
        batchWrite(socket, out);
      } else {
        socket.cork();
        socket.write(head, 'latin1');
        socket.write(body);
        socket.uncork();
      }
      this.requestDone = true;
      return;
    }
    // A body still arriving: sent as it comes, chunked unless its length is known.
    this.chunked = !hasLength;
    socket.write(
      this.chunked ? `${head}transfer-encoding: chunked\r\n\r\n` : `${head}\r\n`,
      'latin1',
    );
    const stream = body as TaggedBody;
    this.body = stream;
    stream[CONN] = this;
    stream.on('data', onBodyData);
    stream.on('end', onBodyEnd);
    stream.on('error', onBodyError);
  }

  bodyData(chunk: Buffer): void {
    const socket = this.socket;
    let ok: boolean;
    if (this.chunked) {
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else ok = socket.write(chunk);
    if (!ok) this.body?.pause();
  }

  bodyEnd(): void {
    if (this.chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.detachBody();
    this.requestDone = true;
  }

  drained(): void {
    if (this.body?.isPaused()) this.body.resume();
  }

  private detachBody(): void {
    const body = this.body;
    if (!body) return;
    this.body = undefined;
    body[CONN] = undefined;
    body.off('data', onBodyData);
    body.off('end', onBodyEnd);
    body.off('error', onBodyError);
  }

  socketError(err: Error): void {
    // A TLS socket that fails before its handshake completes (a peer with the wrong identity,
    // an untrusted chain) never connected: a connect failure, as Envoy counts it.
    if (!this.connected && (this.socket as tls.TLSSocket).encrypted) {
      this.fail(new UpstreamError(TLS_HANDSHAKE, `TLS handshake failed: ${err.message}`), true);
      return;
    }
    this.fail(err, true);
  }

  connectedNow(): void {
    this.connected = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.pool.opened(this);
  }

  data(chunk: Buffer): void {
    const call = this.call;
    if (!call) {
      // Bytes nobody asked for on an idle connection: it cannot be trusted any more.
      this.fail(new UpstreamError(PROTOCOL_ERROR, 'unexpected data on an idle connection'), false);
      return;
    }
    this.gotBytes = true;
    if (this.reader) {
      this.readBody(chunk);
      return;
    }
    const buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = undefined;
    this.readHead(call, buf);
  }

  private readHead(call: H1Call, input: Buffer): void {
    let buf = input;
    for (;;) {
      const end = buf.indexOf(CRLF2);
      if (end < 0) {
        if (buf.length > MAX_HEAD) this.protocolError('response head too large');
        else this.buf = Buffer.from(buf); // a copy: `buf` may be the shared read buffer
        return;
      }
      let status: number;
      let headers: IncomingHttpHeaders;
      let close: boolean;
      try {
        ({ status, headers, close } = parseResponseHead(buf.toString('latin1', 0, end)));
      } catch (err) {
        this.protocolError((err as Error).message);
        return;
      }
      const rest = buf.subarray(end + 4);
      if (status < 200) {
        // 100 Continue and 103 Early Hints come before the real response: skip them. A 101
        // was never asked for (upgrades do not take this path).
        if (status === 101) {
          this.protocolError('unexpected 101 Switching Protocols');
          return;
        }
        if (rest.length === 0) return;
        buf = rest;
        continue;
      }
      let framing: Framing;
      if (this.headRequest || status === 204 || status === 304) framing = NO_BODY;
      else {
        try {
          framing = framingOf(headers, UNTIL_CLOSE);
        } catch (err) {
          this.protocolError((err as Error).message);
          return;
        }
      }
      if (close || framing.kind === 'close') this.closeAfter = true;
      const hint = headers['keep-alive'];
      if (hint !== undefined) this.keepAliveFrom(hint);
      this.reader = framing.kind === 'none' ? undefined : new BodyReader(framing);
      call.handler.onResponseStart?.(call, status, headers, '');
      if (this.call !== call) return; // the handler gave up on it
      if (!this.reader) {
        if (rest.length > 0) this.closeAfter = true; // bytes after a complete response
        this.finish(call, NO_TRAILERS);
      } else if (rest.length > 0) this.readBody(rest);
      return;
    }
  }

  private readBody(chunk: Buffer): void {
    const reader = this.reader!;
    let used: number;
    try {
      used = reader.read(chunk, 0, this);
    } catch (err) {
      this.protocolError((err as Error).message);
      return;
    }
    const call = this.call;
    if (reader.done && call) {
      if (used < chunk.length) this.closeAfter = true;
      this.finish(call, reader.trailers);
    }
  }

  onBody(chunk: Buffer): void {
    const call = this.call;
    // A copy: the chunk may be a view of the shared read buffer, and the handler may keep it
    // (a write still queued) past this call.
    if (call && !call.aborted) call.handler.onResponseData?.(call, Buffer.from(chunk));
  }

  /** The response is complete: give the connection back (or close it), then tell the handler. */
  private finish(call: H1Call, trailers: IncomingHttpHeaders): void {
    this.reader = undefined;
    this.call = undefined;
    call.conn = undefined;
    if (!this.requestDone) {
      // Answered before the request body was all sent: the connection is mid-message.
      this.detachBody();
      this.closeAfter = true;
    }
    if (this.closeAfter || !this.connected) this.fail(undefined, false);
    else {
      if (call.paused) this.socket.resume();
      this.reused = true;
      this.pool.release(this);
    }
    call.handler.onResponseEnd?.(call, trailers);
  }

  private protocolError(message: string): void {
    this.fail(
      new UpstreamError(PROTOCOL_ERROR, `invalid response from upstream: ${message}`),
      false,
    );
  }

  /** The upstream ended its side. Fine only for a body that runs until close. */
  ended(): void {
    const call = this.call;
    if (call && this.reader?.closed() && !this.buf) {
      this.closeAfter = true;
      this.finish(call, NO_TRAILERS);
      return;
    }
    this.fail(new UpstreamError(SOCKET_CLOSED, 'upstream closed the connection'), true);
  }

  /**
   * Takes the connection out of service. The request on it, if any, fails with `err`,
   * unless it can be sent once more on a new connection (a stale keep-alive connection).
   */
  fail(err: Error | undefined, mayResend: boolean): void {
    if (this.dead) return;
    this.dead = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    this.detachBody();
    this.reader = undefined;
    this.buf = undefined;
    const socket = this.socket;
    socket[CONN] = undefined;
    socket.destroy();
    // Never connected: the error is a connect failure, for the requests waiting on the pool.
    this.pool.gone(this, this.connected ? undefined : err);
    const call = this.call;
    this.call = undefined;
    if (!call || call.aborted || !err) return;
    call.conn = undefined;
    if (mayResend && this.reused && !this.gotBytes && !call.resent && resendable(call.opts)) {
      call.resent = true;
      this.pool.resend(call);
      return;
    }
    call.handler.onResponseError?.(call, err);
  }

  private keepAliveFrom(hint: string | string[]): void {
    const m = KEEP_ALIVE_TIMEOUT.exec(String(hint));
    if (!m) return;
    const ms = Number(m[1]) * 1000 - KEEP_ALIVE_MARGIN_MS;
    if (ms <= 0) this.closeAfter = true;
    else if (ms < this.keepAliveMs) this.keepAliveMs = ms;
  }

  /** Marks the connection idle from now. */
  idleFrom(now: number): void {
    this.idleDeadline = now + this.keepAliveMs;
  }
}

function resendable(opts: Dispatcher.DispatchOptions): boolean {
  const body = opts.body;
  return (
    IDEMPOTENT.has(opts.method) && (body === null || body === undefined || Buffer.isBuffer(body))
  );
}

function onSocketConnect(this: TaggedSocket): void {
  this[CONN]?.connectedNow();
}
function onSocketData(this: TaggedSocket, chunk: Buffer): void {
  this[CONN]?.data(chunk);
}
function onSocketRead(this: TaggedSocket, nread: number, buf: Buffer): boolean {
  this[CONN]?.data(buf.subarray(0, nread));
  return true;
}
/**
 * Where every plain upstream connection's reads land: one buffer, since each read is
 * handled before the next (what is kept past the callback is copied out).
 */
const READ_INTO: net.OnReadOpts = { buffer: Buffer.allocUnsafe(64 * 1024), callback: onSocketRead };
function onSocketEnd(this: TaggedSocket): void {
  this[CONN]?.ended();
}
function onSocketClose(this: TaggedSocket): void {
  this[CONN]?.fail(new UpstreamError(SOCKET_CLOSED, 'upstream connection closed'), true);
}
function onSocketError(this: TaggedSocket, err: Error): void {
  // Refused, reset, unreachable: the socket's own error code says which.
  this[CONN]?.socketError(err);
}
function onSocketDrain(this: TaggedSocket): void {
  this[CONN]?.drained();
}
function onConnectTimeout(conn: H1Connection): void {
  conn.fail(new UpstreamError(CONNECT_TIMEOUT, 'connect timeout'), false);
}
function onBodyData(this: TaggedBody, chunk: Buffer): void {
  this[CONN]?.bodyData(chunk);
}
function onBodyEnd(this: TaggedBody): void {
  this[CONN]?.bodyEnd();
}
function onBodyError(this: TaggedBody, err: Error): void {
  this[CONN]?.fail(err, false);
}
function sweep(pool: Http1Upstream): void {
  pool.sweep();
}

export class Http1Upstream {
  private readonly idle: H1Connection[] = [];
  /** Requests waiting for a connection, oldest first (never an aborted one). */
  private readonly waiting: H1Call[] = [];
  /** Every open connection: opening, busy or idle. */
  private readonly all = new Set<H1Connection>();
  /** Connections opening (TCP connect, TLS handshake): each will take a waiting request. */
  private opening = 0;
  private closing = false;
  private closed: (() => void) | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly maxConnections: number;
  private readonly maxPending: number;
  private readonly idleTimeoutMs: number;

  constructor(
    private readonly address: string,
    private readonly port: number,
    private readonly options: Http1UpstreamOptions,
  ) {
    this.maxConnections = options.maxConnections ?? 1024;
    this.maxPending = options.maxPending ?? 1024;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const call = new H1Call(this, handler, opts);
    handler.onRequestStart?.(call, {});
    if (call.aborted) return true;
    if (this.closing) {
      call.abort(new UpstreamError(SOCKET_CLOSED, 'upstream pool closed'));
      return false;
    }
    const conn = this.takeIdle();
    if (conn) conn.start(call);
    else if (this.waiting.length < this.maxPending) {
      this.waiting.push(call);
      this.openForWaiting();
    } else call.abort(new UpstreamError(OVERFLOW, 'too many requests waiting for a connection'));
    return true;
  }

  /**
   * A request met a stale keep-alive connection: it goes first in line, and a new connection
   * is opened for it (the other idle ones may be as stale).
   */
  resend(call: H1Call): void {
    this.waiting.unshift(call);
    this.openForWaiting();
  }

  /** A waiting request was aborted: it leaves the line. */
  forget(call: H1Call): void {
    const at = this.waiting.indexOf(call);
    if (at >= 0) this.waiting.splice(at, 1);
  }

  /** Opens connections until every waiting request has one opening for it, within the limit. */
  private openForWaiting(): void {
    if (this.closing) return;
    while (this.opening < this.waiting.length && this.all.size < this.maxConnections) {
      this.connect();
    }
  }

  private connect(): H1Connection {
    this.opening++;
    const conn = new H1Connection(
      this,
      this.address,
      this.port,
      this.options.connectTimeoutMs,
      this.idleTimeoutMs,
      this.options.tls,
    );
    this.all.add(conn);
    return conn;
  }

  private takeIdle(): H1Connection | undefined {
    const idle = this.idle;
    if (idle.length === 0) return undefined;
    const now = performance.now();
    for (let conn = idle.pop(); conn; conn = idle.pop()) {
      if (now < conn.idleDeadline) return conn;
      conn.fail(undefined, false);
    }
    return undefined;
  }

  /** A new connection is ready: it takes the oldest waiting request, or waits idle. */
  opened(conn: H1Connection): void {
    this.opening--;
    this.release(conn);
  }

  /** A connection finished its request (or has just opened) and can carry another. */
  release(conn: H1Connection): void {
    const next = this.nextWaiting();
    if (next) {
      conn.start(next);
      return;
    }
    if (this.closing) {
      conn.fail(undefined, false);
      return;
    }
    conn.idleFrom(performance.now());
    this.idle.push(conn);
    if (!this.sweeper) {
      this.sweeper = setInterval(sweep, SWEEP_INTERVAL_MS, this);
      this.sweeper.unref();
    }
  }

  /**
   * A connection is out of service for good; `connectError` when it never connected. A
   * connect failure fails the waiting requests that no connection still opening will carry
   * (the oldest first), as Envoy purges its pending requests, so the exchange can retry them
   * elsewhere; any other loss opens a replacement for those waiting.
   */
  gone(conn: H1Connection, connectError?: Error): void {
    if (!this.all.delete(conn)) return;
    if (!conn.connected) this.opening--;
    const at = this.idle.indexOf(conn);
    if (at >= 0) this.idle.splice(at, 1);
    if (connectError) {
      while (this.waiting.length > this.opening) {
        const call = this.waiting.shift()!;
        call.aborted = true;
        call.handler.onResponseError?.(call, connectError);
      }
    } else this.openForWaiting();
    if (this.all.size === 0) {
      this.stopSweeping();
      this.closed?.();
    }
  }

  private nextWaiting(): H1Call | undefined {
    return this.waiting.shift();
  }

  /** Retires idle connections past their deadline. */
  sweep(): void {
    const now = performance.now();
    for (const conn of [...this.idle]) if (now >= conn.idleDeadline) conn.fail(undefined, false);
    if (this.idle.length === 0) this.stopSweeping();
  }

  private stopSweeping(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /** Connections open now (busy or idle). */
  get connections(): number {
    return this.all.size;
  }

  /** Closes idle connections now and busy ones once their response is complete. */
  close(): Promise<void> {
    this.closing = true;
    for (const conn of [...this.idle]) conn.fail(undefined, false);
    if (this.all.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.closed = resolve;
    });
  }

  async destroy(): Promise<void> {
    this.closing = true;
    const err = new UpstreamError(SOCKET_CLOSED, 'upstream pool destroyed');
    for (const call of this.waiting.splice(0)) if (!call.aborted) call.abort(err);
    for (const conn of [...this.idle]) conn.fail(undefined, false);
    // Busy connections: failing them fails their requests.
    for (const conn of [...this.all]) conn.fail(err, false);
  }
}
