/**
 * The HTTP/1.1 fast path: one downstream connection parsed by hand for the common case
 * (RFC 9112 request heads, Content-Length or chunked bodies, keep-alive), so a request costs
 * a small request object and a FastResponse instead of node's IncomingMessage and
 * ServerResponse. Requests are served one at a time; pipelined bytes wait in the buffer, and
 * once more than maxPipelinedBytes wait the socket is no longer read until the response under
 * way is done (backpressure to the client, not memory). The head is looked for in the new
 * bytes only, so a head that arrives a byte at a time costs no rescans.
 * Anything unusual (Upgrade, CONNECT, Expect, HTTP/1.0) is handed, at a request boundary
 * and with its bytes put back, to node's own HTTP server, which then owns the connection.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { FAILURE, FailureError, plainReplyFields } from '../failure/index.js';
import { LIMIT, type LimitName } from '../listener/limits.js';
import { BodyReader, type BodySink } from './body-reader.js';
import { FastResponse, type ResponseOwner } from './fast-response.js';
import {
  CRLF2,
  framingOf,
  HeadError,
  isRequestTarget,
  isToken,
  NO_BODY,
  parseHeaderBlock,
  wantsClose,
} from './response-head.js';

/** The request as the data path sees it: the fields of IncomingMessage it reads. */
export interface FastRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly httpVersion: string;
  readonly socket: Socket;
  /** The body: none, all of it (it arrived with the head), or a stream of what follows. */
  readonly body: Buffer | PassThrough | null;
}

export type FastHandler = (req: FastRequest, res: FastResponse) => void;

export interface FastOptions {
  /** Largest request head; beyond it the answer is 431. Default 60 KiB (Envoy's). */
  readonly maxHeadBytes?: number;
  /** Most header fields in a head; beyond it the answer is 431. Default 100 (Envoy's). */
  readonly maxHeaders?: number;
  /** Bytes read ahead of a request being answered before the socket is paused (60 KiB). */
  readonly maxPipelinedBytes?: number;
  /** Counts a limit acting (a head too large, too many fields, reading paused). */
  readonly limitHit?: (limit: LimitName) => void;
  /** Takes over a connection the fast path does not serve, with its unread bytes put back. */
  readonly handOff: (socket: Socket) => void;
  /** Counts a request refused as malformed (400, 431, 501, 505: DPE). */
  readonly refused?: () => void;
}

const CONN = Symbol('ferry.fast.connection');
/** HTTP-version (RFC 9112 §2.3); anything else in its place is a malformed request line. */
const HTTP_VERSION = /^HTTP\/\d\.\d$/;

/** Whether an (incomplete) head has a line ending in LF without CR, from `from` on. */
function hasBareLf(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(10, from); i >= 0; i = buf.indexOf(10, i + 1)) {
    if (i === 0 || buf[i - 1] !== 13) return true;
  }
  return false;
}
type Tagged = Socket & { [CONN]?: FastConnection };
type TaggedStream = PassThrough & { [CONN]?: FastConnection };

/** A request body that breaks HTTP/1.1's framing rules: the exchange answers 400 (DPE). */
export class DownstreamProtocolError extends FailureError {
  constructor(message: string) {
    super(FAILURE.DOWNSTREAM_PROTOCOL_ERROR, message);
  }
}

export class FastConnection implements ResponseOwner, BodySink {
  private draining = false;
  /** A request's body was malformed: nothing more is read from this connection. */
  private broken = false;
  private buf: Buffer | undefined;
  private response: FastResponse | undefined;
  private reader: BodyReader | undefined;
  private stream: PassThrough | undefined;
  private readonly maxHead: number;
  private readonly maxHeaders: number;
  private readonly maxPipelined: number;
  /** How far the buffer was searched for the end of the head (CRLFCRLF) already. */
  private scanned = 0;
  /** The socket is paused because too many bytes wait behind the request under way. */
  private pipelinePaused = false;
  /** A serveNext is scheduled (the next pipelined request is parsed on the next turn). */
  private servePending = false;
  /** The fast path no longer owns the socket (node's server does). */
  private handedOff = false;
  /**
   * When the connection last became idle or began a head (Date.now()): the listener's
   * timeout sweep reads it, so a request costs a field write rather than a timer.
   */
  private since = Date.now();

  constructor(
    readonly socket: Socket,
    private readonly handler: FastHandler,
    private readonly options: FastOptions,
  ) {
    this.maxHead = options.maxHeadBytes ?? 60 * 1024;
    this.maxHeaders = options.maxHeaders ?? 100;
    this.maxPipelined = options.maxPipelinedBytes ?? 60 * 1024;
    (socket as Tagged)[CONN] = this;
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('drain', onDrain);
    socket.on('error', onError);
  }

  data(chunk: Buffer): void {
    if (this.broken) return;
    if (this.reader && this.stream) {
      // A request body still arriving.
      const end = this.readBody(chunk, 0);
      if (end < chunk.length) this.buf = chunk.subarray(end);
      return;
    }
    const buf = this.buf;
    if (buf === undefined) {
      // The first bytes of a head: the header-read timeout starts now.
      if (!this.response) this.since = Date.now();
      this.buf = chunk;
    } else this.buf = Buffer.concat([buf, chunk]);
    if (!this.response) this.next();
    const left = this.buf;
    if (
      left !== undefined &&
      left.length > this.maxPipelined &&
      (this.response !== undefined || this.servePending) &&
      !this.pipelinePaused
    ) {
      // The client sends requests faster than they are answered: stop reading until those
      // waiting are served, rather than hold whatever it sends. (Never while a head is still
      // incomplete with nothing under way: that head needs its remaining bytes.)
      this.pipelinePaused = true;
      this.socket.pause();
      this.options.limitHit?.(LIMIT.PIPELINE_PAUSED);
    }
  }

  /**
   * Which timeout this connection is past, if any: the header-read timeout while a head is
   * incomplete, the idle timeout while nothing is under way. None while a request is being
   * served (the route's timeouts govern that) or once node's server has the socket.
   */
  expired(now: number, headersMs: number, idleMs: number): LimitName | undefined {
    if (this.response || this.stream || this.handedOff || this.socket.destroyed) return undefined;
    if (this.buf !== undefined) {
      return now - this.since >= headersMs ? LIMIT.HEADERS_TIMEOUT : undefined;
    }
    return now - this.since >= idleMs ? LIMIT.IDLE_TIMEOUT : undefined;
  }

  /** Parses and serves the next request in the buffer, if it is complete. */
  private next(): void {
    let buf = this.buf;
    // Once this side has ended the connection (drain, Connection: close), a request that
    // still arrives is not served: it could only be sent upstream and its answer lost. The
    // client sees the connection close unanswered, which tells it the request was not taken.
    if (!buf || this.response || this.socket.destroyed || this.socket.writableEnded) return;
    if (buf[0] === 13 && buf[1] === 10) {
      // RFC 9112 §2.2: empty lines before a request line are ignored (a client may send a
      // CRLF after a POST body), as llhttp ignores them.
      let skip = 2;
      while (buf[skip] === 13 && buf[skip + 1] === 10) skip += 2;
      buf = skip < buf.length ? buf.subarray(skip) : undefined;
      this.buf = buf;
      this.scanned = this.scanned > skip ? this.scanned - skip : 0;
      if (!buf) {
        this.resumeReading();
        return;
      }
    }
    // Only the bytes not searched yet (and the three before them, where a CRLFCRLF split
    // across reads begins).
    const from = this.scanned > 3 ? this.scanned - 3 : 0;
    const end = buf.indexOf(CRLF2, from);
    if (end < 0) {
      if (buf.length > this.maxHead) {
        this.options.limitHit?.(LIMIT.HEAD_TOO_LARGE);
        this.reject(431, 'request header fields too large');
      }
      // A head whose lines end in a bare LF never shows a CRLFCRLF: answer it now rather
      // than wait in silence (RFC 9112 §2.2 lets a recipient refuse bare LF; node does).
      else if (hasBareLf(buf, from)) this.reject(400, 'bare LF in request head');
      else {
        this.scanned = buf.length;
        // The rest of this head is needed: read again if pipelining had paused reading.
        this.resumeReading();
      }
      return;
    }
    this.scanned = 0;
    if (end > this.maxHead) {
      this.options.limitHit?.(LIMIT.HEAD_TOO_LARGE);
      this.reject(431, 'request header fields too large');
      return;
    }
    let method: string;
    let url: string;
    let version: string;
    const headers: IncomingHttpHeaders = {};
    try {
      const head = buf.toString('latin1', 0, end);
      let eol = head.indexOf('\r\n');
      if (eol < 0) eol = head.length;
      const sp1 = head.indexOf(' ');
      const sp2 = head.lastIndexOf(' ', eol);
      if (sp1 <= 0 || sp1 > eol || sp2 <= sp1) throw new HeadError(400, 'malformed request line');
      method = head.slice(0, sp1);
      url = head.slice(sp1 + 1, sp2);
      version = head.slice(sp2 + 1, eol);
      if (!isToken(method) || !isRequestTarget(url)) {
        throw new HeadError(400, 'malformed request line');
      }
      if (version !== 'HTTP/1.1') {
        if (version === 'HTTP/1.0') {
          this.handOff();
          return;
        }
        if (!HTTP_VERSION.test(version)) throw new HeadError(400, 'malformed request line');
        throw new HeadError(505, 'HTTP version not supported');
      }
      if (eol < head.length) parseHeaderBlock(head, eol + 2, headers, this.maxHeaders);
    } catch (err) {
      const e = err as HeadError;
      if (e.status === 431) this.options.limitHit?.(LIMIT.TOO_MANY_HEADERS);
      this.reject(e.status ?? 400, e.message);
      return;
    }
    if (method === 'CONNECT' || headers.upgrade !== undefined || headers.expect !== undefined) {
      this.handOff();
      return;
    }
    if (headers.host === undefined) {
      this.reject(400, 'missing Host header');
      return;
    }
    let framing: ReturnType<typeof framingOf>;
    try {
      framing = framingOf(headers, NO_BODY);
    } catch (err) {
      const e = err as HeadError;
      this.reject(e.status, e.message);
      return;
    }
    const start = end + 4;
    let body: Buffer | PassThrough | null = null;
    let rest: Buffer | undefined = buf.length > start ? buf.subarray(start) : undefined;
    if (framing.kind === 'length' && rest && rest.length >= framing.length) {
      // The whole body came with the head: hand it over as one buffer.
      body = rest.subarray(0, framing.length);
      rest = rest.length > framing.length ? rest.subarray(framing.length) : undefined;
    } else if (framing.kind !== 'none') {
      body = new PassThrough();
      // The body fails when the client goes away mid-body or breaks the chunked framing;
      // whoever reads it (the upstream request) sees that too, but a body nobody reads (a
      // local reply, an upstream that answered early) must not take the process down.
      body.on('error', ignoreBodyError);
      this.stream = body;
      this.reader = new BodyReader(framing);
    }
    this.buf = undefined;
    const res = new FastResponse(
      this,
      method === 'HEAD',
      this.draining || wantsClose(headers.connection as string | undefined),
    );
    this.response = res;
    const req: FastRequest = {
      method,
      url,
      headers,
      httpVersion: '1.1',
      socket: this.socket,
      body,
    };
    if (this.reader && rest) {
      const used = this.readBody(rest, 0);
      rest = used < rest.length ? rest.subarray(used) : undefined;
    }
    this.buf = rest;
    if (rest === undefined || rest.length <= this.maxPipelined) this.resumeReading();
    this.handler(req, res);
  }

  /** Reads the socket again once the bytes waiting are few enough. */
  private resumeReading(): void {
    if (!this.pipelinePaused) return;
    this.pipelinePaused = false;
    // A socket also paused for a request body's backpressure resumes on that body's drain.
    if (!this.stream?.writableNeedDrain) this.socket.resume();
  }

  private readBody(chunk: Buffer, from: number): number {
    const reader = this.reader!;
    let used: number;
    try {
      used = reader.read(chunk, from, this);
    } catch (err) {
      // The request is under way with a body that cannot be read: fail the body (the
      // exchange answers 400 if the response has not started) and read nothing more from
      // this connection, which closes after that response.
      const stream = this.stream;
      this.stream = undefined;
      this.reader = undefined;
      this.buf = undefined;
      this.broken = true;
      const res = this.response;
      if (res && !res.headersSent) res.close = true;
      stream?.destroy(new DownstreamProtocolError((err as Error).message));
      if (!res) this.socket.destroy();
      return chunk.length;
    }
    if (reader.done) {
      const paused = this.stream?.writableNeedDrain === true;
      this.stream?.end();
      this.stream = undefined;
      this.reader = undefined;
      // The body is complete: stop holding the socket back for it. A stream that is ending
      // never emits 'drain', so a socket paused for the last chunk would stay paused and
      // the next request on this connection would never be read.
      if (paused) this.socket.resume();
    }
    return used;
  }

  onBody(chunk: Buffer): void {
    const stream = this.stream;
    if (stream && !stream.write(chunk)) {
      this.socket.pause();
      (stream as TaggedStream)[CONN] = this;
      stream.once('drain', onBodyDrain);
    }
  }

  bodyDrained(): void {
    this.socket.resume();
  }

  responseDone(res: FastResponse, close: boolean): void {
    if (this.response !== res) return;
    this.response = undefined;
    this.since = Date.now();
    if (close || this.stream || this.broken) {
      // The client asked to close, or its body is still arriving: end the connection.
      this.socket.end();
      return;
    }
    if (this.buf) {
      this.servePending = true;
      setImmediate(serveNext, this);
    } else this.resumeReading();
  }

  serveNext(): void {
    this.servePending = false;
    this.next();
  }

  /**
   * Graceful drain: an idle connection closes now; a busy one answers its current
   * request with Connection: close and then closes.
   */
  drain(): void {
    this.draining = true;
    const res = this.response;
    if (!res) this.socket.end();
    else if (!res.headersSent) res.close = true;
  }

  closed(): void {
    this.stream?.destroy(new Error('downstream closed'));
    const res = this.response;
    this.response = undefined;
    if (res && !res.finished) res.emit('close');
  }

  drained(): void {
    this.response?.emit('drain');
  }

  /** Refuses a malformed request (400, 431, 501, 505), as the failure table says: DPE. */
  private reject(status: number, message: string): void {
    this.options.refused?.();
    const res = new FastResponse(this, false, true);
    this.response = res;
    this.buf = undefined;
    this.scanned = 0;
    const body = `${message}\n`;
    res.writeHead(
      status,
      plainReplyFields(Buffer.byteLength(body), FAILURE.DOWNSTREAM_PROTOCOL_ERROR.flag),
    );
    res.end(body);
  }

  private handOff(): void {
    const socket = this.socket;
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('drain', onDrain);
    socket.off('error', onError);
    (socket as Tagged)[CONN] = undefined;
    this.handedOff = true;
    if (this.buf) socket.unshift(this.buf);
    this.buf = undefined;
    this.options.handOff(socket);
  }
}

function onData(this: Tagged, chunk: Buffer): void {
  this[CONN]?.data(chunk);
}
function onClose(this: Tagged): void {
  this[CONN]?.closed();
}
function onDrain(this: Tagged): void {
  this[CONN]?.drained();
}
function onError(this: Tagged): void {
  this.destroy();
}
function onBodyDrain(this: TaggedStream): void {
  this[CONN]?.bodyDrained();
}
function ignoreBodyError(): void {}
function serveNext(c: FastConnection): void {
  c.serveNext();
}

/** Serves a socket with the fast path; `first` is what was already read from it. */
export function serveFast(
  socket: Socket,
  handler: FastHandler,
  options: FastOptions,
  first?: Buffer,
): FastConnection {
  const conn = new FastConnection(socket, handler, options);
  if (first) conn.data(first);
  return conn;
}
