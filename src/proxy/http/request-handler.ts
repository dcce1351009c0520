/**
 * The HTTP data path, as one straight line: request -> route table (logical) -> cluster
 * and balancer (concrete) -> Exchange (endpoint: pool, retries) -> response. The route
 * table and clusters come from the RuntimeConfig in force when the request arrives; a
 * newer config never disturbs a request already under way.
 */
import type { Readable } from 'node:stream';
import type { RuntimeCluster } from '../cluster/index.js';
import type { FaultAbort } from '../fault/index.js';
import { hashKey, NO_HASH, type PickContext } from '../lb/index.js';
import type { LocalRateLimiter } from '../ratelimit/index.js';
import type { RbacEngine } from '../rbac/index.js';
import {
  hashInput,
  type RouteRequest,
  type RouteTable,
  redirectLocation,
  rewritePath,
} from '../router/index.js';
import { requestPrincipal } from '../tls/index.js';
import type { AccessLog } from './access-log.js';
import {
  type DownstreamRequest,
  Exchange,
  type ExchangeEnv,
  type ExchangeTelemetry,
  type RequestBody,
} from './exchange.js';
import { hasRequestBody } from './headers.js';
import type { RequestOutcome } from './istio-metrics.js';
import {
  type DownstreamResponse,
  grpcStatusForHttp,
  isGrpcRequest,
  sendLocalReply,
} from './local-reply.js';
import { normalizePath } from './path-normalization.js';
import type { Mirroring, RequestMirror } from './request-mirror.js';
import { splitTarget } from './request-target.js';
import { FLAG } from './response-flags.js';
import type { RouteFilters } from './route-filters.js';

/** What the handler reads per request: swapped whole on every config update. */
export interface RouteView {
  readonly table: RouteTable | undefined;
  readonly clusters: ReadonlyMap<string, RuntimeCluster>;
  /** Authorization of requests on this listener (inbound), from the RBAC filters. */
  readonly rbac?: RbacEngine;
  /** The listener's port, as RBAC's destination_port sees it. */
  readonly port?: number;
  /** The listener's own rate limit (inbound: the service's), after authorization. */
  readonly rateLimit?: LocalRateLimiter;
  /** Traces and the access log, as the configuration in force says; absent: off. */
  readonly tracing?: ExchangeTelemetry['tracing'];
  readonly accessLog?: AccessLog;
  /** The table's per-route HTTP filters (fault injection, rate limits), compiled with it. */
  readonly filters?: RouteFilters;
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

/** Refuses a request locally: counted, logged, answered (status, flag). */
function refuse(
  options: HandlerOptions,
  log: AccessLog | undefined,
  req: DownstreamRequest,
  res: DownstreamResponse,
  status: number,
  body: string,
  grpc: boolean,
  flag: string,
  authority: string,
  path: string,
  grpcStatus?: number,
): void {
  options.istio?.(localOutcome(req, status, grpc, flag));
  log?.local(req.method ?? 'GET', req.headers, authority, path, status, flag);
  sendLocalReply(res, status, body, grpc, flag, grpcStatus);
}

/** Refuses a request a local rate limiter turned away (its status, RL). */
function rateLimited(
  options: HandlerOptions,
  log: AccessLog | undefined,
  req: DownstreamRequest,
  res: DownstreamResponse,
  limiter: LocalRateLimiter,
  grpc: boolean,
  authority: string,
  path: string,
): void {
  options.stats.rateLimited++;
  const flag = FLAG.RATE_LIMITED;
  refuse(options, log, req, res, limiter.status, 'local_rate_limited', grpc, flag, authority, path);
}

/** A request held back by an injected delay, and what to do after it. */
class Delayed {
  constructor(
    readonly exchange: Exchange,
    readonly abort: FaultAbort | undefined,
    readonly options: HandlerOptions,
    readonly authority: string,
    readonly path: string,
    readonly mirroring: Mirroring | undefined,
  ) {}
}

function afterDelay(d: Delayed): void {
  const x = d.exchange;
  if (d.abort)
    abortWith(
      d.options,
      x.accessLog,
      x.req,
      x.res,
      x.grpc,
      d.abort,
      FLAG.FAULT_DELAY,
      d.authority,
      d.path,
    );
  else {
    x.start();
    d.mirroring?.shadow.send();
  }
}

/** Answers an injected abort: its HTTP status, or its gRPC status in a trailers-only reply. */
function abortWith(
  options: HandlerOptions,
  log: AccessLog | undefined,
  req: DownstreamRequest,
  res: DownstreamResponse,
  grpc: boolean,
  abort: FaultAbort,
  extraFlag: string,
  authority: string,
  path: string,
): void {
  options.stats.faults++;
  const flag = extraFlag ? `${extraFlag},${FLAG.FAULT_ABORT}` : FLAG.FAULT_ABORT;
  const status = abort.httpStatus ?? 200;
  refuse(
    options,
    log,
    req,
    res,
    status,
    'fault filter abort',
    grpc || abort.grpcStatus !== undefined,
    flag,
    authority,
    path,
    abort.grpcStatus,
  );
}

/** A request the proxy answered itself, as the metrics see it. */
function localOutcome(
  req: DownstreamRequest,
  status: number,
  grpc: boolean,
  flag: string,
): RequestOutcome {
  return {
    clusterName: undefined,
    status: grpc ? 200 : status,
    grpc,
    grpcStatus: grpc ? String(grpcStatusForHttp(status)) : '',
    flags: flag,
    startedAt: performance.now(),
    requestBytes: 0,
    responseBytes: 0,
    downstreamSocket: req,
  };
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
      options.stats.downstreamProtocolErrors++;
      const flag = FLAG.DOWNSTREAM_PROTOCOL_ERROR;
      refuse(
        options,
        log,
        req,
        res,
        400,
        'malformed percent-encoding in path',
        grpc,
        flag,
        authority,
        target,
      );
      return;
    }
    const method = req.method ?? 'GET';
    const rbac = view.rbac;
    if (rbac !== undefined) {
      const principal = requestPrincipal(req);
      const decision = rbac.evaluate({ principal, method, path, port: view.port ?? 0 });
      if (!decision.allowed) {
        // Envoy's answer: 403 "RBAC: access denied" (PERMISSION_DENIED for gRPC).
        options.stats.denied++;
        options.istio?.(localOutcome(req, 403, grpc, ''));
        options.onDenied?.({ policy: decision.policy, principal, method, authority, path });
        log?.local(method, headers, authority, path, 403, '');
        sendLocalReply(res, 403, 'RBAC: access denied', grpc, '');
        return;
      }
    }
    const listenerLimit = view.rateLimit;
    if (listenerLimit !== undefined && !listenerLimit.allow(performance.now(), options.random)) {
      rateLimited(options, log, req, res, listenerLimit, grpc, authority, path);
      return;
    }
    const routeReq: RouteRequest = { authority, path, method, headers };
    const route = view.table?.match(routeReq);
    if (!route) {
      options.stats.recordLocal(404, 'NR');
      const reason = `no route for ${authority}${path}`;
      refuse(options, log, req, res, 404, reason, grpc, FLAG.NO_ROUTE, authority, path);
      return;
    }
    if (route.kind === 'direct-response') {
      res.writeHead(route.status, { 'x-ferry-response-flags': FLAG.DIRECT_RESPONSE });
      res.end(route.body ?? '');
      return;
    }
    if (route.kind === 'redirect') {
      res.writeHead(route.status, { location: redirectLocation(route, routeReq, 'http') });
      res.end();
      return;
    }
    const clusterName = route.pickCluster(options.random(), routeReq);
    const cluster = clusterName === undefined ? undefined : view.clusters.get(clusterName);
    if (!cluster) {
      options.stats.recordLocal(503, 'NC');
      const reason = `no cluster ${clusterName ?? ''}`;
      refuse(options, log, req, res, 503, reason, grpc, FLAG.NO_CLUSTER, authority, path);
      return;
    }
    let pick: PickContext = NO_HASH;
    if (route.hashPolicies.length > 0) {
      const input = hashInput(route.hashPolicies, routeReq, req.socket?.remoteAddress ?? '');
      if (input !== undefined) pick = { hash: hashKey(input) };
    }
    const upstreamPath = route.pathRewrite ? rewritePath(route, path) : path;
    const fastBody = (req as { body?: RequestBody }).body;
    let body: RequestBody =
      fastBody !== undefined
        ? fastBody
        : hasRequestBody(
              headers,
              isH2
                ? (req as { stream: { endAfterHeaders: boolean } }).stream.endAfterHeaders
                : undefined,
            )
          ? (req as Readable)
          : null;
    let mirroring: Mirroring | undefined;
    if (route.mirrors !== undefined && options.mirror !== undefined) {
      const upstreamAuthority = route.hostRewrite ?? authority;
      mirroring = options.mirror.prepare(
        route,
        view.clusters,
        method,
        headers,
        upstreamAuthority,
        upstreamPath,
        body,
      );
      if (mirroring !== undefined) body = mirroring.body;
    }
    const exchange = new Exchange(
      req,
      res,
      route,
      cluster,
      route.hostRewrite ?? authority,
      upstreamPath,
      grpc,
      pick,
      options,
      body,
      view,
    );
    if (route.perFilterConfig !== undefined && view.filters !== undefined) {
      const { fault, limiter } = view.filters.of(route);
      if (limiter !== undefined && !limiter.allow(performance.now(), options.random)) {
        rateLimited(options, log, req, res, limiter, grpc, authority, path);
        return;
      }
      const decision = fault?.decide(headers, options.random);
      if (decision !== undefined) {
        if (decision.delayMs > 0) {
          setTimeout(
            afterDelay,
            decision.delayMs,
            new Delayed(exchange, decision.abort, options, authority, path, mirroring),
          );
          return;
        }
        if (decision.abort) {
          abortWith(options, log, req, res, grpc, decision.abort, '', authority, path);
          return;
        }
      }
    }
    exchange.start();
    mirroring?.shadow.send();
  };
}
