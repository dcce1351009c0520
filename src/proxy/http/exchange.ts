/**
 * One request's trip upstream and back, as a retry state machine: pick a host, send, and
 * either stream the response to the client or, when the retry policy says so and nothing has
 * been sent yet, try again (Envoy's semantics: retry_on, num_retries, per_try_timeout,
 * jittered back-off, a preference for hosts not yet tried, x-envoy-attempt-count). The
 * cluster's breakers, the pick and outlier reports are the concrete layer's
 * (src/proxy/stack), the pool the endpoint layer's; errors are classified in
 * error-classification.ts and every failure is answered exactly once, from the failure
 * table, by downstream-reply.ts. Timers are armed with module-level functions: no closure
 * per request.
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import type { Span } from '@opentelemetry/api';
import type { Dispatcher } from 'undici';
import { errorCode } from '../../errors/index.js';
import type { RuntimeCluster } from '../cluster/index.js';
import { FAILURE, type Failure, FLAG } from '../failure/index.js';
import { type FastRequest, FastResponse } from '../http1/index.js';
import type { Host, PickContext } from '../lb/index.js';
import { type H2Request, H2Response } from '../listener/index.js';
import {
  backoffMs,
  type ForwardRoute,
  type RetryPolicy,
  shouldRetryError,
  shouldRetryStatus,
  writeSession,
} from '../router/index.js';
import {
  admit,
  admitRetry,
  endpointPool,
  hostBegin,
  hostDone,
  isSecure,
  pickHost,
  release,
  releaseRetry,
  reportLocalFailure,
  reportStatus,
  sessionHost,
} from '../stack/index.js';
import { requestPrincipal } from '../tls/index.js';
import type { Tracing } from '../tracing/index.js';
import { OVERFLOW, type UpstreamPools } from '../upstream/index.js';
import type { AccessLog } from './access-log.js';
import { type DownstreamResponse, resetResponse, sendLocalReply } from './downstream-reply.js';
import {
  attemptFailure,
  classifyAttemptError,
  DOWNSTREAM_GONE,
  isProtocolError,
  PER_TRY_TIMEOUT,
  ROUTE_TIMEOUT,
  UPSTREAM_PROTOCOL_ERROR,
} from './error-classification.js';
import { downstreamResponseHeaders, HOP_BY_HOP, upstreamRequestHeaders } from './headers.js';
import type { RequestOutcome } from './istio-metrics.js';
import { ReplayableBody } from './request-body.js';
import type { ProxyStats } from './stats.js';

export type DownstreamRequest = IncomingMessage | H2Request | FastRequest;

/** A request body: none, complete in memory, or a stream still arriving. */
export type RequestBody = Buffer | Readable | null;
export type { DownstreamResponse };

const EXCHANGE = Symbol('ferry.exchange');
type Tagged = DownstreamResponse & { [EXCHANGE]?: Exchange };

/** What an exchange needs from the proxy around it. */
export interface ExchangeEnv {
  readonly pools: UpstreamPools;
  readonly random: () => number;
  readonly stats: ProxyStats;
  readonly retryBufferLimit: number;
  /** Istio's standard metrics for this listener's side (source or destination). */
  readonly istio?: (x: RequestOutcome) => void;
  /** Which listener: inbound requests get SERVER spans, outbound CLIENT spans. */
  readonly inbound?: boolean;
}

/**
 * The listener's telemetry in force when a request arrives (part of its RouteView): kept by
 * the exchange for its whole life, so a configuration that switches tracing or logs meanwhile
 * never splits one request between two tracers. Undefined members cost nothing.
 */
export interface ExchangeTelemetry {
  readonly tracing?: Tracing;
  readonly accessLog?: AccessLog;
}

/** One try against one host: undici's handler. A superseded attempt is ignored. */
class Attempt implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined;
  dead = false;
  retrying = false;
  /** Whether the host's active count was given back (exactly once per attempt). */
  private released = false;
  constructor(
    readonly exchange: Exchange,
    readonly host: Host,
  ) {}
  /**
   * Gives the host's active slot back. An attempt can end twice over: a retried response
   * ends, then the exchange is aborted during the back-off (client gone, route timeout).
   * Counting both drove `host.active` negative, and least-request and the admin page lied.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    hostDone(this.host);
  }
  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.dead) controller.abort(DOWNSTREAM_GONE);
  }
  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: IncomingHttpHeaders,
  ): void {
    this.controller = controller;
    if (!this.dead) this.exchange.responseStart(this, status, headers);
  }
  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.dead && !this.retrying) this.exchange.responseData(controller, chunk);
  }
  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (!this.dead) this.exchange.responseEnd(this, trailers);
  }
  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    if (!this.dead) this.exchange.attemptError(this, err);
  }
}

export class Exchange {
  readonly startedAt = performance.now();
  flags = '';
  status = 0;
  /** The gRPC status the upstream returned (headers or trailers); '' when none. */
  grpcStatus = '';
  attempts = 0;
  /** The trace this request is part of, when tracing is on. */
  traceId: string | undefined = undefined;
  /** Request body bytes (as announced, or as held for a retry), and response body bytes sent. */
  requestBytes = 0;
  responseBytes = 0;
  upstreamHost: Host | undefined;
  private attempt: Attempt | undefined;
  private readonly tried: Host[] = [];
  private body: ReplayableBody | Readable | Buffer | null;
  private routeTimer: NodeJS.Timeout | undefined;
  private tryTimer: NodeJS.Timeout | undefined;
  private finished = false;
  private trailersOnly = false;
  /** The request's span and the current attempt's, when tracing is on. */
  private span: Span | undefined = undefined;
  private attemptSpan: Span | undefined = undefined;
  /** Slots taken in the cluster's circuit breakers, given back when the exchange ends. */
  private holdsRequest = false;
  private holdsRetry = false;
  private readonly retry: RetryPolicy | undefined;
  private readonly tracing: Tracing | undefined;
  /** Where the exchange is logged when it ends, if access logs are on. */
  readonly accessLog: AccessLog | undefined;

  constructor(
    readonly req: DownstreamRequest,
    readonly res: DownstreamResponse,
    readonly route: ForwardRoute,
    readonly cluster: RuntimeCluster,
    readonly authority: string,
    readonly path: string,
    readonly grpc: boolean,
    private readonly pick: PickContext,
    private readonly env: ExchangeEnv,
    body: RequestBody,
    telemetry: ExchangeTelemetry,
    /** The host the request's sticky session names (valid or not); only on session routes. */
    private readonly sessionKey: string | undefined = undefined,
  ) {
    this.retry = route.retry;
    this.tracing = telemetry.tracing;
    this.accessLog = telemetry.accessLog;
    this.requestBytes = Buffer.isBuffer(body)
      ? body.length
      : Number(req.headers['content-length'] ?? 0) || 0;
    // A streamed body is kept for retries (up to a limit) only when retries may happen.
    this.body =
      body !== null && !Buffer.isBuffer(body) && this.retry && this.retry.numRetries > 0
        ? new ReplayableBody(body, env.retryBufferLimit)
        : body;
  }

  start(): void {
    (this.res as Tagged)[EXCHANGE] = this;
    this.res.once('close', onDownstreamClose);
    const tracing = this.tracing;
    if (tracing) {
      this.span = tracing.startRequest(
        this.env.inbound === true,
        this.req.headers,
        this.req.method ?? 'GET',
        this.authority,
        this.path,
        this.grpc,
      );
      this.traceId = this.span.spanContext().traceId;
    }
    const overflow = admit(this.cluster);
    if (overflow !== undefined) {
      // max_requests reached: refuse at once rather than queue (Envoy's UO; counted from
      // its flag when the exchange is recorded).
      this.finishLocal(overflow);
      return;
    }
    this.holdsRequest = true;
    if (this.route.timeoutMs > 0)
      this.routeTimer = setTimeout(onRouteTimeout, this.route.timeoutMs, this);
    this.send();
  }

  /**
   * Picks a host, preferring one not tried yet, and dispatches to it. On a route with sticky
   * sessions the first try goes to the host the session names, if it may take traffic; a
   * retry goes where the balancer says (the response then names that host).
   */
  send(): void {
    let host: Host | undefined;
    if (this.sessionKey !== undefined && this.attempts === 0) {
      host = sessionHost(this.cluster, this.sessionKey);
    }
    host ??= pickHost(this.cluster, this.pick, this.tried);
    if (!host) {
      this.finishLocal(FAILURE.NO_HEALTHY_UPSTREAM);
      return;
    }
    this.attempts++;
    this.tried.push(host);
    this.upstreamHost = host;
    hostBegin(host);
    const attempt = new Attempt(this, host);
    this.attempt = attempt;
    let body: Readable | Buffer | null;
    if (this.body instanceof ReplayableBody) {
      body = this.attempts === 1 ? this.body.first() : this.body.replay();
    } else body = this.body;
    const perTry = this.retry?.perTryTimeoutMs ?? 0;
    if (perTry > 0) this.tryTimer = setTimeout(onTryTimeout, perTry, this);
    const headers = upstreamRequestHeaders(this.req.headers, this.authority, this.attempts);
    this.route.requestHeaders?.apply(headers);
    const tracing = this.tracing;
    if (tracing && this.span) {
      this.attemptSpan = tracing.startAttempt(
        this.span,
        this.attempts,
        this.cluster.name,
        host.key,
        headers,
      );
    }
    endpointPool(this.env.pools, this.cluster, host).dispatch(
      {
        path: this.path,
        method: this.req.method as Dispatcher.HttpMethod,
        headers,
        body,
      },
      attempt,
    );
  }

  responseStart(attempt: Attempt, status: number, headers: IncomingHttpHeaders): void {
    this.clearTryTimer();
    const retry = this.retry;
    const grpcStatus = headers['grpc-status'];
    if (this.attemptSpan) {
      this.tracing!.end(
        this.attemptSpan,
        status,
        grpcStatus === undefined ? '' : String(grpcStatus),
        '',
      );
      this.attemptSpan = undefined;
    }
    if (status < 200 || status > 599) {
      // A final status outside 200..599 (RFC 9110 §15: three digits, 1xx interim only):
      // HTTP/2 cannot carry it (RFC 9113 §8.3.2; node throws ERR_HTTP2_STATUS_INVALID) nor
      // can node's HTTP/1.1 server, and a client could not make sense of it. Envoy's answer:
      // 502, upstream protocol error (UPE).
      this.upstreamProtocolError(attempt, `status ${status}`);
      return;
    }
    reportStatus(this.cluster, attempt.host, status);
    if (
      retry &&
      this.canRetry() &&
      shouldRetryStatus(
        retry,
        status,
        grpcStatus === undefined ? undefined : Number(grpcStatus),
        headers,
      )
    ) {
      // Drain this response quietly; the retry goes out when it ends.
      attempt.retrying = true;
      return;
    }
    if (this.attempts > 1 && (status >= 500 || grpcStatus !== undefined))
      this.addFlag(FLAG.UPSTREAM_RETRY_LIMIT_EXCEEDED);
    this.status = status;
    if (grpcStatus !== undefined) this.grpcStatus = String(grpcStatus);
    this.route.responseHeaders?.apply(headers);
    const session = this.route.session;
    if (session !== undefined && attempt.host.key !== this.sessionKey) {
      writeSession(session, headers, attempt.host.key, Date.now());
    }
    // The HTTP/1.1 fast path leaves hop-by-hop headers out as it writes the head.
    if (this.res instanceof FastResponse) {
      this.res.writeHead(status, headers, HOP_BY_HOP);
      return;
    }
    const h2 = this.res instanceof H2Response ? this.res : undefined;
    // A gRPC status in the headers means a trailers-only response: keep it one HEADERS frame.
    if (grpcStatus !== undefined && h2) {
      this.trailersOnly = true;
      this.pendingHeaders = downstreamResponseHeaders(headers);
      return;
    }
    try {
      // HTTP/2 leaves hop-by-hop headers out as it checks the fields, as the fast path does.
      if (h2) h2.writeHead(status, headers, HOP_BY_HOP);
      else this.res.writeHead(status, downstreamResponseHeaders(headers));
    } catch (err) {
      // A field the downstream protocol cannot carry (node checks names and values).
      this.upstreamProtocolError(attempt, (err as Error).message);
    }
  }

  private pendingHeaders: Record<string, unknown> | undefined;

  responseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.finished) return;
    if (this.trailersOnly) this.flushPendingHeaders();
    this.responseBytes += chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', onDownstreamDrain);
    }
  }

  responseEnd(attempt: Attempt, trailers: IncomingHttpHeaders): void {
    attempt.release();
    if (attempt.retrying) {
      this.scheduleRetry();
      return;
    }
    if (this.finished) return;
    if (this.trailersOnly) {
      const stream = (this.res as H2Response).stream;
      if (!stream.headersSent && !stream.destroyed) {
        stream.respond({ ':status': this.status, ...this.pendingHeaders }, { endStream: true });
        this.done();
        return;
      }
      this.flushPendingHeaders();
    }
    const trailerStatus = trailers['grpc-status'];
    if (trailerStatus !== undefined) this.grpcStatus = String(trailerStatus);
    const names = Object.keys(trailers);
    if (names.length > 0 && this.res instanceof H2Response) {
      // Hop-by-hop fields are no more allowed in trailers than in headers: HTTP/2 refuses
      // them (RFC 9113 §8.2.2), and node throws from inside its stream when it meets one.
      this.res.addTrailers(downstreamResponseHeaders(trailers));
    }
    this.res.end();
    this.done();
  }

  private flushPendingHeaders(): void {
    if (!this.trailersOnly) return;
    this.trailersOnly = false;
    this.res.writeHead(this.status, this.pendingHeaders as Record<string, string>);
  }

  attemptError(attempt: Attempt, err: Error): void {
    this.clearTryTimer();
    attempt.dead = true;
    attempt.release();
    if (this.finished) return;
    const code = errorCode(err);
    if (code === OVERFLOW) {
      this.finishLocal(FAILURE.OVERFLOW);
      return;
    }
    if (code === FAILURE.DOWNSTREAM_PROTOCOL_ERROR.code) {
      // The client's body broke HTTP/1.1's framing: its fault, not the upstream's.
      if (this.res.headersSent) {
        this.addFlag(FLAG.DOWNSTREAM_PROTOCOL_ERROR);
        resetResponse(this.res);
        this.done();
      } else this.finishLocal(FAILURE.DOWNSTREAM_PROTOCOL_ERROR, 'malformed request body');
      return;
    }
    if (isProtocolError(err) && !this.res.headersSent) {
      // Not HTTP/1.1 (a malformed head, bad framing): 502 UPE as Envoy, not a reset (503).
      reportLocalFailure(this.cluster, attempt.host);
      if (this.attempts > 1) this.addFlag(FLAG.UPSTREAM_RETRY_LIMIT_EXCEEDED);
      this.finishLocal(FAILURE.UPSTREAM_PROTOCOL_ERROR, err.message);
      return;
    }
    const kind = classifyAttemptError(err);
    if (this.attemptSpan) {
      this.tracing!.end(this.attemptSpan, 0, '', '', { 'error.type': kind });
      this.attemptSpan = undefined;
    }
    // Connect failures, resets and timeouts originate here: Envoy counts them as gateway
    // errors (a timeout is not counted as the host's error).
    reportLocalFailure(this.cluster, attempt.host, kind !== 'timeout');
    if (this.res.headersSent || (this.trailersOnly && this.status)) {
      // The response had started: all we can do is cut the client's stream too.
      this.addFlag(FLAG.UPSTREAM_CONNECTION_TERMINATION);
      resetResponse(this.res);
      this.done();
      return;
    }
    const retry = this.retry;
    if (retry && this.canRetry() && shouldRetryError(retry, kind)) {
      this.scheduleRetry();
      return;
    }
    if (this.attempts > 1) this.addFlag(FLAG.UPSTREAM_RETRY_LIMIT_EXCEEDED);
    this.finishLocal(attemptFailure(kind));
  }

  /** The upstream's answer cannot be passed on: drop it and answer 502 UPE. */
  private upstreamProtocolError(attempt: Attempt, what: string): void {
    reportLocalFailure(this.cluster, attempt.host);
    this.abortAttempt(UPSTREAM_PROTOCOL_ERROR);
    if (this.res.headersSent) {
      this.addFlag(FLAG.UPSTREAM_PROTOCOL_ERROR);
      resetResponse(this.res);
      this.done();
      return;
    }
    this.finishLocal(FAILURE.UPSTREAM_PROTOCOL_ERROR, `upstream protocol error: ${what}`);
  }

  private canRetry(): boolean {
    const retry = this.retry;
    if (!retry || this.attempts > retry.numRetries) return false;
    const replayable =
      this.body instanceof ReplayableBody
        ? this.body.replayable
        : this.body === null || Buffer.isBuffer(this.body);
    if (!replayable) return false;
    // The retry limit or budget of the cluster: past it, the response stands as it is.
    if (!this.holdsRetry) {
      if (!admitRetry(this.cluster)) {
        this.env.stats.retryOverflows++;
        return false;
      }
      this.holdsRetry = true;
    }
    return true;
  }

  private scheduleRetry(): void {
    if (this.finished) return;
    this.env.stats.retries++;
    const delay = backoffMs(this.retry!, this.attempts, this.env.random());
    this.tryTimer = setTimeout(retryNow, delay, this);
  }

  /** The per-try timer fired: give up on this attempt (it may be retried). */
  tryTimedOut(): void {
    const attempt = this.attempt;
    if (!attempt || attempt.dead) return;
    attempt.controller?.abort(PER_TRY_TIMEOUT);
    if (!attempt.controller) this.attemptError(attempt, PER_TRY_TIMEOUT);
  }

  /** The route timer fired: the whole request is out of time. */
  routeTimedOut(): void {
    if (this.finished) return;
    this.abortAttempt(ROUTE_TIMEOUT);
    if (this.res.headersSent) {
      this.addFlag(FLAG.UPSTREAM_TIMEOUT);
      resetResponse(this.res);
      this.done();
      return;
    }
    this.finishLocal(FAILURE.UPSTREAM_TIMEOUT);
  }

  /** The client went away before the response was complete. */
  downstreamClosed(): void {
    if (this.finished) return;
    this.addFlag(FLAG.DOWNSTREAM_CONNECTION_TERMINATION);
    this.abortAttempt(DOWNSTREAM_GONE);
    this.done();
  }

  resumeUpstream(): void {
    this.attempt?.controller?.resume();
  }

  private abortAttempt(reason: Error): void {
    const attempt = this.attempt;
    if (!attempt || attempt.dead) return;
    attempt.dead = true;
    attempt.release();
    attempt.controller?.abort(reason);
  }

  /** Answers the failure's local reply (the table's body unless `body`), then ends. */
  private finishLocal(failure: Failure, body: string = failure.body): void {
    this.addFlag(failure.flag);
    this.status = this.grpc ? 200 : failure.httpStatus;
    if (this.grpc) this.grpcStatus = String(failure.grpcStatus);
    sendLocalReply(this.res, failure, this.grpc, this.flags, body);
    this.done();
  }

  private endSpan(): void {
    const tracing = this.tracing!;
    if (this.attemptSpan) tracing.end(this.attemptSpan, 0, '', this.flags);
    const principal = requestPrincipal(this.req);
    tracing.end(this.span!, this.status, this.grpcStatus, this.flags, {
      'ferry.upstream_cluster': this.cluster.name,
      ...(this.upstreamHost ? { 'ferry.upstream_host': this.upstreamHost.key } : {}),
      'ferry.retry_count': Math.max(0, this.attempts - 1),
      ...(principal ? { 'ferry.peer_principal': principal } : {}),
    });
    this.span = undefined;
    this.attemptSpan = undefined;
  }

  /** For metrics: the cluster the request went to. */
  get clusterName(): string {
    return this.cluster.name;
  }

  /** For metrics: whether the last attempt went to its host over mTLS. */
  get upstreamSecure(): boolean {
    const host = this.upstreamHost;
    return host !== undefined && isSecure(this.cluster, host);
  }

  /** For metrics: the downstream request (its TLS peer, if any). */
  get downstreamSocket(): unknown {
    return this.req;
  }

  private addFlag(flag: string): void {
    this.flags = this.flags ? `${this.flags},${flag}` : flag;
  }

  private clearTryTimer(): void {
    if (this.tryTimer) clearTimeout(this.tryTimer);
    this.tryTimer = undefined;
  }

  private done(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTryTimer();
    if (this.holdsRequest) release(this.cluster);
    if (this.holdsRetry) releaseRetry(this.cluster);
    if (this.routeTimer) clearTimeout(this.routeTimer);
    (this.res as Tagged)[EXCHANGE] = undefined;
    this.env.stats.record(this);
    this.env.istio?.(this);
    if (this.span) this.endSpan();
    this.accessLog?.exchange(this);
  }
}

function onDownstreamClose(this: Tagged): void {
  this[EXCHANGE]?.downstreamClosed();
}

function onDownstreamDrain(this: Tagged): void {
  this[EXCHANGE]?.resumeUpstream();
}

function onRouteTimeout(x: Exchange): void {
  x.routeTimedOut();
}

function onTryTimeout(x: Exchange): void {
  x.tryTimedOut();
}

function retryNow(x: Exchange): void {
  x.send();
}
