/**
 * The live mesh the matrix runs in, started once: a control plane (an xDS server in this
 * process), real upstreams, and `ferry proxy` processes: two clients (the HTTP/1.1 fast path
 * and node's path) and four server sidecars in front of apps whose authorization refuses
 * something. Every policy cell has a service of its own (`<policy>-<row>`), so cells never
 * share a bucket, a breaker or an outlier detector.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type {
  AuthorizationRule,
  Protocol,
  Route,
  Service,
  ServicePolicy,
} from '../../../src/mesh/index.js';
import { getJson } from '../../support/http-client.js';
import { closedPort } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane } from '../../support/mesh-harness.js';
import { OtlpReceiver } from '../../support/otlp-receiver.js';
import { type SidecarProcess, startSidecarProcess } from '../../support/sidecar-process.js';
import { waitFor } from '../../support/wait-for.js';
import {
  type MatrixUpstream,
  startGrpcUpstream,
  startHttpUpstream,
  startTcpEcho,
  type TcpEcho,
} from './matrix-upstreams.js';

/** The rows whose client sends requests (each has its own service per policy). */
export const REQUEST_ROWS = ['h1-fast', 'h1-node', 'h2', 'grpc', 'websocket', 'connect'] as const;
export type RequestRow = (typeof REQUEST_ROWS)[number];

export const HTTP_PORT = 8080;
export const TCP_PORT = 9000;
/** The route timeout of the timeout cells. */
const ROUTE_TIMEOUT_MS = 300;
/** The status the abort faults inject (gRPC: RESOURCE_EXHAUSTED). */
export const FAULT_STATUS = 418;
export const FAULT_GRPC_STATUS = 8;

const POLICY: ServicePolicy = { loadBalancer: 'round_robin', connectTimeoutMs: 1000 };
const ONE_PER_MINUTE = { requestsPerUnit: 1, unit: 'minute' as const, burst: 0 };
/** Ejects an endpoint at its first failure and keeps it out for the whole run. */
const EJECT_AT_ONCE = {
  consecutive5xx: 1,
  consecutiveGatewayErrors: 1,
  intervalMs: 10_000,
  baseEjectionTimeMs: 600_000,
  maxEjectionPercent: 50,
};

const AUTHORIZATION: readonly AuthorizationRule[] = [
  {
    name: 'no-forbidden',
    action: 'DENY',
    from: [],
    to: [{ methods: [], paths: [{ prefix: '/forbidden' }], ports: [] }],
  },
  {
    name: 'no-connect',
    action: 'DENY',
    from: [],
    to: [{ methods: ['CONNECT'], paths: [], ports: [] }],
  },
];
const DENY_ALL: readonly AuthorizationRule[] = [
  { name: 'deny-all', action: 'DENY', from: [], to: [] },
];

function route(name: string, extra: Partial<Route>): Route {
  return { name, match: [], backends: [], ...extra };
}

const mirrorTo = (service: string) => ({ service, namespace: 'default', percentage: 100 });

/** The sidecar that serves a row's requests, and the server sidecar its authz cell calls. */
export function authzServiceOf(row: RequestRow): string {
  return row === 'h1-node' ? 'authz-node' : row === 'grpc' ? 'authz-grpc' : 'authz-fast';
}

export interface World {
  readonly cp: ControlPlane;
  readonly dir: string;
  readonly http: MatrixUpstream;
  readonly grpc: MatrixUpstream;
  /** The primary of the mirror row: answers everything at once. */
  readonly primary: MatrixUpstream;
  readonly shadow: MatrixUpstream;
  readonly echo: TcpEcho;
  /** A port nothing listens on: the failing endpoint of the outlier cells. */
  readonly closed: number;
  readonly otlp: OtlpReceiver;
  readonly fast: SidecarProcess;
  readonly node: SidecarProcess;
  /** Server sidecars by service name. */
  readonly servers: ReadonlyMap<string, SidecarProcess>;
  /** TCP forward ports by target service, on `fast` (tcp-idle: on `node`). */
  readonly forwards: ReadonlyMap<string, number>;
  readonly fastLog: string;
  readonly nodeLog: string;
  stop(): Promise<void>;
}

function meshConfig(
  u: { http: number; grpc: number; primary: number; shadow: number; echo: number },
  closed: number,
) {
  const services: Service[] = [];
  for (const row of REQUEST_ROWS) {
    const protocol: Protocol = row === 'grpc' ? 'grpc' : 'http';
    const up = row === 'grpc' ? u.grpc : u.http;
    const svc = (policy: string, extra: Partial<Service>) =>
      service(`${policy}-${row}`, HTTP_PORT, protocol, [up], extra);
    services.push(
      svc('rl', { routes: [route('limited', { rateLimit: ONE_PER_MINUTE })] }),
      svc('cb', { policy: { ...POLICY, circuitBreaker: { maxRequests: 1 } } }),
      service(`od-${row}`, HTTP_PORT, protocol, [up, closed], {
        policy: { ...POLICY, outlierDetection: EJECT_AT_ONCE, panicThreshold: 0 },
      }),
      svc('rt', {
        policy: {
          ...POLICY,
          retries: {
            attempts: 2,
            on: row === 'grpc' ? ['unavailable'] : ['5xx'],
            retriableStatusCodes: [],
            backoffBaseMs: 10,
            backoffMaxMs: 50,
          },
        },
      }),
      svc('to', { policy: { ...POLICY, timeoutMs: ROUTE_TIMEOUT_MS } }),
      svc('fi', {
        policy: {
          ...POLICY,
          fault: {
            abort:
              row === 'grpc'
                ? { grpcStatus: FAULT_GRPC_STATUS, percentage: 100 }
                : { httpStatus: FAULT_STATUS, percentage: 100 },
            headers: [],
          },
        },
      }),
      svc('mx', {}),
    );
  }
  // Server sidecars register themselves as these services' endpoints.
  services.push(
    service('authz-fast', HTTP_PORT, 'http', [], { authorization: AUTHORIZATION }),
    service('authz-node', HTTP_PORT, 'http', [], { authorization: AUTHORIZATION }),
    service('authz-grpc', HTTP_PORT, 'grpc', [], { authorization: AUTHORIZATION }),
    service('tcp-authz', TCP_PORT, 'tcp', [], { authorization: DENY_ALL }),
  );
  const mirrored = (name: string, shadow: string, extra: Partial<Route> = {}) =>
    service(name, HTTP_PORT, 'http', [u.primary], {
      routes: [route(name, { mirror: mirrorTo(shadow), ...extra })],
    });
  services.push(
    service('shadow', HTTP_PORT, 'http', [u.shadow]),
    service('shadow-cb', HTTP_PORT, 'http', [u.shadow], {
      policy: { ...POLICY, circuitBreaker: { maxRequests: 1 } },
    }),
    service('shadow-od', HTTP_PORT, 'http', [u.shadow, closed], {
      policy: { ...POLICY, outlierDetection: EJECT_AT_ONCE, panicThreshold: 0 },
    }),
    mirrored('mr-barrier', 'shadow'),
    mirrored('mr-rl', 'shadow', { rateLimit: ONE_PER_MINUTE }),
    mirrored('mr-cb', 'shadow-cb'),
    mirrored('mr-od', 'shadow-od'),
    mirrored('mr-to', 'shadow', { timeoutMs: ROUTE_TIMEOUT_MS }),
    mirrored('mr-fi', 'shadow', {
      fault: { abort: { httpStatus: FAULT_STATUS, percentage: 100 }, headers: [] },
    }),
    mirrored('mr-mx', 'shadow'),
  );
  services.push(
    service('tcp-cb', TCP_PORT, 'tcp', [u.echo], {
      policy: { ...POLICY, circuitBreaker: { maxConnections: 1 } },
    }),
    service('tcp-od', TCP_PORT, 'tcp', [u.echo, closed], {
      policy: { ...POLICY, outlierDetection: EJECT_AT_ONCE, panicThreshold: 0 },
    }),
    service('tcp-mx', TCP_PORT, 'tcp', [u.echo]),
    service('tcp-idle', TCP_PORT, 'tcp', [u.echo]),
  );
  return mesh(...services);
}

const FAST_FORWARDS = ['tcp-authz', 'tcp-cb', 'tcp-od', 'tcp-mx'];

/** The `tcp P -> svc:port` forwards a process printed. */
function forwardPorts(p: SidecarProcess, into: Map<string, number>): void {
  for (const m of p.stdout().matchAll(/tcp (\d+) -> ([a-z-]+):\d+/g)) into.set(m[2], Number(m[1]));
}

/** Waits until a sidecar has every endpoint of every cluster the world gave it. */
async function waitForEndpoints(
  p: SidecarProcess,
  want: ReadonlyMap<string, number>,
): Promise<void> {
  let missing: string[] = [];
  await waitFor(
    'the client sidecar to know every endpoint',
    async () => {
      const page = await getJson<{ clusters: Array<{ name: string; hosts: unknown[] }> }>(
        p.ports.admin,
        '/clusters?format=json',
      );
      const have = new Map(page.clusters.map((c) => [c.name, c.hosts.length]));
      missing = [...want].filter(([name, n]) => have.get(name) !== n).map(([name]) => name);
      return missing.length === 0;
    },
    120_000,
    50,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; missing: ${missing.join(', ')}`);
  });
}

export async function startWorld(): Promise<World> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ferry-matrix-'));
  const started: Array<{ stop(): Promise<void> }> = [];
  try {
    const [http, grpc, primary, shadow, echo, otlp, closed] = await Promise.all([
      startHttpUpstream('app'),
      startGrpcUpstream('grpc-app'),
      startHttpUpstream('primary', true),
      startHttpUpstream('shadow'),
      startTcpEcho(),
      OtlpReceiver.start(),
      closedPort(),
    ]);
    started.push(
      { stop: () => http.close() },
      { stop: () => grpc.close() },
      { stop: () => primary.close() },
      { stop: () => shadow.close() },
      { stop: () => echo.close() },
      { stop: () => otlp.close() },
    );
    const config = meshConfig(
      {
        http: http.port,
        grpc: grpc.port,
        primary: primary.port,
        shadow: shadow.port,
        echo: echo.port,
      },
      closed,
    );
    const cp = await startControlPlane(config);
    started.push({ stop: () => cp.close() });
    const xds = ['--xds', `127.0.0.1:${cp.xdsPort}`];
    const proc = async (args: string[]) => {
      const p = await startSidecarProcess([...xds, ...args], 120_000);
      started.push({ stop: () => p.kill() });
      return p;
    };
    const fastLog = path.join(dir, 'fast.log');
    const nodeLog = path.join(dir, 'node.log');
    const tracing = ['--tracing-endpoint', otlp.url];
    const [fast, node, ...serverList] = await Promise.all([
      proc([
        '--service',
        'matrix-fast',
        '--http1',
        'fast',
        '--access-log',
        fastLog,
        ...tracing,
        ...FAST_FORWARDS.flatMap((t) => ['--tcp-forward', `0=${t}:${TCP_PORT}`]),
      ]),
      proc([
        '--service',
        'matrix-node',
        '--http1',
        'node',
        '--access-log',
        nodeLog,
        ...tracing,
        '--tcp-idle-timeout',
        '1s',
        '--tcp-forward',
        `0=tcp-idle:${TCP_PORT}`,
      ]),
      proc(['--service', 'authz-fast', '--http1', 'fast', '--app-port', String(http.port)]),
      proc(['--service', 'authz-node', '--http1', 'node', '--app-port', String(http.port)]),
      proc(['--service', 'authz-grpc', '--app-port', String(grpc.port)]),
      proc(['--service', 'tcp-authz', '--app-port', String(echo.port)]),
    ]);
    const servers = new Map(
      ['authz-fast', 'authz-node', 'authz-grpc', 'tcp-authz'].map((s, i) => [s, serverList[i]]),
    );
    const forwards = new Map<string, number>();
    forwardPorts(fast, forwards);
    forwardPorts(node, forwards);
    const want = new Map<string, number>();
    for (const s of config.services) {
      const port = s.ports[0].port;
      want.set(clusterName(s.name, port), s.endpoints.length || 1);
    }
    await Promise.all([waitForEndpoints(fast, want), waitForEndpoints(node, want)]);
    return {
      cp,
      dir,
      http,
      grpc,
      primary,
      shadow,
      echo,
      closed,
      otlp,
      fast,
      node,
      servers,
      forwards,
      fastLog,
      nodeLog,
      async stop() {
        for (const s of started.reverse()) await s.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
