/**
 * The app probes the injector moved off the app and onto the sidecar: what the kubelet
 * would have done (a Kubernetes Probe's handler, with named ports already resolved), keyed
 * by the path the rewritten probe now asks the sidecar for. The injector writes them as
 * JSON into the sidecar's environment (APP_PROBES_ENV); the sidecar reads them back here,
 * once, at start. https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/pod-v1/#Probe
 */
import { ProberError } from './prober-error.js';

/** The environment variable that carries the probes (JSON of `AppProbes`). */
export const APP_PROBES_ENV = 'FERRY_APP_PROBES';

/** Where a rewritten probe points, as Istio's `/app-health/<container>/<livez|readyz|startupz>`. */
export const APP_HEALTH_PREFIX = '/app-health/';

export type ProbeKind = 'livenessProbe' | 'readinessProbe' | 'startupProbe';

const KIND_SUFFIX: Readonly<Record<ProbeKind, string>> = {
  livenessProbe: 'livez',
  readinessProbe: 'readyz',
  startupProbe: 'startupz',
};

export const PROBE_KINDS: readonly ProbeKind[] = [
  'livenessProbe',
  'readinessProbe',
  'startupProbe',
];

/** The sidecar path of one container's probe of one kind. */
export function appHealthPath(container: string, kind: ProbeKind): string {
  return `${APP_HEALTH_PREFIX}${container}/${KIND_SUFFIX[kind]}`;
}

export interface HttpHeader {
  readonly name: string;
  readonly value: string;
}

export interface HttpGetProbe {
  readonly path: string;
  readonly port: number;
  readonly scheme: 'HTTP' | 'HTTPS';
  /** The address to connect to; absent: the pod's own. */
  readonly host?: string;
  readonly httpHeaders?: readonly HttpHeader[];
}

export interface TcpSocketProbe {
  readonly port: number;
  readonly host?: string;
}

export interface GrpcProbe {
  readonly port: number;
  /** The service name sent in grpc.health.v1.HealthCheckRequest; absent: '' (the server). */
  readonly service?: string;
}

/** Exactly one handler, and the probe's timeout (Kubernetes' default: 1 s). */
export type AppProbe =
  | { readonly httpGet: HttpGetProbe; readonly timeoutSeconds: number }
  | { readonly tcpSocket: TcpSocketProbe; readonly timeoutSeconds: number }
  | { readonly grpc: GrpcProbe; readonly timeoutSeconds: number };

/** Probes by sidecar path. */
export type AppProbes = Readonly<Record<string, AppProbe>>;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(where: string, why: string): ProberError {
  const at = where ? `${APP_PROBES_ENV} ${where}` : APP_PROBES_ENV;
  return new ProberError('FERRY_PROBER_BAD_CONFIG', `${at}: ${why}`);
}

function port(where: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw bad(`${where}.port`, `${JSON.stringify(v)} is not a port number (1-65535)`);
  }
  return v;
}

function optionalString(where: string, v: unknown): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(where, 'must be a string');
  return v;
}

function httpGet(where: string, v: unknown): HttpGetProbe {
  if (!isObject(v)) throw bad(where, 'must be an object');
  const path = optionalString(`${where}.path`, v.path) ?? '/';
  const scheme = v.scheme ?? 'HTTP';
  if (scheme !== 'HTTP' && scheme !== 'HTTPS') {
    throw bad(`${where}.scheme`, `${JSON.stringify(scheme)} is not HTTP or HTTPS`);
  }
  const headers = v.httpHeaders ?? [];
  if (!Array.isArray(headers)) throw bad(`${where}.httpHeaders`, 'must be a list');
  const httpHeaders = headers.map((h: unknown, i) => {
    if (!isObject(h) || typeof h.name !== 'string' || typeof h.value !== 'string' || !h.name) {
      throw bad(`${where}.httpHeaders[${i}]`, 'must be {name, value} strings');
    }
    return { name: h.name, value: h.value };
  });
  const host = optionalString(`${where}.host`, v.host);
  return {
    path: path.startsWith('/') ? path : `/${path}`,
    port: port(where, v.port),
    scheme,
    ...(host ? { host } : {}),
    ...(httpHeaders.length ? { httpHeaders } : {}),
  };
}

function probe(where: string, v: unknown): AppProbe {
  if (!isObject(v)) throw bad(where, 'must be an object');
  const timeout = v.timeoutSeconds ?? 1;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1) {
    throw bad(`${where}.timeoutSeconds`, `${JSON.stringify(timeout)} is not a whole number >= 1`);
  }
  const handlers = ['httpGet', 'tcpSocket', 'grpc'].filter((k) => v[k] !== undefined);
  if (handlers.length !== 1) {
    throw bad(where, 'must have exactly one of httpGet, tcpSocket, grpc');
  }
  if (v.httpGet !== undefined) {
    return { httpGet: httpGet(`${where}.httpGet`, v.httpGet), timeoutSeconds: timeout };
  }
  if (v.tcpSocket !== undefined) {
    if (!isObject(v.tcpSocket)) throw bad(`${where}.tcpSocket`, 'must be an object');
    const host = optionalString(`${where}.tcpSocket.host`, v.tcpSocket.host);
    return {
      tcpSocket: { port: port(`${where}.tcpSocket`, v.tcpSocket.port), ...(host ? { host } : {}) },
      timeoutSeconds: timeout,
    };
  }
  if (!isObject(v.grpc)) throw bad(`${where}.grpc`, 'must be an object');
  const service = optionalString(`${where}.grpc.service`, v.grpc.service);
  return {
    grpc: { port: port(`${where}.grpc`, v.grpc.port), ...(service ? { service } : {}) },
    timeoutSeconds: timeout,
  };
}

/** Reads and checks the JSON of APP_PROBES_ENV; '' or absent is no probes. */
export function parseAppProbes(json: string | undefined): AppProbes {
  if (json === undefined || json.trim() === '') return {};
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (err) {
    throw bad('', `is not JSON (${(err as Error).message})`);
  }
  if (!isObject(v)) throw bad('', 'must be an object of probes by path');
  const out: Record<string, AppProbe> = {};
  for (const [path, p] of Object.entries(v)) {
    if (!path.startsWith(APP_HEALTH_PREFIX)) {
      throw bad(`"${path}"`, `is not a path under ${APP_HEALTH_PREFIX}`);
    }
    out[path] = probe(`"${path}"`, p);
  }
  return out;
}
