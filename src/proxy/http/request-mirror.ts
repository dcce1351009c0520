/**
 * Request mirroring (shadowing), as Envoy's router does it for `request_mirror_policies`:
 * for the chosen share of a route's requests, a copy goes to the mirror cluster with `-shadow`
 * appended to its host, fire and forget. The shadow's response is read and thrown away; it
 * never delays, changes or fails the client's response. What shadows may hold is bounded: at
 * most `maxActive` at once per sidecar (and the mirror cluster's own max_requests), each ended
 * by the route timeout (15 s when the route has none), and a body is copied only when it is
 * complete and within the buffer limit. A shadow that cannot be sent is counted as dropped.
 * Routes without mirrors never get here: the handler checks `route.mirrors` once.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/route/v3/route_components.proto#config-route-v3-routeaction-requestmirrorpolicy
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { FerryError } from '../../errors/index.js';
import type { RuntimeCluster } from '../cluster/index.js';
import { Host, NO_HASH } from '../lb/index.js';
import {
  DEFAULT_ROUTE_TIMEOUT_MS,
  type ForwardRoute,
  isMirrored,
  type MirrorPolicy,
  shadowAuthority,
} from '../router/index.js';
import {
  acquireHost,
  endpointPool,
  hostBegin,
  hostDone,
  release,
  reportLocalFailure,
  reportStatus,
} from '../stack/index.js';
import type { UpstreamPools } from '../upstream/index.js';
import { upstreamRequestHeaders } from './headers.js';
import { ReplayableBody } from './request-body.js';
import type { ProxyStats } from './stats.js';

/** Shadows in flight at once per sidecar, by default; more are dropped, not queued. */
export const DEFAULT_MAX_SHADOWS = 64;

const SHADOW_TIMEOUT = new FerryError('FERRY_SHADOW_TIMEOUT', 'shadow request timeout');
const SHADOW_CLOSED = new FerryError('FERRY_SHADOW_CLOSED', 'the sidecar is stopping');

export interface MirrorEnv {
  readonly pools: UpstreamPools;
  readonly random: () => number;
  readonly stats: ProxyStats;
  /** The largest streamed body copied for a shadow (the retry buffer limit). */
  readonly bodyLimit: number;
  readonly maxActive: number;
}

/** One shadow in flight: undici's handler, reading the response only to discard it. */
class Shadow implements Dispatcher.DispatchHandler {
  controller: Dispatcher.DispatchController | undefined = undefined;
  timer: NodeJS.Timeout | undefined = undefined;
  done = false;
  /** Why the shadow was given up before undici handed over its controller, if it was. */
  abortedBy: Error | undefined = undefined;

  constructor(
    readonly mirror: RequestMirror,
    readonly cluster: RuntimeCluster,
    readonly host: Host,
  ) {}

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.abortedBy) controller.abort(this.abortedBy);
  }

  /** Gives up on the shadow now (its timeout, or the sidecar stopping). */
  abort(reason: Error): void {
    if (this.done) return;
    this.abortedBy = reason;
    this.controller?.abort(reason);
  }

  onResponseStart(_c: Dispatcher.DispatchController, status: number): void {
    reportStatus(this.cluster, this.host, status);
  }

  onResponseData(): void {}

  onResponseEnd(): void {
    this.mirror.finish(this, false);
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (err !== SHADOW_TIMEOUT && err !== SHADOW_CLOSED) {
      reportLocalFailure(this.cluster, this.host);
    }
    this.mirror.finish(this, true);
  }
}

function onShadowTimeout(shadow: Shadow): void {
  shadow.timer = undefined;
  shadow.abort(SHADOW_TIMEOUT);
}

/** What a shadow copies of its request; the body may still be arriving. */
class ShadowRequest {
  constructor(
    readonly mirror: RequestMirror,
    readonly route: ForwardRoute,
    /** The route's mirror policies whose roll came up for this request. */
    readonly policies: readonly MirrorPolicy[],
    readonly clusters: ReadonlyMap<string, RuntimeCluster>,
    readonly method: string,
    readonly headers: IncomingHttpHeaders,
    readonly authority: string,
    readonly path: string,
    /** The whole body, or null; undefined while a streamed body is still being copied. */
    public body: Buffer | null | undefined,
  ) {}

  /** send() was called: the request went upstream (no fault or limit refused it). */
  private wanted = false;
  /** The streamed body went over the limit: no shadow. */
  private tooLarge = false;

  /** Sends the shadows now, or once the body has arrived whole. */
  send(): void {
    this.wanted = true;
    if (this.tooLarge) this.mirror.env.stats.shadowsBodyTooLarge++;
    else if (this.body !== undefined) this.mirror.dispatch(this, this.body);
  }

  /** A streamed body ended: its copy, or undefined when it was over the limit. */
  bodyComplete(body: Buffer | undefined): void {
    if (body === undefined) {
      this.tooLarge = true;
      if (this.wanted) this.mirror.env.stats.shadowsBodyTooLarge++;
      return;
    }
    this.body = body;
    if (this.wanted) this.mirror.dispatch(this, body);
  }
}

/** A request about to be mirrored: the body the primary request reads, and the shadows' copy. */
export interface Mirroring {
  readonly body: Buffer | Readable | null;
  readonly shadow: ShadowRequest;
}

export class RequestMirror {
  /** Shadows in flight. */
  active = 0;
  private readonly inFlight = new Set<Shadow>();
  private closed = false;

  constructor(readonly env: MirrorEnv) {}

  /**
   * Ends every shadow in flight and sends no more: shadows are fire and forget, and a stopping
   * sidecar does not wait for them (a graceful pool close would, until their timeout).
   */
  close(): void {
    this.closed = true;
    for (const shadow of [...this.inFlight]) shadow.abort(SHADOW_CLOSED);
  }

  /**
   * Rolls the route's mirror policies for a request and, when one comes up, prepares its
   * shadows before the primary request takes the body: a streamed body is teed, the copy kept
   * up to the limit. Undefined when nothing is mirrored: the request goes on untouched.
   */
  prepare(
    route: ForwardRoute,
    clusters: ReadonlyMap<string, RuntimeCluster>,
    method: string,
    headers: IncomingHttpHeaders,
    authority: string,
    path: string,
    body: Buffer | Readable | null,
  ): Mirroring | undefined {
    let policies: MirrorPolicy[] | undefined;
    for (const p of route.mirrors ?? []) {
      if (!isMirrored(p, this.env.random())) continue;
      if (policies === undefined) policies = [p];
      else policies.push(p);
    }
    if (policies === undefined) return undefined;
    const copied = body === null || Buffer.isBuffer(body) ? body : undefined;
    const shadow = new ShadowRequest(
      this,
      route,
      policies,
      clusters,
      method,
      headers,
      authority,
      path,
      copied,
    );
    if (body === null || Buffer.isBuffer(body)) return { body, shadow };
    const copy = new ReplayableBody(body, this.env.bodyLimit);
    const primary = copy.first();
    // Registered after the copy's own listener: by now it knows whether the body fitted.
    body.once('end', () => shadow.bodyComplete(copy.replayable ? copy.replay() : undefined));
    return { body: primary, shadow };
  }

  /** Sends one shadow per mirror policy chosen for the request. */
  dispatch(request: ShadowRequest, body: Buffer | null): void {
    for (const policy of request.policies) this.sendOne(request, policy, body);
  }

  private sendOne(request: ShadowRequest, policy: MirrorPolicy, body: Buffer | null): void {
    const stats = this.env.stats;
    const name =
      policy.clusterHeader === undefined
        ? policy.cluster
        : firstValue(request.headers[policy.clusterHeader]);
    // No cluster header: Envoy sends no shadow, and that is not a drop.
    if (name === undefined) return;
    const cluster = request.clusters.get(name);
    if (cluster === undefined || this.active >= this.env.maxActive || this.closed) {
      stats.shadowsDropped++;
      return;
    }
    // The mirror cluster's breakers and an outlier-aware pick, as for any request.
    const host = acquireHost(cluster, NO_HASH);
    if (!(host instanceof Host)) {
      stats.shadowsDropped++;
      return;
    }
    this.active++;
    stats.shadows++;
    stats.shadowsActive = this.active;
    hostBegin(host);
    const shadow = new Shadow(this, cluster, host);
    this.inFlight.add(shadow);
    const timeoutMs =
      request.route.timeoutMs > 0 ? request.route.timeoutMs : DEFAULT_ROUTE_TIMEOUT_MS;
    shadow.timer = setTimeout(onShadowTimeout, timeoutMs, shadow);
    const authority = policy.suffixHost ? shadowAuthority(request.authority) : request.authority;
    endpointPool(this.env.pools, cluster, host).dispatch(
      {
        path: request.path,
        method: request.method as Dispatcher.HttpMethod,
        headers: upstreamRequestHeaders(request.headers, authority, 1),
        body,
      },
      shadow,
    );
  }

  /** A shadow ended (its response read whole, or failed): its slots are given back. */
  finish(shadow: Shadow, failed: boolean): void {
    if (shadow.done) return;
    shadow.done = true;
    if (shadow.timer) clearTimeout(shadow.timer);
    shadow.timer = undefined;
    this.inFlight.delete(shadow);
    hostDone(shadow.host);
    release(shadow.cluster);
    this.active--;
    const stats = this.env.stats;
    stats.shadowsActive = this.active;
    if (failed) stats.shadowsFailed++;
  }
}

function firstValue(v: string | string[] | undefined): string | undefined {
  const value = typeof v === 'string' ? v : v?.[0];
  return value ? value : undefined;
}
