/**
 * HTTP/2 (h2c) to one upstream endpoint with node's http2 client: one multiplexed session,
 * reopened when it goes away. It speaks undici's dispatch contract, like the HTTP/1.1
 * pools, so the exchange above does not know which it has. undici's own h2c client is not
 * used for gRPC: it drops response trailers (grpc-status) when the stream's end is seen
 * before them, and cannot send request trailers.
 */
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { CONNECT_TIMEOUT, REFUSED_STREAM, SOCKET_CLOSED, UpstreamError } from './upstream-error.js';
import type { UpstreamTls } from './upstream-pools.js';

const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

type Handler = Dispatcher.DispatchHandler;

/** One request as a stream; the controller undici handlers expect. */
class H2Call implements Dispatcher.DispatchController {
  aborted = false;
  paused = false;
  reason: Error | null = null;
  responded = false;
  trailers: Record<string, string | string[]> = {};
  constructor(
    /** Absent when the stream could not even be opened (the session was already gone). */
    readonly stream: http2.ClientHttp2Stream | undefined,
    readonly handler: Handler,
  ) {}
  abort(reason: Error): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    if (this.stream && !this.stream.destroyed) this.stream.close(NGHTTP2_CANCEL);
    this.handler.onResponseError?.(this, reason);
  }
  pause(): void {
    this.paused = true;
    this.stream?.pause();
  }
  resume(): void {
    this.paused = false;
    this.stream?.resume();
  }
}

const CALL = Symbol('ferry.h2.call');
type Tagged = http2.ClientHttp2Stream & { [CALL]?: H2Call };

function onResponse(
  this: Tagged,
  headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader,
): void {
  const call = this[CALL];
  if (!call || call.aborted) return;
  const status = Number(headers[':status']);
  if (status < 200) return;
  call.responded = true;
  const out: Record<string, string | string[] | undefined> = {};
  for (const name in headers) if (name.charCodeAt(0) !== 58) out[name] = headers[name];
  call.handler.onResponseStart?.(call, status, out, '');
}

function onData(this: Tagged, chunk: Buffer): void {
  const call = this[CALL];
  if (call && !call.aborted) call.handler.onResponseData?.(call, chunk);
}

function onTrailers(this: Tagged, trailers: http2.IncomingHttpHeaders): void {
  const call = this[CALL];
  if (call) call.trailers = trailers as Record<string, string | string[]>;
}

function onClose(this: Tagged): void {
  const call = this[CALL];
  this[CALL] = undefined;
  if (!call || call.aborted) return;
  if (this.rstCode === NGHTTP2_NO_ERROR && call.responded) {
    call.handler.onResponseEnd?.(call, call.trailers);
    return;
  }
  const code = this.rstCode;
  const reason =
    code === http2.constants.NGHTTP2_REFUSED_STREAM
      ? new UpstreamError(REFUSED_STREAM, 'stream refused (NGHTTP2_REFUSED_STREAM)')
      : new UpstreamError(SOCKET_CLOSED, `stream closed (code ${code})`);
  call.handler.onResponseError?.(call, reason);
}

function onError(this: Tagged, err: Error): void {
  const call = this[CALL];
  this[CALL] = undefined;
  if (call && !call.aborted) call.handler.onResponseError?.(call, err);
}

export interface Http2UpstreamOptions {
  readonly connectTimeoutMs: number;
  /** mTLS to the endpoint (it runs a sidecar); the origin is then https://. */
  readonly tls?: UpstreamTls;
}

export class Http2Upstream {
  private session: http2.ClientHttp2Session | undefined;

  constructor(
    private readonly origin: string,
    private readonly options: Http2UpstreamOptions,
  ) {}

  private connect(): http2.ClientHttp2Session {
    const live = this.session;
    if (live && !live.closed && !live.destroyed) return live;
    const secure = this.options.tls;
    const session = http2.connect(this.origin, {
      settings: { enablePush: false },
      ...(secure && {
        secureContext: secure.context(),
        ALPNProtocols: ['h2'],
        servername: secure.servername,
        checkServerIdentity: secure.verify,
      }),
    });
    this.session = session;
    const timer = setTimeout(() => {
      if (!session.connecting) return;
      session.destroy(new UpstreamError(CONNECT_TIMEOUT, 'connect timeout'));
    }, this.options.connectTimeoutMs);
    session.once('connect', () => clearTimeout(timer));
    const forget = () => {
      clearTimeout(timer);
      if (this.session === session) this.session = undefined;
    };
    session.once('close', forget);
    session.once('goaway', forget);
    session.on('error', forget);
    return session;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: Handler): boolean {
    const body = opts.body as Buffer | Readable | null | undefined;
    const src = (opts.headers ?? {}) as Record<string, string | string[]>;
    const headers: http2.OutgoingHttpHeaders = {
      ':method': opts.method,
      ':path': opts.path,
      ':scheme': this.options.tls ? 'https' : 'http',
    };
    for (const name in src) {
      if (name === 'host') headers[':authority'] = src[name];
      else headers[name] = src[name];
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.connect().request(headers, { endStream: body === null || body === undefined });
    } catch (err) {
      handler.onResponseError?.(new H2Call(undefined, handler), err as Error);
      return false;
    }
    const call = new H2Call(stream, handler);
    (stream as Tagged)[CALL] = call;
    stream.on('response', onResponse);
    stream.on('data', onData);
    stream.on('trailers', onTrailers);
    stream.on('close', onClose);
    stream.on('error', onError);
    handler.onRequestStart?.(call, {});
    if (Buffer.isBuffer(body)) stream.end(body);
    else if (body) body.pipe(stream);
    return true;
  }

  async close(): Promise<void> {
    const s = this.session;
    if (s && !s.destroyed) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  async destroy(): Promise<void> {
    this.session?.destroy();
  }
}
