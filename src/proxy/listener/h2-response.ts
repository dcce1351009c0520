/**
 * The response side of a downstream HTTP/2 stream, on node's core stream API: what the data
 * path uses of node's Http2ServerResponse (writeHead, write, end, addTrailers, headersSent,
 * destroy, 'close' and 'drain'), with its checks of the fields, in an object that is not a
 * stream itself. A head with a body to follow asks nghttp2 to wait for trailers, as the
 * compatibility layer does, even when none come: the body's end is then a frame of its own,
 * so a stream reset before it (an upstream cut the body short) is never preceded by
 * END_STREAM, which a client would take for a complete (if short) response.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import { isToken } from '../http1/index.js';

const RESPONSE = Symbol('ferry.h2.response');
type Tagged = ServerHttp2Stream & { [RESPONSE]?: H2Response };
type Listener = (this: H2Response) => void;

/** A response field node's HTTP/2 layer would refuse (the compatibility layer's errors). */
export class H2FieldError extends TypeError {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Checks and copies the fields of a head or trailers as Http2ServerResponse.setHeader does,
 * leaving out the names in `skip` (and pseudo-headers with them), so that an upstream's
 * headers are passed as they are, without a filtered copy first.
 */
function checkedFields(
  fields: OutgoingHttpHeaders | undefined,
  skip: ReadonlySet<string> | undefined,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  if (fields === undefined) return out;
  for (const key in fields) {
    if (skip !== undefined && (key.charCodeAt(0) === 58 /* ':' */ || skip.has(key))) continue;
    const value = fields[key];
    const name = key.trim().toLowerCase();
    if (name === '' || name.includes(' ') || !isToken(name))
      throw new H2FieldError('ERR_INVALID_HTTP_TOKEN', `header name must be a token: "${name}"`);
    if (name.charCodeAt(0) === 58 /* ':' */)
      throw new H2FieldError('ERR_HTTP2_PSEUDOHEADER_NOT_ALLOWED', `"${name}" is a pseudo-header`);
    if (value === undefined || value === null)
      throw new H2FieldError('ERR_HTTP2_INVALID_HEADER_VALUE', `no value for header "${name}"`);
    // RFC 9113 §8.2.2: no connection-specific fields; node drops Connection (but "trailers").
    if (name === 'connection' && value !== 'trailers') continue;
    out[name] = value;
  }
  return out;
}

export class H2Response {
  /** The status end() sends when writeHead was not called. */
  statusCode = 200;
  private ending = false;
  private closed = false;
  private destroyed = false;
  private trailers: OutgoingHttpHeaders | undefined = undefined;
  private onClose: Listener | undefined = undefined;
  private onDrain: Listener | undefined = undefined;

  constructor(readonly stream: ServerHttp2Stream) {
    (stream as Tagged)[RESPONSE] = this;
    stream.on('close', onStreamClose);
  }

  get headersSent(): boolean {
    return this.stream.headersSent;
  }

  /** Calls `listener` once, at the stream's close or its next 'drain'. */
  once(event: 'close' | 'drain', listener: Listener): this {
    if (event === 'close') this.onClose = listener;
    else {
      this.onDrain = listener;
      this.stream.once('drain', onStreamDrain);
    }
    return this;
  }

  writeHead(status: number, fields?: OutgoingHttpHeaders, skip?: ReadonlySet<string>): this {
    const stream = this.stream;
    if (this.closed || stream.destroyed || stream.closed) return this;
    if (stream.headersSent)
      throw new H2FieldError('ERR_HTTP2_HEADERS_SENT', 'response has already been initiated');
    const out = checkedFields(fields, skip);
    out[':status'] = status;
    this.statusCode = status;
    const ending = this.ending;
    stream.respond(out, { endStream: ending, waitForTrailers: !ending });
    // 'wantTrailers' comes once: `on` spares the wrapper `once` makes.
    if (!ending) stream.on('wantTrailers', onWantTrailers);
    return this;
  }

  write(chunk: Buffer | string): boolean {
    if (this.destroyed) return false;
    if (this.ending || this.closed) {
      // As node's response: a write after the end (or the stream's close) resets the stream.
      this.destroy();
      return false;
    }
    if (!this.stream.headersSent) this.writeHead(this.statusCode);
    return this.stream.write(chunk);
  }

  end(chunk?: Buffer | string): this {
    if (this.closed || this.ending) return this;
    const stream = this.stream;
    if (chunk !== undefined) this.write(chunk);
    this.ending = true;
    if (!stream.headersSent) this.writeHead(this.statusCode);
    if (stream.destroyed) onStreamClose.call(stream as Tagged);
    else stream.end();
    return this;
  }

  /** Trailers sent once the body ends. */
  addTrailers(fields: OutgoingHttpHeaders): void {
    this.trailers = { ...this.trailers, ...checkedFields(fields, undefined) };
  }

  /** 100 Continue, before the head. */
  writeContinue(): void {
    if (!this.stream.headersSent && !this.closed) this.stream.additionalHeaders({ ':status': 100 });
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    // With an error, so that the client is sent RST_STREAM(INTERNAL_ERROR), as node's
    // response does, not a clean end.
    this.stream.destroy(new H2FieldError('ERR_HTTP2_STREAM_RESET', 'response destroyed'));
  }

  /** The stream closed: the response's 'close', once. */
  streamClosed(): void {
    this.closed = true;
    const listener = this.onClose;
    this.onClose = undefined;
    listener?.call(this);
  }

  drained(): void {
    const listener = this.onDrain;
    this.onDrain = undefined;
    listener?.call(this);
  }

  sendTrailers(): void {
    this.stream.sendTrailers(this.trailers ?? {});
  }
}

function onStreamClose(this: Tagged): void {
  const res = this[RESPONSE];
  if (res === undefined) return;
  this[RESPONSE] = undefined;
  res.streamClosed();
}

function onStreamDrain(this: Tagged): void {
  this[RESPONSE]?.drained();
}

function onWantTrailers(this: Tagged): void {
  this[RESPONSE]?.sendTrailers();
}
