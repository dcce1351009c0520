/**
 * The response side of the HTTP/1.1 fast path: the subset of node's ServerResponse the
 * exchange uses (writeHead, write, end, headersSent, destroy, 'close' and 'drain'),
 * written straight to the socket. The head is held back (until the body comes or the
 * event-loop turn ends) so that head, body and end of a small response leave in one write.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { batchWrite } from './write-batch.js';

/** What the response tells its connection. */
export interface ResponseOwner {
  readonly socket: Socket;
  responseDone(res: FastResponse, close: boolean): void;
}

/**
 * Heads written but not yet sent. Usually the body follows in the same call stack and takes
 * the head along in its write; for the rest, one setImmediate per event-loop turn sends them
 * all (rather than a nextTick per response).
 */
let heldHeads: FastResponse[] = [];
let flushScheduled = false;

function flushHeads(): void {
  const heads = heldHeads;
  heldHeads = [];
  flushScheduled = false;
  for (const res of heads) res.flushHead();
}

type Listener = (this: FastResponse) => void;

/**
 * Not an EventEmitter: the data path listens for exactly two events, once each at a time
 * ('close', and 'drain' after a write said to wait), so two slots do, and a response costs
 * no emitter set-up.
 */
export class FastResponse {
  headersSent = false;
  finished = false;
  statusCode = 200;
  private chunked = false;
  private bodyless: boolean;
  /** The head, held until the first body bytes (or the next tick) so both go in one write. */
  private pendingHead: string | undefined;
  private onClose: Listener | undefined = undefined;
  private onDrain: Listener | undefined = undefined;

  constructor(
    private readonly owner: ResponseOwner,
    head: boolean,
    /** The connection closes after this response (client asked, or a parse problem). */
    public close: boolean,
  ) {
    this.bodyless = head;
  }

  /** Calls `listener` once, at the next 'close' (the connection went away) or 'drain'. */
  once(event: 'close' | 'drain', listener: Listener): this {
    if (event === 'close') this.onClose = listener;
    else this.onDrain = listener;
    return this;
  }

  /** The connection tells its response: 'close' (it went away) or 'drain' (writable again). */
  emit(event: 'close' | 'drain'): void {
    const listener = event === 'close' ? this.onClose : this.onDrain;
    if (event === 'close') this.onClose = undefined;
    else this.onDrain = undefined;
    listener?.call(this);
  }

  /**
   * `skip`: header names left out (and pseudo-headers), so that an upstream's headers can be
   * passed as they are, without a filtered copy first.
   */
  writeHead(
    status: number,
    headers?: OutgoingHttpHeaders | Record<string, unknown>,
    skip?: ReadonlySet<string>,
  ): this {
    if (this.headersSent) return this;
    this.headersSent = true;
    this.statusCode = status;
    let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    let length = false;
    if (headers) {
      for (const name in headers) {
        const v = (headers as OutgoingHttpHeaders)[name];
        if (v === undefined) continue;
        if (skip !== undefined && (name.charCodeAt(0) === 58 || skip.has(name))) continue;
        if (name === 'content-length') length = true;
        if (Array.isArray(v)) for (const one of v) text += `${name}: ${one}\r\n`;
        else text += `${name}: ${v}\r\n`;
      }
    }
    if (status === 204 || status === 304 || status < 200) this.bodyless = true;
    else if (!length && !this.bodyless) {
      this.chunked = true;
      text += 'transfer-encoding: chunked\r\n';
    }
    if (this.close) text += 'connection: close\r\n';
    this.pendingHead = `${text}\r\n`;
    heldHeads.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flushHeads);
    }
    return this;
  }

  /** Writes a head still held back (no body came with it in this turn). */
  flushHead(): void {
    const head = this.pendingHead;
    if (head === undefined) return;
    this.pendingHead = undefined;
    if (!this.owner.socket.destroyed) this.owner.socket.write(head, 'latin1');
  }

  write(chunk: Buffer | string): boolean {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (this.bodyless || chunk.length === 0) return true;
    const body = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const head = this.pendingHead ?? '';
    this.pendingHead = undefined;
    const prefix = this.chunked ? `${head}${body.length.toString(16)}\r\n` : head;
    const suffix = this.chunked ? 2 : 0;
    if (prefix.length === 0 && suffix === 0) return batchWrite(this.owner.socket, body);
    // One buffer, one write: head (or chunk size line), body, chunk end.
    const out = Buffer.allocUnsafe(prefix.length + body.length + suffix);
    out.write(prefix, 0, 'latin1');
    body.copy(out, prefix.length);
    if (suffix) out.write('\r\n', prefix.length + body.length, 'latin1');
    return batchWrite(this.owner.socket, out);
  }

  end(chunk?: Buffer | string): this {
    if (this.finished) return this;
    if (!this.headersSent) {
      // A whole body known at once: say its length rather than chunking it.
      const length =
        chunk === undefined
          ? 0
          : typeof chunk === 'string'
            ? Buffer.byteLength(chunk)
            : chunk.length;
      this.writeHead(this.statusCode, { 'content-length': length });
    }
    if (chunk !== undefined && chunk.length > 0) this.write(chunk);
    if (this.chunked) {
      const head = this.pendingHead ?? '';
      this.pendingHead = undefined;
      batchWrite(this.owner.socket, `${head}0\r\n\r\n`);
    } else this.flushHead();
    this.finished = true;
    this.owner.responseDone(this, this.close);
    return this;
  }

  /** Cuts the connection (the response cannot be completed). */
  destroy(): void {
    this.finished = true;
    this.pendingHead = undefined;
    this.owner.socket.destroy();
  }
}
