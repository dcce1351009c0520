/**
 * Finds where an HTTP/1.1 body ends while handing its payload on, without copying:
 * fixed length, chunked (RFC 9112 §7.1, extensions ignored, trailers kept), or until the
 * connection closes. Payload slices go to the sink as they arrive.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type Framing, HeadError, parseHeaderBlock } from './response-head.js';

export interface BodySink {
  onBody(chunk: Buffer): void;
}

const State = {
  Length: 0,
  ChunkSize: 1,
  ChunkData: 2,
  ChunkDataEnd: 3,
  Trailers: 4,
  UntilClose: 5,
  Done: 6,
} as const;
type State = (typeof State)[keyof typeof State];

const MAX_LINE = 8192;
const HEX = /^[0-9a-fA-F]{1,12}$/;

export class BodyReader {
  private state: State;
  private remaining = 0;
  private line = '';
  trailers: IncomingHttpHeaders = {};

  constructor(framing: Framing) {
    switch (framing.kind) {
      case 'none':
        this.state = State.Done;
        break;
      case 'length':
        this.state = State.Length;
        this.remaining = framing.length;
        break;
      case 'chunked':
        this.state = State.ChunkSize;
        break;
      default:
        this.state = State.UntilClose;
    }
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** Reads from buf[start..]; returns where the body ended (or buf.length if it did not). */
  read(buf: Buffer, start: number, sink: BodySink): number {
    let i = start;
    const end = buf.length;
    while (i < end) {
      switch (this.state) {
        case State.Done:
          return i;
        case State.UntilClose:
          sink.onBody(i === 0 ? buf : buf.subarray(i));
          return end;
        case State.Length:
        case State.ChunkData: {
          const n = Math.min(this.remaining, end - i);
          sink.onBody(i === 0 && n === end ? buf : buf.subarray(i, i + n));
          i += n;
          this.remaining -= n;
          if (this.remaining === 0)
            this.state = this.state === State.Length ? State.Done : State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd:
        case State.ChunkSize:
        case State.Trailers: {
          const nl = buf.indexOf(10, i);
          const stop = nl < 0 ? end : nl + 1;
          this.line += buf.toString('latin1', i, stop);
          i = stop;
          if (this.line.length > MAX_LINE) throw new HeadError(400, 'chunk line too long');
          if (nl < 0) break;
          const line = this.line.endsWith('\r\n') ? this.line.slice(0, -2) : this.line.slice(0, -1);
          this.line = '';
          this.onLine(line);
          break;
        }
      }
    }
    return i;
  }

  /** The connection closed: fine only for a close-delimited body. */
  closed(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done;
      return true;
    }
    return this.state === State.Done;
  }

  private onLine(line: string): void {
    if (this.state === State.ChunkDataEnd) {
      if (line !== '') throw new HeadError(400, 'missing CRLF after chunk data');
      this.state = State.ChunkSize;
      return;
    }
    if (this.state === State.ChunkSize) {
      const semi = line.indexOf(';');
      const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
      if (!HEX.test(hex)) throw new HeadError(400, 'invalid chunk size');
      const size = Number.parseInt(hex, 16);
      if (size === 0) this.state = State.Trailers;
      else {
        this.remaining = size;
        this.state = State.ChunkData;
      }
      return;
    }
    // Trailers: header lines until an empty one.
    if (line === '') {
      this.state = State.Done;
      return;
    }
    parseHeaderBlock(line, 0, this.trailers);
  }
}
