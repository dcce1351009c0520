/**
 * The connection under a downstream HTTP/2 session: the socket with its first bytes put back
 * (see prefixed-socket.ts), which also watches the frames the server writes for a GOAWAY
 * carrying an error code and closes the session once that GOAWAY is flushed (see
 * goaway-watch.ts for why node does not).
 */
import type { ServerHttp2Session } from 'node:http2';
import { GoawayWatch } from './goaway-watch.js';
import { closeAfterErrorGoaway } from './h2-session-limits.js';
import { PrefixedSocket } from './prefixed-socket.js';

type Done = (err?: Error | null) => void;

export class H2ServerSocket extends PrefixedSocket {
  private readonly watch = new GoawayWatch();
  /** The session node made over this connection, set as soon as it is made. */
  session: ServerHttp2Session | undefined = undefined;

  override _write(chunk: Buffer, encoding: BufferEncoding, cb: Done): void {
    const code = this.watch.feed(chunk);
    super._write(chunk, encoding, code < 0 ? cb : this.closingAfter(cb));
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: Done): void {
    let code = -1;
    for (const c of chunks) code = Math.max(code, this.watch.feed(c.chunk));
    super._writev(chunks, code < 0 ? cb : this.closingAfter(cb));
  }

  /** `cb`, then the session closed: only after a GOAWAY with an error, once per connection. */
  private closingAfter(cb: Done): Done {
    return (err) => {
      cb(err);
      closeAfterErrorGoaway(this.session);
    };
  }
}
