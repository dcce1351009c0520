/**
 * Probes that survive the mesh. With capture on, the kubelet's probes of the app would reach
 * the sidecar's inbound port: refused there in STRICT mode (the kubelet speaks plaintext),
 * refused by authorization rules that do not name the kubelet, and a tcpSocket probe would
 * pass with the app dead (the sidecar accepts the connection). So, as Istio's injector does
 * with its app prober, every httpGet, tcpSocket and grpc probe of the app containers is
 * moved to the sidecar's health port (the metrics port, 15020, which capture leaves alone),
 * at `/app-health/<container>/<livez|readyz|startupz>`, and the original probe (named ports
 * resolved here, as the kubelet resolves them in the container) is handed to the sidecar,
 * which runs it against the app from inside the pod. exec probes stay as they are. The
 * original probes stay on the pod in an annotation. Pure.
 */
import {
  type AppProbe,
  type AppProbes,
  appHealthPath,
  PROBE_KINDS,
  type ProbeKind,
} from '../../proxy/prober/index.js';
import { InjectError } from './inject-error.js';
import type { Container, PodTemplate } from './kube-types.js';

/** `"false"` keeps the app's probes as they are (Istio: sidecar.istio.io/rewriteAppHTTPProbers). */
export const REWRITE_PROBES_ANNOTATION = 'ferry.io/rewrite-app-probers';
/** The probes as the pod declared them, JSON by container and kind, for people and tools. */
export const ORIGINAL_PROBES_ANNOTATION = 'ferry.io/original-probes';

export interface ProbeRewrite {
  /** New probe objects by container index (in spec.containers) and kind. */
  readonly probes: ReadonlyArray<{
    readonly container: number;
    readonly kind: ProbeKind;
    readonly probe: Record<string, unknown>;
  }>;
  /** What the sidecar runs, by path (the JSON of its APP_PROBES_ENV). */
  readonly appProbes: AppProbes;
  /** The ORIGINAL_PROBES_ANNOTATION value. */
  readonly original: string;
}

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(where: string, why: string): InjectError {
  return new InjectError('FERRY_INJECT_BAD_MANIFEST', `${where}: ${why}`);
}

/**
 * A probe's port: a number, or the name of one of the container's ports (the kubelet looks
 * a name up in the container, then tries it as a number).
 */
function resolvePort(where: string, c: Container, v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 1 && v <= 65535) return v;
    throw bad(where, `${v} is not a port (1-65535)`);
  }
  if (typeof v === 'string' && v !== '') {
    const named = c.ports?.find((p) => p.name === v);
    if (named) return named.containerPort;
    if (/^\d+$/.test(v)) return resolvePort(where, c, Number(v));
    throw bad(where, `"${v}" names no port of container ${c.name}`);
  }
  throw bad(where, 'is missing (a port number or the name of a container port)');
}

function optionalString(where: string, v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw bad(where, 'must be a string');
  return v;
}

function timeoutSeconds(where: string, probe: Obj): number {
  const t = probe.timeoutSeconds ?? 1;
  if (typeof t !== 'number' || !Number.isInteger(t) || t < 1) {
    throw bad(`${where}.timeoutSeconds`, 'must be a whole number >= 1');
  }
  return t;
}

/** The sidecar's copy of one probe, or undefined for a probe it does not take over (exec). */
function appProbe(where: string, c: Container, probe: Obj): AppProbe | undefined {
  const timeout = timeoutSeconds(where, probe);
  const { httpGet, tcpSocket, grpc } = probe;
  if (isObject(httpGet)) {
    const scheme = httpGet.scheme ?? 'HTTP';
    if (scheme !== 'HTTP' && scheme !== 'HTTPS') {
      throw bad(`${where}.httpGet.scheme`, `"${String(scheme)}" is not HTTP or HTTPS`);
    }
    const headers = httpGet.httpHeaders ?? [];
    if (!Array.isArray(headers)) throw bad(`${where}.httpGet.httpHeaders`, 'must be a list');
    const httpHeaders = headers.map((h: unknown, i) => {
      if (!isObject(h) || typeof h.name !== 'string' || h.name === '') {
        throw bad(`${where}.httpGet.httpHeaders[${i}]`, 'must have a name');
      }
      return { name: h.name, value: typeof h.value === 'string' ? h.value : '' };
    });
    const path = optionalString(`${where}.httpGet.path`, httpGet.path) ?? '/';
    const host = optionalString(`${where}.httpGet.host`, httpGet.host);
    return {
      httpGet: {
        path: path.startsWith('/') ? path : `/${path}`,
        port: resolvePort(`${where}.httpGet.port`, c, httpGet.port),
        scheme,
        ...(host ? { host } : {}),
        ...(httpHeaders.length ? { httpHeaders } : {}),
      },
      timeoutSeconds: timeout,
    };
  }
  if (isObject(tcpSocket)) {
    const host = optionalString(`${where}.tcpSocket.host`, tcpSocket.host);
    return {
      tcpSocket: {
        port: resolvePort(`${where}.tcpSocket.port`, c, tcpSocket.port),
        ...(host ? { host } : {}),
      },
      timeoutSeconds: timeout,
    };
  }
  if (isObject(grpc)) {
    // A grpc probe's port is a number only (Kubernetes does not resolve names there).
    if (typeof grpc.port !== 'number') throw bad(`${where}.grpc.port`, 'must be a port number');
    const service = optionalString(`${where}.grpc.service`, grpc.service);
    return {
      grpc: {
        port: resolvePort(`${where}.grpc.port`, c, grpc.port),
        ...(service ? { service } : {}),
      },
      timeoutSeconds: timeout,
    };
  }
  return undefined;
}

/**
 * The rewrite of `pod`'s app probes to `healthPort`, or undefined when there is nothing to
 * rewrite (no such probes, or the pod's REWRITE_PROBES_ANNOTATION is "false").
 * `where` names the pod template in errors.
 */
export function rewriteProbes(
  pod: PodTemplate,
  healthPort: number,
  where: string,
): ProbeRewrite | undefined {
  const setting = pod.metadata?.annotations?.[REWRITE_PROBES_ANNOTATION];
  if (setting !== undefined && setting !== 'true' && setting !== 'false') {
    throw new InjectError(
      'FERRY_INJECT_BAD_ANNOTATION',
      `annotation ${REWRITE_PROBES_ANNOTATION}: "${setting}" is not "true" or "false"`,
    );
  }
  if (setting === 'false') return undefined;
  const probes: Array<ProbeRewrite['probes'][number]> = [];
  const appProbes: Record<string, AppProbe> = {};
  const original: Record<string, Record<string, unknown>> = {};
  pod.spec.containers.forEach((c, i) => {
    for (const kind of PROBE_KINDS) {
      const probe = c[kind];
      if (probe === undefined || probe === null) continue;
      const at = `${where}.spec.containers[${i}].${kind}`;
      if (!isObject(probe)) throw bad(at, 'must be an object');
      const moved = appProbe(at, c, probe);
      if (!moved) continue;
      const path = appHealthPath(c.name, kind);
      appProbes[path] = moved;
      original[c.name] = { ...original[c.name], [kind]: probe };
      // Everything but the handler stays: delays, period, thresholds, timeout.
      const { httpGet: _h, tcpSocket: _t, grpc: _g, ...timing } = probe;
      probes.push({
        container: i,
        kind,
        probe: { ...timing, httpGet: { path, port: healthPort, scheme: 'HTTP' } },
      });
    }
  });
  if (probes.length === 0) return undefined;
  return { probes, appProbes, original: JSON.stringify(original) };
}
