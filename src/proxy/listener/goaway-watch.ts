/**
 * Finds, in the bytes the server side of an HTTP/2 connection writes, a GOAWAY frame that
 * carries an error code. nghttp2 ends a connection itself on some connection errors (a frame
 * larger than SETTINGS_MAX_FRAME_SIZE, RFC 9113 §4.2, among others): it queues GOAWAY, ignores
 * all input, and once GOAWAY is out wants neither to read nor to write. Node then stops
 * reading the socket and never closes it, nor tells the application (no 'error', no
 * 'frameError'), so the client's FIN or RST is never read and the socket stays in
 * CLOSE_WAIT (or, after a reset, in no TCP table) with its descriptor, while RFC 9113
 * §5.4.1 says that after a GOAWAY for an error the endpoint MUST close the connection.
 * The frame written is the one sign of it the application can see.
 *
 * Only frame headers are read: a frame's payload is skipped by its length (DATA payloads
 * are never looked at), so the cost is a few operations per frame written.
 */

/** RFC 9113 §6.8. */
const GOAWAY = 0x7;
const NO_ERROR = 0x0;
const HEADER = 9;
/** A GOAWAY's header, then its last-stream-id and error code. */
const GOAWAY_HEAD = HEADER + 8;

export class GoawayWatch {
  /** The frame header being read, and a GOAWAY's first 8 payload bytes. */
  private readonly head = Buffer.alloc(GOAWAY_HEAD);
  private have = 0;
  /** Bytes of `head` needed before acting: a header, or a GOAWAY's header and codes. */
  private want = HEADER;
  /** Payload bytes left of the current frame, skipped. */
  private skip = 0;

  /**
   * Reads the next bytes written. Returns the error code of a GOAWAY with an error that
   * completed in them, else -1.
   */
  feed(chunk: Uint8Array): number {
    let found = -1;
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      if (this.skip > 0) {
        const k = Math.min(this.skip, n - i);
        this.skip -= k;
        i += k;
        continue;
      }
      const k = Math.min(this.want - this.have, n - i);
      this.head.set(chunk.subarray(i, i + k), this.have);
      this.have += k;
      i += k;
      if (this.have < this.want) break;
      const length = (this.head[0] << 16) | (this.head[1] << 8) | this.head[2];
      if (this.want === HEADER && this.head[3] === GOAWAY && length >= 8) {
        this.want = GOAWAY_HEAD;
        continue;
      }
      if (this.want === GOAWAY_HEAD) {
        const code = this.head.readUInt32BE(HEADER + 4);
        if (code !== NO_ERROR) found = code;
        this.skip = length - 8;
      } else this.skip = length;
      this.have = 0;
      this.want = HEADER;
    }
    return found;
  }
}
