/**
 * The matrix's upstreams, real servers on 127.0.0.1 port 0, one vocabulary of paths for every
 * protocol: `/hold` is held until released, `/hang` is never answered, `/flaky` fails its
 * first attempt (503; gRPC: UNAVAILABLE), anything else succeeds. Each records what it saw
 * (request id, attempt, trace context), so a cell can tell whether a request got through.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly id: string;
  readonly attempt: string;
  readonly traceparent: string;
  /** 'http', 'upgrade' or 'grpc'. */
  readonly kind: string;
}

export interface MatrixUpstream {
  readonly name: string;
  readonly port: number;
  readonly seen: Seen[];
  /** Requests (responses or upgrade sockets) held now by `/hold`. */
  readonly held: number;
  /** Exchanges the peer cut before they were answered. */
  readonly aborted: number;
  /** Answers every request held now (later `/hold` requests are held again). */
  release(): void;
  close(): Promise<void>;
}

const str = (v: string | string[] | undefined): string => (Array.isArray(v) ? v[0] : (v ?? ''));

function seenOf(kind: string, method: string, path: string, h: http.IncomingHttpHeaders): Seen {
  return {
    method,
    path,
    host: str(h.host ?? h[':authority']),
    id: str(h['x-request-id']),
    attempt: str(h['x-envoy-attempt-count']),
    traceparent: str(h.traceparent),
    kind,
  };
}

const firstAttempt = (s: Seen) => s.attempt === '' || s.attempt === '1';

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

/**
 * HTTP/1.1 with WebSocket upgrades (an echo once open); CONNECT tunnels reach it as HTTP.
 * `plain`: every request is answered at once, whatever its path.
 */
export async function startHttpUpstream(name: string, plain = false): Promise<MatrixUpstream> {
  const seen: Seen[] = [];
  const held: Array<() => void> = [];
  let aborted = 0;
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (d, binary) => ws.send(d, { binary })));
  const server = http.createServer((req, res) => {
    const s = seenOf('http', req.method ?? '', (req.url ?? '').split('?')[0], req.headers);
    seen.push(s);
    req.resume();
    res.once('close', () => {
      if (!res.writableFinished) aborted++;
    });
    const ok = () => res.writeHead(200, { 'content-type': 'text/plain' }).end(name);
    if (plain) ok();
    else if (s.path === '/hang') return;
    else if (s.path === '/hold') held.push(ok);
    else if (s.path === '/flaky' && firstAttempt(s)) res.writeHead(503).end('first attempt fails');
    else ok();
  });
  const upgraded = new Set<Duplex>();
  server.on('upgrade', (req, socket, head) => {
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    const s = seenOf('upgrade', req.method ?? '', (req.url ?? '').split('?')[0], req.headers);
    seen.push(s);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      if (!socket.writableEnded) aborted++;
    });
    if (s.path === '/hang') return;
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  server.keepAliveTimeout = 30_000;
  const port = await listen(server);
  return {
    name,
    port,
    seen,
    get held() {
      return held.length;
    },
    get aborted() {
      return aborted;
    },
    release() {
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const ws of wss.clients) ws.terminate();
        for (const socket of upgraded) socket.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** gRPC over h2c: a trailers-only UNAVAILABLE for a first `/flaky` attempt, else OK with a message. */
export async function startGrpcUpstream(name: string): Promise<MatrixUpstream> {
  const seen: Seen[] = [];
  const held: Array<() => void> = [];
  let aborted = 0;
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.once('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const s = seenOf('grpc', str(headers[':method']), str(headers[':path']), headers);
    seen.push(s);
    stream.on('error', () => undefined);
    stream.resume();
    stream.once('close', () => {
      if (!stream.headersSent) aborted++;
    });
    const ok = () => {
      if (stream.destroyed) return;
      const message = Buffer.from(name);
      const frame = Buffer.alloc(5 + message.length);
      frame.writeUInt32BE(message.length, 1);
      message.copy(frame, 5);
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc' },
        { waitForTrailers: true },
      );
      stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(frame);
    };
    if (s.path === '/hang') return;
    if (s.path === '/hold') held.push(ok);
    else if (s.path === '/flaky' && firstAttempt(s)) {
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '14' },
        { endStream: true },
      );
    } else ok();
  });
  const port = await listen(server);
  return {
    name,
    port,
    seen,
    get held() {
      return held.length;
    },
    get aborted() {
      return aborted;
    },
    release() {
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sessions) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface TcpEcho {
  readonly port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  close(): Promise<void>;
}

/** Echoes every byte back on the connection it came from. */
export async function startTcpEcho(): Promise<TcpEcho> {
  let accepted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    accepted++;
    sockets.add(s);
    s.on('error', () => s.destroy());
    s.once('close', () => sockets.delete(s));
    s.pipe(s);
  });
  const port = await listen(server);
  return {
    port,
    get accepted() {
      return accepted;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
