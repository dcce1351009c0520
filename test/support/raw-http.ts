/**
 * HTTP/1.1 over a bare socket, for tests that need to control the bytes and the timing:
 * write requests (malformed ones too), read responses one at a time as they complete
 * (Content-Length or chunked framing), and see exactly when the peer closes.
 */
import net from 'node:net';
import { waitFor } from './wait-for.js';

/**
 * Sends raw bytes to a port on 127.0.0.1; resolves with everything received until the peer
 * closes (the socket is destroyed after `ms`). Connection errors resolve with what came back.
 */
export function rawExchange(port: number, bytes: string, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => s.destroy(), ms);
    s.on('data', (d) => (got += d));
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.on('error', () => undefined);
    s.write(bytes);
  });
}

export interface RawResponse {
  readonly status: number;
  /** Header names lower-cased; a repeated header keeps its last value. */
  readonly headers: Record<string, string>;
  readonly body: string;
}

export class RawClient {
  readonly socket: net.Socket;
  private data = Buffer.alloc(0);
  closed = false;
  error: string | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      this.error = e.code ?? e.message;
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(bytes: string | Buffer): void {
    this.socket.write(bytes);
  }

  /** Everything received so far, as text. */
  get received(): string {
    return this.data.toString('latin1');
  }

  /** Waits for one complete response and consumes it. Fails after `ms`. */
  async response(ms = 5000): Promise<RawResponse> {
    let parsed: { response: RawResponse; size: number } | undefined;
    await waitFor(
      `a complete response (have ${JSON.stringify(this.received.slice(0, 200))}, closed ${this.closed})`,
      () => {
        parsed = parseResponse(this.data);
        return parsed !== undefined || (this.closed && this.data.length === 0);
      },
      ms,
      2,
    );
    if (!parsed)
      throw new Error(`connection closed without a response (${this.error ?? 'no error'})`);
    this.data = this.data.subarray(parsed.size);
    return parsed.response;
  }

  /** Waits until the peer has closed the connection; false if it is still open after `ms`. */
  async closedWithin(ms: number): Promise<boolean> {
    try {
      await waitFor('the connection to close', () => this.closed, ms, 2);
      return true;
    } catch {
      return false;
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Count of HTTP/1.x status lines in some received bytes. */
export function statusLines(text: string): string[] {
  return text.match(/HTTP\/1\.[01] \d{3}/g) ?? [];
}

function parseResponse(buf: Buffer): { response: RawResponse; size: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let at = end + 4;
  if (status === 100) return { response: { status, headers, body: '' }, size: at };
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    let body = '';
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = Number.parseInt(buf.toString('latin1', at, lineEnd), 16);
      if (size === 0) {
        // The last chunk, then trailer lines (usually none) and an empty line.
        const trailerEnd = buf.indexOf('\r\n\r\n', lineEnd);
        if (trailerEnd < 0) return undefined;
        return { response: { status, headers, body }, size: trailerEnd + 4 };
      }
      if (buf.length < lineEnd + 2 + size + 2) return undefined;
      body += buf.toString('latin1', lineEnd + 2, lineEnd + 2 + size);
      at = lineEnd + 2 + size + 2;
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < at + length) return undefined;
  return {
    response: { status, headers, body: buf.toString('latin1', at, at + length) },
    size: at + length,
  };
}
