/**
 * Finds where an HTTP/1.1 body ends while handing its payload on, without copying:
 * fixed length, chunked (RFC 9112 §7.1, extensions checked and ignored, trailers kept), or
 * until the connection closes. Payload slices go to the sink as they arrive. The chunked
 * framing is read as strictly as llhttp reads it (test/proxy/http1/differential.test.ts):
 * every line ends in CRLF, and an extension holds no control characters.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type Framing, HeadError, isFieldValue, parseHeaderBlock } from './response-head.js';

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
/**
 * chunk-size = 1*HEXDIG (RFC 9112 §7.1). Leading zeros are allowed in any number; at most
 * 12 significant digits (256 TiB) are taken, so that the size is exact in a double.
 */
const HEX = /^0*([0-9a-fA-F]{1,12})$/;
/** Trailing SP / HTAB: BWS before a chunk extension's ";" (RFC 9110 §5.6.3). */
const BWS_END = /[ \t]+$/;

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
          // RFC 9112 §7.1: chunk lines end in CRLF. §2.2's leave to take a bare LF covers the
          // start line and fields only; llhttp refuses one here, and so does Ferry, so that
          // both read a body to the same end.
          if (!this.line.endsWith('\r\n')) throw new HeadError(400, 'bare LF in chunked body');
          const line = this.line.slice(0, -2);
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
      // chunk = chunk-size [ chunk-ext ] CRLF; chunk-ext = *( BWS ";" ... ) (RFC 9112 §7.1.1):
      // whitespace only before an extension, none before the size or at the end of the line.
      const hex = HEX.exec(semi < 0 ? line : line.slice(0, semi).replace(BWS_END, ''));
      if (hex === null) throw new HeadError(400, 'invalid chunk size');
      // Extensions are ignored (§7.1.1), but one with a control character is no extension:
      // an intermediary that passed it would meet a next hop that reads the line otherwise.
      if (semi >= 0 && !isFieldValue(line.slice(semi))) {
        throw new HeadError(400, 'invalid chunk extension');
      }
      const size = Number.parseInt(hex[1]!, 16);
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
