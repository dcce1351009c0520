/**
 * One client per request row of the matrix, all answering the same question: what did the
 * sidecar make of this exchange (status, response flags, gRPC status)? A WebSocket or a
 * CONNECT tunnel that opened stays open until the caller closes it, so a cell can hold one.
 * Plus what the cells read back: Prometheus samples, JSON log lines, raw TCP through a forward.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { WebSocket } from 'ws';
import { send } from '../../support/http-client.js';
import { waitFor } from '../../support/wait-for.js';
import type { RequestRow } from './matrix-world.js';

/**
 * How long a cell waits for what must happen (an answer, a log line, a span, a metric): long
 * enough for a loaded machine, as it only bounds a wait for a condition. A known gap's cell
 * runs with less, as it is expected to time out.
 */
export const patience = { ms: 20_000 };

/** Waits for a condition, up to the patience in force. */
export function waitUntil(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  return waitFor(what, check, patience.ms, 10);
}

export interface Outcome {
  /** The HTTP status (a WebSocket that opened: 101; a CONNECT: the CONNECT's answer). */
  readonly status: number;
  /** x-ferry-response-flags, '' when absent. */
  readonly flags: string;
  /** grpc-status of a gRPC call (trailers or trailers-only), '' otherwise. */
  readonly grpcStatus: string;
  /** A CONNECT's request sent through the tunnel: its status (0 when none was sent). */
  readonly inner: number;
  /** Closes an open WebSocket or tunnel; nothing for a plain request. */
  close(): void;
}

export interface Call {
  readonly path?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

type Client = (port: number, authority: string, call?: Call) => Promise<Outcome>;

const NOTHING = () => undefined;
const str = (v: unknown): string => (v === undefined ? '' : String(v));

const http1: Client = async (port, authority, call = {}) => {
  const r = await send(port, { host: authority, path: call.path ?? '/', headers: call.headers });
  return { status: r.status, flags: r.flags, grpcStatus: '', inner: 0, close: NOTHING };
};

/** One HTTP/2 stream on a connection of its own; gRPC: a unary call with one message. */
function h2(grpc: boolean): Client {
  return (port, authority, call = {}) =>
    new Promise((resolve, reject) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', reject);
      const headers: http2.OutgoingHttpHeaders = {
        ':path': call.path ?? '/',
        ':authority': authority,
        ...call.headers,
      };
      if (grpc)
        Object.assign(headers, {
          ':method': 'POST',
          'content-type': 'application/grpc',
          te: 'trailers',
        });
      const stream = session.request(headers);
      let status = 0;
      let flags = '';
      let grpcStatus = '';
      stream.on('response', (h) => {
        status = Number(h[':status']);
        flags = str(h['x-ferry-response-flags']);
        grpcStatus = str(h['grpc-status']);
      });
      stream.on('trailers', (t) => {
        if (t['grpc-status'] !== undefined) grpcStatus = str(t['grpc-status']);
      });
      stream.resume();
      stream.on('close', () => {
        session.close();
        if (status === 0)
          reject(new Error(`stream closed without a response (code ${stream.rstCode})`));
        else resolve({ status, flags, grpcStatus, inner: 0, close: NOTHING });
      });
      // A gRPC message: not compressed, 5 bytes long.
      stream.end(grpc ? Buffer.from([0, 0, 0, 0, 5, 104, 101, 108, 108, 111]) : undefined);
    });
}

/** A WebSocket upgrade; once open, one message is echoed through it before it resolves. */
const websocket: Client = (port, authority, call = {}) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${call.path ?? '/'}`, {
      headers: { host: authority, ...call.headers },
    });
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      res.once('end', () => {
        ws.terminate();
        resolve({
          status: res.statusCode ?? 0,
          flags: str(res.headers['x-ferry-response-flags']),
          grpcStatus: '',
          inner: 0,
          close: NOTHING,
        });
      });
    });
    ws.once('open', () => {
      ws.once('message', () =>
        resolve({ status: 101, flags: '', grpcStatus: '', inner: 0, close: () => ws.terminate() }),
      );
      ws.send('ping');
    });
  });

/** Reads one HTTP/1.1 response head (and a Content-Length body) from a socket. */
function readResponse(socket: net.Socket): Promise<{ status: number; head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.toString('latin1', 0, end);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve({ status: Number(head.split(' ')[1]), head, rest: buf.subarray(end + 4 + length) });
    };
    const onClose = () => reject(new Error(`closed after ${JSON.stringify(buf.toString())}`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** CONNECT authority; once tunnelled, a GET of the path goes through the tunnel. */
const connect: Client = async (port, authority, call = {}) => {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  const extra = Object.entries(call.headers ?? {})
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nhost: ${authority}\r\n${extra}\r\n`);
  const answer = await readResponse(socket);
  const flags = /\r\nx-ferry-response-flags: *([^\r]*)/i.exec(answer.head)?.[1] ?? '';
  if (answer.status !== 200) {
    socket.destroy();
    return { status: answer.status, flags, grpcStatus: '', inner: 0, close: NOTHING };
  }
  socket.write(`GET ${call.path ?? '/'} HTTP/1.1\r\nhost: ${authority}\r\n\r\n`);
  const inner = await readResponse(socket);
  return { status: 200, flags, grpcStatus: '', inner: inner.status, close: () => socket.destroy() };
};

/** The client, failing clearly when no answer comes (rather than at the test's timeout). */
function bounded(client: Client): Client {
  return (port, authority, call) => {
    let timer: NodeJS.Timeout | undefined;
    const ms = patience.ms;
    const hang = new Promise<never>((_, reject) => {
      const what = `${authority}${call?.path ?? '/'}`;
      timer = setTimeout(() => reject(new Error(`no answer to ${what} within ${ms} ms`)), ms);
    });
    return Promise.race([client(port, authority, call), hang]).finally(() => clearTimeout(timer));
  };
}

export const CLIENTS: Readonly<Record<RequestRow, Client>> = {
  'h1-fast': bounded(http1),
  'h1-node': bounded(http1),
  h2: bounded(h2(false)),
  grpc: bounded(h2(true)),
  websocket: bounded(websocket),
  connect: bounded(connect),
};

/** Whether an outcome is the upstream's success, in the row's terms. */
export function succeeded(row: RequestRow, o: Outcome): boolean {
  switch (row) {
    case 'grpc':
      return o.status === 200 && o.grpcStatus === '0';
    case 'websocket':
      return o.status === 101;
    case 'connect':
      return o.status === 200 && o.inner === 200;
    default:
      return o.status === 200;
  }
}

/** The text of a sidecar's /stats/prometheus. */
export async function scrape(metricsPort: number): Promise<string> {
  const r = await send(metricsPort, { path: '/stats/prometheus' });
  return r.body;
}

/** The sum of a metric's series whose labels include all of `labels` (undefined: none). */
export function sample(
  text: string,
  name: string,
  labels: Readonly<Record<string, string>>,
): number | undefined {
  let sum: number | undefined;
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const series = line.slice(name.length + 1, close);
    const parts = new Set(series.split(/,(?=[a-z_]+=")/));
    if (want.every((w) => parts.has(w))) sum = (sum ?? 0) + Number(line.slice(close + 1));
  }
  return sum;
}

type LogLine = Record<string, unknown>;

/** JSON lines of a text (a log file, a process's stdout); other lines are skipped. */
export function jsonLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // A line still being written.
    }
  }
  return out;
}

/** Waits for the JSON line of a file that `match` picks, and returns it. */
export async function waitForLine(
  read: () => string,
  what: string,
  match: (l: LogLine) => boolean,
): Promise<LogLine> {
  let found: LogLine | undefined;
  await waitUntil(what, () => {
    found = jsonLines(read()).find(match);
    return found !== undefined;
  });
  return found!;
}

export const readFile = (file: string) => (): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

/** A TCP connection through a forward: what came back so far, and whether it closed. */
export interface TcpConn {
  readonly socket: net.Socket;
  received(): string;
  readonly closed: Promise<void>;
  isClosed(): boolean;
}

export function tcpOpen(port: number): Promise<TcpConn> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    let done = false;
    const closed = new Promise<void>((r) =>
      socket.once('close', () => {
        done = true;
        r();
      }),
    );
    socket.on('data', (d) => (got += d));
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({ socket, received: () => got, closed, isClosed: () => done }),
    );
    socket.once('error', reject);
  });
}

/** Writes through a connection and waits until the echo came back whole. */
export async function echoThrough(c: TcpConn, text: string): Promise<void> {
  const before = c.received().length;
  c.socket.write(text);
  await waitUntil(`the echo of ${JSON.stringify(text)}`, () => {
    if (c.isClosed()) throw new Error(`closed before echoing ${JSON.stringify(text)}`);
    return c.received().length >= before + text.length;
  });
}
