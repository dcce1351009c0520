/**
 * The request side of a downstream HTTP/2 stream, on node's core stream API rather than its
 * compatibility layer (Http2ServerRequest): the fields the data path reads (method, url,
 * headers, rawHeaders, httpVersion, socket, the stream and its session) in a plain object,
 * and the body as a Readable only when the request has one. The compatibility layer makes a
 * Readable and a Stream per request and listens for eight events on the stream whether or
 * not there is a body; a GET through the gateway paid for all of it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';

const BODY = Symbol('ferry.h2.body');
type Tagged = ServerHttp2Stream & { [BODY]?: H2Body };

/**
 * A request body read from its stream as node's compatibility layer reads it: the stream's
 * data is pushed (the stream paused while the reader waits), its end or close ends the body,
 * and a body nobody reads is drained once the stream closes.
 */
export class H2Body extends Readable {
  private didRead = false;
  private gone = false;
  constructor(readonly stream: ServerHttp2Stream) {
    super({ autoDestroy: false });
    (stream as Tagged)[BODY] = this;
    stream.on('end', onStreamEnd);
    stream.on('close', onStreamClose);
    this.on('pause', onBodyPause);
    this.on('resume', onBodyResume);
  }

  override _read(): void {
    if (this.gone) return;
    if (!this.didRead) {
      this.didRead = true;
      this.stream.on('data', onStreamData);
    } else process.nextTick(resumeStream, this.stream);
  }

  /** The stream closed: whatever was not pushed will not come (the exchange sees the close). */
  streamClosed(): void {
    this.gone = true;
    this.push(null);
    // A body nobody read is drained, so that the stream can go (as HTTP/1.1 dumps it).
    if (!this.didRead && !this.readableFlowing) this.resume();
  }
}

function onStreamData(this: Tagged, chunk: Buffer): void {
  const body = this[BODY];
  if (body !== undefined && !body.push(chunk)) this.pause();
}

function onStreamEnd(this: Tagged): void {
  this[BODY]?.push(null);
}

function onStreamClose(this: Tagged): void {
  const body = this[BODY];
  if (body === undefined) return;
  this[BODY] = undefined;
  body.streamClosed();
}

function onBodyPause(this: H2Body): void {
  this.stream.pause();
}

function onBodyResume(this: H2Body): void {
  this.stream.resume();
}

function resumeStream(stream: ServerHttp2Stream): void {
  stream.resume();
}

/** A downstream HTTP/2 request as the data path sees it. */
export class H2Request {
  readonly method: string;
  readonly url: string;
  readonly httpVersion = '2.0';
  /** The body, when the client did not end the stream with its headers. */
  readonly body: H2Body | null;
  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
    readonly rawHeaders: string[],
  ) {
    this.method = headers[':method'] as string;
    this.url = headers[':path'] as string;
    this.body = stream.endAfterHeaders ? null : new H2Body(stream);
  }

  /** The connection's socket (node's proxy of it), for its addresses. */
  get socket(): Socket | undefined {
    return this.stream.session?.socket as Socket | undefined;
  }
}
