/**
 * The HTTP data path, as one straight line through the stack (src/proxy/stack): the route
 * layer decides the request (authorization, rate limits, route match, route filters), the
 * concrete layer its cluster, and the Exchange takes it from there (breakers, host pick,
 * retries; the endpoint layer's pool). Refusals are answered from the failure table. The
 * route table and clusters come from the RuntimeConfig in force when the request arrives;
 * a newer config never disturbs a request already under way.
 */
import type { Readable } from 'node:stream';
import type { RuntimeCluster } from '../cluster/index.js';
import { countFailure, FAILURE, FLAG, grpcStatusOf } from '../failure/index.js';
import {
  type ForwardRoute,
  type RouteRequest,
  redirectLocation,
  sessionHostKey,
} from '../router/index.js';
import {
  chooseCluster,
  chooseSessionCluster,
  decideRoute,
  MALFORMED_PATH,
  pickContext,
  Refusal,
  type RoutePolicy,
  upstreamAuthority,
  upstreamPath,
} from '../stack/index.js';
import { requestPrincipal } from '../tls/index.js';
import type { AccessLog } from './access-log.js';
import { type DownstreamResponse, isGrpcRequest, sendRefusal } from './downstream-reply.js';
import {
  type DownstreamRequest,
  Exchange,
  type ExchangeEnv,
  type ExchangeTelemetry,
  type RequestBody,
} from './exchange.js';
import { hasRequestBody } from './headers.js';
import type { RequestOutcome } from './istio-metrics.js';
import { normalizePath } from './path-normalization.js';
import type { Mirroring, RequestMirror } from './request-mirror.js';
import { splitTarget } from './request-target.js';
import type { ProxyStats } from './stats.js';

/** What the handler reads per request: swapped whole on every config update. */
export interface RouteView extends RoutePolicy {
  readonly clusters: ReadonlyMap<string, RuntimeCluster>;
  /** Traces and the access log, as the configuration in force says; absent: off. */
  readonly tracing?: ExchangeTelemetry['tracing'];
  readonly accessLog?: AccessLog;
}

/** A request refused by authorization, for the log (the rule that refused it). */
export interface Denial {
  readonly policy: string | undefined;
  readonly principal: string | undefined;
  readonly method: string;
  readonly authority: string;
  readonly path: string;
}

export interface HandlerOptions extends ExchangeEnv {
  /** The route view in force now, for this request's connection (inbound: its port). */
  readonly view: (req: DownstreamRequest) => RouteView;
  /** A request authorization refused. */
  readonly onDenied?: (d: Denial) => void;
  /** Sends the shadow copies of requests on routes that mirror. */
  readonly mirror?: RequestMirror;
}

/** What a refusal needs of the listener around it: counters, metrics, the denial log. */
export interface RefusalEnv {
  readonly stats: ProxyStats;
  readonly istio?: (x: RequestOutcome) => void;
  readonly onDenied?: (d: Denial) => void;
}

/**
 * Counts a refusal (its counter in the failure table; no route and no cluster as answered
 * requests too), tells the metrics, and logs a denial with the rule that made it.
 */
export function recordRefusal(
  env: RefusalEnv,
  r: Refusal,
  grpc: boolean,
  downstream: unknown,
  method: string,
  authority: string,
  path: string,
): void {
  const code = r.failure.flag;
  if (code === FLAG.NO_ROUTE || code === FLAG.NO_CLUSTER) env.stats.recordLocal(r.status, code);
  else countFailure(env.stats, r.failure);
  const grpcStatus = grpcStatusOf(r.failure, r.status, r.grpcStatus);
  env.istio?.(localOutcome(downstream, r.clusterName, r.status, grpc, r.flags, grpcStatus));
  if (r.failure === FAILURE.DENIED) {
    env.onDenied?.({ policy: r.policy, principal: r.principal, method, authority, path });
  }
}

/** Refuses a request locally: counted, logged, answered from the failure table. */
function refuse(
  options: HandlerOptions,
  log: AccessLog | undefined,
  req: DownstreamRequest,
  res: DownstreamResponse,
  r: Refusal,
  grpc: boolean,
  authority: string,
  path: string,
): void {
  const method = req.method ?? 'GET';
  const asGrpc = grpc || r.grpcStatus !== undefined;
  recordRefusal(options, r, asGrpc, req, method, authority, path);
  log?.local(method, req.headers, authority, path, r.status, r.flags);
  sendRefusal(res, r, grpc);
}

/** A request held back by an injected delay, and what to do after it. */
class Delayed {
  constructor(
    readonly options: HandlerOptions,
    readonly view: RouteView,
    readonly req: DownstreamRequest,
    readonly res: DownstreamResponse,
    readonly then: Refusal | ForwardRoute,
    readonly routeReq: RouteRequest,
    readonly grpc: boolean,
  ) {}
}

function afterDelay(d: Delayed): void {
  const { routeReq } = d;
  if (d.then instanceof Refusal) {
    refuse(
      d.options,
      d.view.accessLog,
      d.req,
      d.res,
      d.then,
      d.grpc,
      routeReq.authority,
      routeReq.path,
    );
  } else forward(d.options, d.view, d.req, d.res, d.then, routeReq, d.grpc);
}

/** A request the proxy answered itself, as the metrics see it. */
function localOutcome(
  downstream: unknown,
  clusterName: string | undefined,
  status: number,
  grpc: boolean,
  flag: string,
  grpcStatus: number,
): RequestOutcome {
  return {
    clusterName,
    status: grpc ? 200 : status,
    grpc,
    grpcStatus: grpc ? String(grpcStatus) : '',
    flags: flag,
    startedAt: performance.now(),
    requestBytes: 0,
    responseBytes: 0,
    downstreamSocket: downstream,
  };
}

/** The concrete layer on: the route's cluster, then the exchange (and its mirror copies). */
function forward(
  options: HandlerOptions,
  view: RouteView,
  req: DownstreamRequest,
  res: DownstreamResponse,
  route: ForwardRoute,
  routeReq: RouteRequest,
  grpc: boolean,
): void {
  // A sticky session names a host: its cluster, when a split has several (route.session is
  // undefined on every other route: nothing read, nothing allocated).
  const session = route.session;
  const sessionKey =
    session === undefined ? undefined : sessionHostKey(session, routeReq.headers, Date.now());
  const cluster =
    sessionKey === undefined
      ? chooseCluster(route, view.clusters, routeReq, options.random)
      : chooseSessionCluster(route, view.clusters, routeReq, options.random, sessionKey);
  if (cluster instanceof Refusal) {
    refuse(options, view.accessLog, req, res, cluster, grpc, routeReq.authority, routeReq.path);
    return;
  }
  const pick = pickContext(route, routeReq, req.socket?.remoteAddress ?? '');
  const path = routeReq.path;
  const toPath = upstreamPath(route, path);
  const toAuthority = upstreamAuthority(route, routeReq.authority);
  const headers = req.headers;
  // The fast path's and HTTP/2's requests carry their body; node's HTTP/1.1 request is it.
  const ownBody = (req as { body?: RequestBody }).body;
  let body: RequestBody =
    ownBody !== undefined ? ownBody : hasRequestBody(headers) ? (req as Readable) : null;
  let mirroring: Mirroring | undefined;
  if (route.mirrors !== undefined && options.mirror !== undefined) {
    mirroring = options.mirror.prepare(
      route,
      view.clusters,
      routeReq.method,
      headers,
      toAuthority,
      toPath,
      body,
    );
    if (mirroring !== undefined) body = mirroring.body;
  }
  new Exchange(
    req,
    res,
    route,
    cluster,
    toAuthority,
    toPath,
    grpc,
    pick,
    options,
    body,
    view,
    sessionKey,
  ).start();
  mirroring?.shadow.send();
}

export function createRequestHandler(
  options: HandlerOptions,
): (req: DownstreamRequest, res: DownstreamResponse) => void {
  return function handle(req, res) {
    const headers = req.headers;
    const isH2 = (req as { stream?: unknown }).stream !== undefined;
    const [authority, target] = isH2
      ? [(headers[':authority'] as string | undefined) ?? headers.host ?? '', req.url ?? '/']
      : splitTarget(req.url ?? '/', headers.host);
    const grpc = isGrpcRequest(headers['content-type']);
    const view = options.view(req);
    const log = view.accessLog;
    // Routes, policies and the upstream all see the one normalized path.
    const path = normalizePath(target);
    if (path === undefined) {
      refuse(options, log, req, res, MALFORMED_PATH, grpc, authority, target);
      return;
    }
    const method = req.method ?? 'GET';
    const routeReq: RouteRequest = { authority, path, method, headers };
    const decision = decideRoute(
      view,
      options,
      routeReq,
      view.rbac === undefined ? undefined : requestPrincipal(req),
    );
    switch (decision.kind) {
      case 'forward':
        forward(options, view, req, res, decision, routeReq, grpc);
        return;
      case 'refuse':
        refuse(options, log, req, res, decision, grpc, authority, path);
        return;
      case 'delay':
        setTimeout(
          afterDelay,
          decision.ms,
          new Delayed(options, view, req, res, decision.then, routeReq, grpc),
        );
        return;
      case 'direct-response':
        res.writeHead(decision.status, { 'x-ferry-response-flags': FLAG.DIRECT_RESPONSE });
        res.end(decision.body ?? '');
        return;
      case 'redirect':
        res.writeHead(decision.status, { location: redirectLocation(decision, routeReq, 'http') });
        res.end();
        return;
    }
  };
}
