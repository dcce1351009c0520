/**
 * A request body that can be sent again. The first attempt streams the client's body
 * as it arrives while a copy is kept, up to a limit; a retry replays the copy, but only
 * once the whole body has arrived and fitted (Envoy's retry buffering, simplified).
 */
import { PassThrough, type Readable } from 'node:stream';

function ignoreError(): void {}

export const DEFAULT_RETRY_BUFFER_LIMIT = 1024 * 1024;

export class ReplayableBody {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private overflowed = false;
  private complete = false;
  private live: PassThrough | undefined;

  constructor(
    private readonly source: Readable,
    private readonly limit: number,
  ) {}

  /** The body stream for the first attempt. */
  first(): Readable {
    const live = new PassThrough();
    // The client's body failing fails this copy too; an upstream that has already answered
    // no longer listens to it, and an 'error' nobody handles would end the process.
    live.on('error', ignoreError);
    this.live = live;
    this.source.on('data', (chunk: Buffer) => {
      if (!this.overflowed) {
        this.size += chunk.length;
        if (this.size > this.limit) {
          this.overflowed = true;
          this.chunks.length = 0;
        } else this.chunks.push(chunk);
      }
      if (this.live && !this.live.write(chunk)) {
        this.source.pause();
        this.live.once('drain', () => this.source.resume());
      }
    });
    this.source.on('end', () => {
      this.complete = true;
      this.live?.end();
    });
    this.source.on('error', (err) => this.live?.destroy(err));
    return live;
  }

  /** Whether a retry can resend the whole body now. */
  get replayable(): boolean {
    return this.complete && !this.overflowed;
  }

  /** The whole body, for a retry (only when `replayable`). */
  replay(): Buffer {
    this.live = undefined;
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
  }
}
