/**
 * The admin port's `GET /tap?...`: finished requests as they happen, one JSON object a line
 * (application/x-ndjson), until the client goes away. The first line says which sidecar is
 * tapped (`kind: "tap"`); then `kind: "request"` lines (TapEvent), and `kind: "dropped"`
 * lines counting the events left out because the subscriber was over its max_rps or not
 * reading fast enough: a slow tap client never holds traffic up or grows the sidecar's
 * memory. Lines are gathered per event-loop turn and written once.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TapEvent } from './tap-event.js';
import { parseTapFilter, type TapFilter, TapFilterError } from './tap-filter.js';
import type { TapHub, TapSubscriber } from './tap-point.js';

/** Past this much unsent output, events are dropped rather than buffered. */
const MAX_BUFFERED_BYTES = 1 << 20;

function isLoopback(address: string | undefined): boolean {
  return (
    address !== undefined &&
    (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'))
  );
}

class StreamSubscriber implements TapSubscriber {
  private pending = '';
  private scheduled = false;
  private windowStart = 0;
  private inWindow = 0;
  private dropped = 0;

  constructor(
    readonly filter: TapFilter,
    private readonly res: ServerResponse,
  ) {}

  deliver(e: TapEvent): void {
    const now = Date.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.inWindow = 0;
      if (this.dropped > 0) {
        this.push(`{"kind":"dropped","count":${this.dropped}}\n`);
        this.dropped = 0;
      }
    }
    if (this.inWindow >= this.filter.maxRps || this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.dropped++;
      return;
    }
    this.inWindow++;
    this.push(`${JSON.stringify(e)}\n`);
  }

  private push(line: string): void {
    this.pending += line;
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(flush, this);
    }
  }

  flush(): void {
    this.scheduled = false;
    const text = this.pending;
    this.pending = '';
    if (text && !this.res.destroyed) this.res.write(text);
  }
}

function flush(s: StreamSubscriber): void {
  s.flush();
}

function refuse(res: ServerResponse, status: number, message: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${message}\n`);
}

export function serveTap(
  req: IncomingMessage,
  res: ServerResponse,
  hub: TapHub,
  params: URLSearchParams,
): void {
  // The admin port binds 127.0.0.1; the check keeps the tap local even if that changes.
  if (!isLoopback(req.socket.remoteAddress)) {
    refuse(res, 403, 'tap is served to loopback clients only');
    return;
  }
  if (req.method !== 'GET') {
    refuse(res, 405, 'use GET');
    return;
  }
  let filter: TapFilter;
  try {
    filter = parseTapFilter(params);
  } catch (err) {
    if (!(err instanceof TapFilterError)) throw err;
    refuse(res, 400, err.message);
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  res.write(`${JSON.stringify({ kind: 'tap', ...hub.describe(), filter })}\n`);
  const subscriber = new StreamSubscriber(filter, res);
  const unsubscribe = hub.subscribe(subscriber);
  res.once('close', unsubscribe);
}
