/**
 * An HTTP listener that speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c) on one
 * port: the first bytes of a connection tell which (RFC 9113 §3.4: the client preface
 * starts with "PRI * HTTP/2.0"), and the socket is handed to the matching server.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import {
  type FastConnection,
  type FastRequest,
  type FastResponse,
  serveFast,
} from '../http1/index.js';
import { PrefixedSocket } from './prefixed-socket.js';

export type HttpHandler = (
  req: IncomingMessage | Http2ServerRequest | FastRequest,
  res: ServerResponse | Http2ServerResponse | FastResponse,
) => void;

export interface ListenOptions {
  /** Serve plain HTTP/1.1 with the hand-parsed fast path (default true). */
  readonly fastPath?: boolean;
}

export interface HttpListener {
  readonly port: number;
  readonly host: string;
  /** Stops accepting; tells keep-alive and HTTP/2 clients to go away; waits up to drainMs for what is in flight. */
  close(drainMs: number): Promise<void>;
  /** Open downstream connections. */
  readonly connections: number;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

function isHttp2Preface(chunk: Buffer): boolean {
  const n = Math.min(chunk.length, PREFACE.length);
  return chunk.compare(PREFACE, 0, n, 0, n) === 0;
}

function rejectConnect(req: IncomingMessage, socket: net.Socket): void {
  const body = `no route for CONNECT ${req.url ?? ''}\n`;
  socket.end(
    'HTTP/1.1 404 Not Found\r\ncontent-type: text/plain\r\n' +
      `content-length: ${Buffer.byteLength(body)}\r\nx-ferry-response-flags: NR\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

function closeAfterResponse(_req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
}

export async function listenHttp(
  host: string,
  port: number,
  handler: HttpHandler,
  options: ListenOptions = {},
): Promise<HttpListener> {
  const h1 = http.createServer({ keepAlive: true, noDelay: true }, handler);
  h1.keepAliveTimeout = 60_000;
  h1.headersTimeout = 60_000;
  h1.requestTimeout = 0;
  // node's server is handed sockets and never listens itself, and it sets up the tracking of
  // its connections on 'listening': without it closeIdleConnections() (the drain) and
  // headersTimeout do nothing, and a keep-alive connection is never closed by a drain.
  h1.emit('listening');
  // A CONNECT (tunnel) request has no route: answer 404 NR, as Envoy does without a
  // connect_matcher, instead of letting node drop the connection unanswered.
  h1.on('connect', rejectConnect);
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: 1000 } }, handler);
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  const sockets = new Set<net.Socket>();
  const fast = options.fastPath ?? true;
  const fastConns = new Set<FastConnection>();
  let draining = false;
  const fastOptions = { handOff: (s: net.Socket) => h1.emit('connection', s) };

  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      if (isHttp2Preface(chunk)) {
        h2.emit('connection', new PrefixedSocket(socket, chunk));
      } else if (fast) {
        const conn = serveFast(socket, handler, fastOptions, chunk);
        fastConns.add(conn);
        socket.once('close', () => fastConns.delete(conn));
        if (draining) conn.drain();
      } else {
        socket.pause();
        socket.unshift(chunk);
        h1.emit('connection', socket);
        socket.resume();
      }
    });
    socket.on('error', () => socket.destroy());
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
