/**
 * Active health checking of a cluster's hosts, from Envoy's `Cluster.health_checks`: an
 * HTTP GET of a path with expected statuses, a TCP connect, or the gRPC health protocol
 * (grpc.health.v1.Health/Check, SERVING), every `interval`, each with a `timeout`. A host
 * is marked unhealthy after `unhealthy_threshold` failures in a row and healthy again after
 * `healthy_threshold` successes in a row; the cluster then rebuilds its balancer (a mostly
 * unhealthy cluster still serves, by the panic threshold, as Envoy does). Hosts start
 * healthy: a new host takes traffic until its checks say otherwise. A check goes over the
 * host's own transport, as Envoy's do: mutual TLS to a host that runs a sidecar (so a STRICT
 * one accepts it), plain TCP to the others.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/health_checking
 */

import http from 'node:http';
import type { SecureContext } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { FerryError } from '../../errors/index.js';
import { durationMs, type envoy } from '../../xds/index.js';
import type { Host } from '../lb/index.js';
import { connectEndpoint, type UpstreamTls } from '../upstream/index.js';

type Kind =
  | {
      readonly type: 'http';
      readonly path: string;
      readonly host: string;
      readonly expected: ReadonlyArray<readonly [number, number]>;
    }
  | { readonly type: 'tcp' }
  | { readonly type: 'grpc'; readonly service: string };

export interface HealthCheckConfig {
  readonly kind: Kind;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly unhealthyThreshold: number;
  readonly healthyThreshold: number;
}

const ms = (d: envoy.Duration | undefined, fallback: number) => durationMs(d) ?? fallback;

/** The Cluster fields read. */
export type HealthChecksResource = Pick<envoy.Cluster, 'name' | 'health_checks'>;

export class HealthCheckConfigError extends FerryError {
  constructor(message: string) {
    super('FERRY_HEALTH_CHECK_INVALID', message);
  }
}

/** The cluster's first health check, or undefined when it has none. */
export function parseHealthCheck(r: HealthChecksResource): HealthCheckConfig | undefined {
  const hc = r.health_checks?.[0];
  if (!hc) return undefined;
  let kind: Kind;
  if (hc.http_health_check) {
    const h = hc.http_health_check;
    if (!h.path)
      throw new HealthCheckConfigError('health_checks[0].http_health_check.path is required');
    const expected = (h.expected_statuses ?? []).map(
      (s) => [Number(s.start ?? 0), Number(s.end ?? 0)] as const,
    );
    kind = {
      type: 'http',
      path: h.path,
      host: h.host || r.name || 'localhost',
      // Envoy's default: 200 only.
      expected: expected.length > 0 ? expected : [[200, 201]],
    };
  } else if (hc.grpc_health_check) {
    kind = { type: 'grpc', service: hc.grpc_health_check.service_name ?? '' };
  } else if (hc.tcp_health_check) {
    kind = { type: 'tcp' };
  } else {
    throw new HealthCheckConfigError(
      'health_checks[0]: one of http_health_check, tcp_health_check, grpc_health_check is required',
    );
  }
  const intervalMs = ms(hc.interval, 0);
  const timeoutMs = ms(hc.timeout, 0);
  if (!(intervalMs > 0)) throw new HealthCheckConfigError('health_checks[0].interval must be > 0');
  if (!(timeoutMs > 0)) throw new HealthCheckConfigError('health_checks[0].timeout must be > 0');
  return {
    kind,
    intervalMs,
    timeoutMs,
    unhealthyThreshold: hc.unhealthy_threshold?.value ?? 1,
    healthyThreshold: hc.healthy_threshold?.value ?? 1,
  };
}

/** grpc.health.v1 messages, encoded by hand: HealthCheckRequest{service=1}, Response{status=1}. */
const identity = (b: Buffer) => b;
const HEALTH_METHOD: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/grpc.health.v1.Health/Check',
  requestStream: false,
  responseStream: false,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
};
const SERVING = 1;

function healthRequest(service: string): Buffer {
  const name = Buffer.from(service);
  return name.length === 0
    ? Buffer.alloc(0)
    : Buffer.concat([Buffer.from([0x0a, name.length]), name]);
}

function servingStatus(reply: Buffer): number {
  // field 1, varint
  return reply.length >= 2 && reply[0] === 0x08 ? reply[1] : 0;
}

class HostState {
  failures = 0;
  successes = 0;
  timer: NodeJS.Timeout | undefined;
  grpcClient: grpc.Client | undefined;
  /** The secure context the gRPC client was made with (a rotation makes a new client). */
  grpcContext: SecureContext | undefined;
}

/** What the checker needs of its cluster. */
export interface HealthEvents {
  /** A host went healthy or unhealthy: the cluster rebuilds its balancer. */
  changed(): void;
  transition?(host: Host, healthy: boolean, reason: string): void;
  /** The host's mTLS, when it runs a sidecar; checks then go over mutual TLS. */
  tls?(host: Host): UpstreamTls | undefined;
}

export class HealthChecker {
  private readonly states = new Map<Host, HostState>();
  private stopped = false;

  constructor(
    public config: HealthCheckConfig,
    private events: HealthEvents,
  ) {}

  /** Checks exactly these hosts from now on (new ones start, gone ones stop). */
  retain(hosts: readonly Host[]): void {
    const keep = new Set(hosts);
    for (const [host, state] of this.states) {
      if (keep.has(host)) continue;
      this.stopHost(state);
      this.states.delete(host);
    }
    for (const host of hosts) {
      if (this.states.has(host)) continue;
      const state = new HostState();
      this.states.set(host, state);
      // Spread the first checks over the interval, so hosts are not probed in lockstep.
      state.timer = setTimeout(
        check,
        Math.floor(Math.random() * this.config.intervalMs),
        this,
        host,
      );
      state.timer.unref();
    }
  }

  rebind(events: HealthEvents): void {
    this.events = events;
  }

  /** One probe of `host`, then the next one scheduled. */
  async probe(host: Host): Promise<void> {
    const state = this.states.get(host);
    if (!state || this.stopped) return;
    const ok = await this.run(host, state).catch(() => false);
    if (this.states.get(host) !== state || this.stopped) return;
    const c = this.config;
    if (ok) {
      state.failures = 0;
      state.successes++;
      if (host.failedHealthCheck && state.successes >= c.healthyThreshold) {
        host.failedHealthCheck = false;
        this.events.transition?.(host, true, 'health check passed');
        this.events.changed();
      }
    } else {
      state.successes = 0;
      state.failures++;
      if (!host.failedHealthCheck && state.failures >= c.unhealthyThreshold) {
        host.failedHealthCheck = true;
        this.events.transition?.(host, false, `${c.kind.type} health check failed`);
        this.events.changed();
      }
    }
    state.timer = setTimeout(check, c.intervalMs, this, host);
    state.timer.unref();
  }

  private run(host: Host, state: HostState): Promise<boolean> {
    const { kind, timeoutMs } = this.config;
    const secure = this.events.tls?.(host);
    if (kind.type === 'tcp') {
      return new Promise((resolve) => {
        // Connected (and, over mTLS, the handshake done, the peer's identity checked).
        const { socket: s, ready } = connectEndpoint(host.address, host.port, secure);
        s.setTimeout(timeoutMs, () => s.destroy());
        s.once(ready, () => {
          s.destroy();
          resolve(true);
        });
        s.once('close', () => resolve(false));
        s.once('error', () => resolve(false));
      });
    }
    if (kind.type === 'http') {
      return new Promise((resolve) => {
        const req = http.get(
          {
            host: host.address,
            port: host.port,
            path: kind.path,
            headers: { host: kind.host, 'user-agent': 'ferry-health-checker' },
            timeout: timeoutMs,
            // No agent: a connection of its own, closed after the response.
            createConnection: () => connectEndpoint(host.address, host.port, secure).socket,
          },
          (res) => {
            res.resume();
            const status = res.statusCode ?? 0;
            resolve(kind.expected.some(([start, end]) => status >= start && status < end));
          },
        );
        req.on('timeout', () => req.destroy());
        req.on('error', () => resolve(false));
      });
    }
    const client = grpcClient(host, state, secure);
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        HEALTH_METHOD.path,
        identity,
        identity,
        healthRequest(kind.service),
        { deadline: Date.now() + timeoutMs },
        (err, reply) => resolve(!err && reply !== undefined && servingStatus(reply) === SERVING),
      );
    });
  }

  private stopHost(state: HostState): void {
    if (state.timer) clearTimeout(state.timer);
    state.grpcClient?.close();
  }

  /** Health checking was turned off: every host is healthy again. */
  stop(): void {
    this.stopped = true;
    let changed = false;
    for (const [host, state] of this.states) {
      this.stopHost(state);
      if (host.failedHealthCheck) {
        host.failedHealthCheck = false;
        changed = true;
      }
    }
    this.states.clear();
    if (changed) this.events.changed();
  }
}

/** The host's gRPC client: over mTLS with the current certificate, or plaintext. */
function grpcClient(host: Host, state: HostState, secure: UpstreamTls | undefined): grpc.Client {
  const context = secure?.context();
  if (state.grpcClient && state.grpcContext === context) return state.grpcClient;
  state.grpcClient?.close();
  const target = `${host.address.includes(':') ? `[${host.address}]` : host.address}:${host.port}`;
  state.grpcContext = context;
  state.grpcClient =
    secure && context
      ? new grpc.Client(
          target,
          grpc.credentials.createFromSecureContext(context, {
            checkServerIdentity: secure.verify,
          }),
          secure.servername ? { 'grpc.ssl_target_name_override': secure.servername } : {},
        )
      : new grpc.Client(target, grpc.credentials.createInsecure());
  return state.grpcClient;
}

function check(checker: HealthChecker, host: Host): void {
  void checker.probe(host);
}
