/**
 * What `ferry tap` and `ferry top` share: finding the sidecars to tap (one by its xDS node
 * id, every sidecar of a service, or one admin address given directly) and reading their
 * admin ports' /tap streams (src/proxy/tap/tap-stream.ts) as one stream of events.
 *
 * A sidecar's admin port listens on its own machine's loopback only, so the sidecars are
 * reached at 127.0.0.1:<the admin port they announced to the control plane>: tap runs on the
 * sidecars' machine (or through a port-forward with --admin).
 */
import http from 'node:http';
import type { TapEvent } from '../proxy/tap/index.js';
import { UsageError } from './args.js';
import { ControlPlaneQueryError, controlPlaneUrl, getJson } from './proxy-status.js';

/** The filter flags both commands take, as the admin endpoint's query parameters. */
export const FILTER_OPTIONS = {
  admin: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  method: { type: 'string' },
  path: { type: 'string' },
  authority: { type: 'string' },
  to: { type: 'string' },
  from: { type: 'string' },
  direction: { type: 'string' },
  'max-rps': { type: 'string' },
  'control-plane': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const FILTER_HELP = `Which sidecars:
  TARGET                   a sidecar's xDS node id (see ferry proxy-status), or a service:
                           NAME, NAME.NAMESPACE or svc/NAME (every sidecar of it)
      --admin HOST:PORT    one sidecar's admin port directly (no control plane asked)
  -n, --namespace NS       the service's namespace                        (default any)
      --control-plane URL  the control plane's HTTP port
                           (default $FERRY_CONTROL_PLANE or http://127.0.0.1:15014)

Which requests:
      --method M           only this HTTP method
      --path PREFIX        only paths that start with PREFIX
      --authority A        only this authority (host, or host:port)
      --to NAME            only requests to this service (NAME or NAME.NAMESPACE)
      --from NAME          only requests from this service, or SPIFFE ID (inbound: the
                           caller's mTLS identity)
      --direction D        inbound | outbound
      --max-rps N          at most N requests a second from each sidecar  (default 100)
`;

export interface TapTarget {
  /** The sidecar's node id, or the address when given with --admin. */
  readonly name: string;
  /** host:port of its admin port. */
  readonly admin: string;
}

interface SyncClient {
  readonly nodeId: string;
  readonly adminPort?: number;
  readonly workload?: { service?: string; namespace?: string };
}

type FilterValues = Partial<Record<keyof typeof FILTER_OPTIONS, string | boolean>>;

const str = (v: string | boolean | undefined): string | undefined =>
  typeof v === 'string' ? v : undefined;

/** The query string of /tap for the filter flags (checked again, whole, by the sidecar). */
export function tapQuery(values: FilterValues, maxRps?: number): string {
  const q = new URLSearchParams();
  for (const key of ['method', 'path', 'authority', 'to', 'from', 'direction'] as const) {
    const v = str(values[key]);
    if (v !== undefined) q.set(key, v);
  }
  const rps = str(values['max-rps']) ?? (maxRps === undefined ? undefined : String(maxRps));
  if (rps !== undefined) q.set('max_rps', rps);
  return q.toString();
}

function hostPort(flag: string, value: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535) {
    throw new UsageError(`${flag} must be HOST:PORT like 127.0.0.1:15000, got "${value}"`);
  }
  return value;
}

/** The sidecars a command taps. */
export async function tapTargets(
  target: string | undefined,
  values: FilterValues,
  env: NodeJS.ProcessEnv,
): Promise<TapTarget[]> {
  const admin = str(values.admin);
  if (admin !== undefined) {
    if (target !== undefined) {
      throw new UsageError(`give a TARGET or --admin, not both (got "${target}" and --admin)`);
    }
    return [{ name: admin, admin: hostPort('--admin', admin) }];
  }
  if (target === undefined) {
    throw new UsageError('name a sidecar or a service to tap (or --admin HOST:PORT)');
  }
  const base = controlPlaneUrl(str(values['control-plane']), env);
  const { clients } = await getJson<{ clients: SyncClient[] }>(base, '/debug/syncz');
  const byNode = clients.filter((c) => c.nodeId === target);
  const name = target.replace(/^(svc|service|services)\//, '');
  const dot = name.indexOf('.');
  const service = dot < 0 ? name : name.slice(0, dot);
  const namespace = dot < 0 ? str(values.namespace) : name.slice(dot + 1);
  const chosen =
    byNode.length > 0
      ? byNode
      : clients.filter(
          (c) =>
            c.workload?.service === service &&
            (namespace === undefined || (c.workload.namespace ?? 'default') === namespace),
        );
  if (chosen.length === 0) {
    const known = clients.map((c) => c.nodeId).filter(Boolean);
    throw new ControlPlaneQueryError(
      'FERRY_NOT_FOUND',
      `no sidecar named "${target}" and no sidecar of a service "${name}" is connected to the control plane at ${base}` +
        (known.length ? ` (connected: ${known.join(', ')})` : ' (none is connected)'),
    );
  }
  const silent = chosen.filter((c) => c.adminPort === undefined).map((c) => c.nodeId);
  if (silent.length === chosen.length) {
    throw new ControlPlaneQueryError(
      'FERRY_NOT_FOUND',
      `${silent.join(', ')} did not announce an admin port (a sidecar other than Ferry's, or an older one); tap it with --admin HOST:PORT`,
    );
  }
  return chosen
    .filter((c) => c.adminPort !== undefined)
    .map((c) => ({ name: c.nodeId, admin: `127.0.0.1:${c.adminPort}` }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

export class TapStreamError extends Error {
  readonly code = 'FERRY_TAP_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'TapStreamError';
  }
}

export interface TapStreams {
  /** Stops every stream. */
  close(): void;
  /** Rejects when a stream fails or ends (the sidecar went away). */
  readonly failed: Promise<never>;
}

export interface TapHandlers {
  event(target: TapTarget, e: TapEvent): void;
  /** Events a sidecar left out (over --max-rps, or a slow reader). */
  dropped?(target: TapTarget, count: number): void;
}

/** Opens every target's /tap stream; resolves once all are subscribed. */
export async function openTapStreams(
  targets: readonly TapTarget[],
  query: string,
  handlers: TapHandlers,
): Promise<TapStreams> {
  const requests: http.ClientRequest[] = [];
  let fail: (err: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {});
  let closing = false;
  const close = () => {
    closing = true;
    for (const r of requests) r.destroy();
  };
  try {
    await Promise.all(
      targets.map(
        (t) =>
          new Promise<void>((subscribed, refused) => {
            const req = http.get(`http://${t.admin}/tap?${query}`, (res) => {
              if (res.statusCode !== 200) {
                let body = '';
                res.setEncoding('utf8');
                res.on('data', (d: string) => {
                  body += d;
                });
                res.on('end', () =>
                  refused(
                    new TapStreamError(
                      `${t.name} (${t.admin}) refused the tap: ${body.trim() || `HTTP ${res.statusCode}`}`,
                    ),
                  ),
                );
                return;
              }
              res.setEncoding('utf8');
              let rest = '';
              res.on('data', (chunk: string) => {
                rest += chunk;
                let nl = rest.indexOf('\n');
                while (nl >= 0) {
                  const line = rest.slice(0, nl);
                  rest = rest.slice(nl + 1);
                  nl = rest.indexOf('\n');
                  if (!line) continue;
                  const msg = JSON.parse(line) as { kind: string; count?: number };
                  if (msg.kind === 'tap') subscribed();
                  else if (msg.kind === 'request') handlers.event(t, msg as unknown as TapEvent);
                  else if (msg.kind === 'dropped') handlers.dropped?.(t, msg.count ?? 0);
                }
              });
              res.on('close', () => {
                if (!closing) fail(new TapStreamError(`${t.name} (${t.admin}) ended the tap`));
              });
            });
            req.on('error', (err: NodeJS.ErrnoException) => {
              const e = new TapStreamError(
                `cannot tap ${t.name} at ${t.admin}: ${err.code ?? err.message}`,
              );
              refused(e);
              if (!closing) fail(e);
            });
            requests.push(req);
          }),
      ),
    );
  } catch (err) {
    close();
    throw err;
  }
  return { close, failed };
}

/** Resolves on Ctrl-C or when the signal aborts. */
export function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    if (signal) {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', done, { once: true });
    } else {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    }
  });
}
