/**
 * The limits of one downstream HTTP/2 connection that nghttp2 does not keep by itself: the
 * header-read and idle timeouts (a session with no stream open; PINGs and SETTINGS do not
 * count as activity, unlike node's session.setTimeout), and rapid reset (CVE-2023-44487:
 * streams opened and reset at once cost the server a request each and the client nothing).
 * The rest is nghttp2's: SETTINGS_MAX_CONCURRENT_STREAMS (streams past it are refused),
 * the header list size and pair count, and its CONTINUATION cap (CVE-2024-27316: nghttp2
 * 1.61 ends a connection whose header block runs past 8 CONTINUATION frames). What nghttp2
 * refuses on its own is counted here from the session's 'frameError' and 'error' events.
 */
import { constants, type Http2Stream, type ServerHttp2Session } from 'node:http2';
import { LIMIT, type LimitName, type ListenerLimits } from './limits.js';

const STATE = Symbol('ferry.h2.limits');

class H2State {
  /** Streams opened, streams open now, and streams the client reset before their answer. */
  streams = 0;
  active = 0;
  resets = 0;
  /** When the session opened or last had no stream open (Date.now()). */
  since = Date.now();
  /** Whether any stream was opened: until then the header-read timeout applies. */
  requested = false;
  /** GOAWAY sent for a timeout: the next sweep destroys what is left. */
  closing = false;
  constructor(
    readonly session: ServerHttp2Session,
    readonly minStreams: number,
    readonly limitHit: ((limit: LimitName) => void) | undefined,
  ) {}
}

type Tagged = { [STATE]?: H2State; [LOCAL_RESET]?: boolean };
const LOCAL_RESET = Symbol('ferry.h2.localReset');

/**
 * Resets a downstream stream from this side (an upstream failed mid-response): node emits
 * 'aborted' for it as for a client's RST_STREAM, so the stream is marked first and the
 * rapid-reset count leaves it out.
 */
export function resetStream(stream: Http2Stream, code: number): void {
  (stream as Http2Stream & Tagged)[LOCAL_RESET] = true;
  stream.close(code);
}

function onStream(this: ServerHttp2Session & Tagged, stream: Http2Stream): void {
  const st = this[STATE];
  if (!st) return;
  st.streams++;
  st.active++;
  st.requested = true;
  (stream as Http2Stream & Tagged)[STATE] = st;
  if (stream.aborted || stream.closed) {
    // HEADERS and RST_STREAM came in one read: the stream was reset before it was handed
    // over (the usual shape of a rapid-reset attack).
    st.active--;
    if (st.active === 0) st.since = Date.now();
    if (stream.rstCode !== constants.NGHTTP2_NO_ERROR) countReset(st);
    return;
  }
  // Each comes once at most: `on` spares the wrapper `once` makes per stream.
  stream.on('aborted', onAborted);
  stream.on('close', onStreamClose);
}

function onStreamClose(this: Http2Stream & Tagged): void {
  const st = this[STATE];
  if (!st) return;
  this[STATE] = undefined;
  if (--st.active === 0) st.since = Date.now();
}

/**
 * The client reset a stream before its response was complete ('aborted' is emitted only
 * then). Once enough streams were opened, more than half of them reset that way ends the
 * connection with GOAWAY(ENHANCE_YOUR_CALM), Envoy's premature-reset rule.
 */
function onAborted(this: Http2Stream & Tagged): void {
  const st = this[STATE];
  if (st && this[LOCAL_RESET] !== true) countReset(st);
}

function countReset(st: H2State): void {
  st.resets++;
  if (st.streams >= st.minStreams && st.resets * 2 > st.streams && !st.session.destroyed) {
    st.limitHit?.(LIMIT.H2_RAPID_RESET);
    st.session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    st.session.destroy();
  }
}

/** nghttp2 refused a frame or ended the session for a protocol error: counted. */
function onFrameError(this: ServerHttp2Session & Tagged): void {
  this[STATE]?.limitHit?.(LIMIT.H2_PROTOCOL_ERROR);
}
function onSessionError(this: ServerHttp2Session & Tagged): void {
  this[STATE]?.limitHit?.(LIMIT.H2_PROTOCOL_ERROR);
  this.destroy();
}

/**
 * The session's connection wrote GOAWAY with an error code and it reached the kernel (see
 * goaway-watch.ts). Unless the session is being torn down already (an error node reported,
 * a rapid reset), nghttp2 ended the connection by itself and will read no more: it is
 * counted as a protocol error and closed (RFC 9113 §5.4.1), which sends FIN after the
 * GOAWAY and lets the descriptor go.
 */
export function closeAfterErrorGoaway(session: ServerHttp2Session | undefined): void {
  if (!session || session.destroyed) return;
  (session as ServerHttp2Session & Tagged)[STATE]?.limitHit?.(LIMIT.H2_PROTOCOL_ERROR);
  session.destroy();
}

export function trackH2Session(
  session: ServerHttp2Session,
  limits: ListenerLimits,
  limitHit: ((limit: LimitName) => void) | undefined,
): void {
  (session as ServerHttp2Session & Tagged)[STATE] = new H2State(
    session,
    limits.h2ResetMinStreams,
    limitHit,
  );
  // Before node's compatibility layer runs the handler, which may close the stream itself.
  session.prependListener('stream', onStream);
  session.on('frameError', onFrameError);
  session.on('error', onSessionError);
}

/**
 * Whether `session` has gone past the header-read timeout (no stream since it opened) or
 * the idle timeout (no stream open since the last one closed): it is sent GOAWAY and closed
 * (destroyed at the next sweep if the client holds on). Returns the limit that acted.
 */
export function expiredH2(
  session: ServerHttp2Session,
  now: number,
  limits: ListenerLimits,
): LimitName | undefined {
  const st = (session as ServerHttp2Session & Tagged)[STATE];
  if (!st || st.active > 0 || session.destroyed) return undefined;
  if (st.closing) {
    session.destroy();
    return undefined;
  }
  const limit = st.requested ? limits.idleTimeoutMs : limits.headersTimeoutMs;
  if (now - st.since < limit) return undefined;
  st.closing = true;
  session.close();
  return st.requested ? LIMIT.IDLE_TIMEOUT : LIMIT.HEADERS_TIMEOUT;
}
