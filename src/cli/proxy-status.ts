/**
 * `ferry proxy-status`: every sidecar the control plane knows and, per xDS type, whether
 * it has accepted what it was last sent, read from the control plane's /debug/syncz.
 * Modelled on `istioctl proxy-status`
 * (https://istio.io/latest/docs/reference/commands/istioctl/#istioctl-proxy-status).
 */
import { parseArgs } from 'node:util';
import { type SyncState, type SyncTypeStatus, syncState } from '../dashboard/index.js';
import { UsageError } from './args.js';

export { type SyncState, type SyncTypeStatus, syncState };

export const PROXY_STATUS_HELP = `Usage: ferry proxy-status [options]

Lists every sidecar (xDS client) connected to the control plane and, for each type of
configuration (CDS, LDS, EDS, RDS, SDS), whether it is
  SYNCED    the sidecar acknowledged the latest version it was sent
  STALE     a version was sent and is not acknowledged yet
  NACKED    the sidecar rejected the latest version (the error is printed below)
  NOT SENT  the sidecar subscribed but has been sent nothing yet
  -         the sidecar did not subscribe to this type

Options:
      --control-plane URL  the control plane's HTTP port
                           (default $FERRY_CONTROL_PLANE or http://127.0.0.1:15014)
  -o, --output FORMAT      table | json                              (default table)
  -h, --help               show this help
`;

/** Where the CLI writes; process.stdout by default, a buffer in tests. */
export interface Output {
  write(text: string): unknown;
}

/** The control plane could not be asked, or answered with an error. */
export class ControlPlaneQueryError extends Error {
  constructor(
    readonly code:
      | 'FERRY_CONTROL_PLANE_UNREACHABLE'
      | 'FERRY_CONTROL_PLANE_ERROR'
      | 'FERRY_NOT_FOUND',
    message: string,
  ) {
    super(message);
    this.name = 'ControlPlaneQueryError';
  }
}

export const DEFAULT_CONTROL_PLANE = 'http://127.0.0.1:15014';

/** The --control-plane URL, checked, without a trailing slash. */
export function controlPlaneUrl(flag: string | undefined, env: string | undefined): string {
  const raw = flag ?? env ?? DEFAULT_CONTROL_PLANE;
  let url: URL;
  try {
    url = new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new UsageError(`--control-plane must be a URL like http://127.0.0.1:15014, got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`--control-plane must be an http(s) URL, got "${raw}"`);
  }
  return url.toString().replace(/\/+$/, '');
}

/** The options proxy-status and proxy-config share (both query the control plane). */
export const QUERY_OPTIONS = {
  'control-plane': { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The -o value, checked: table (the default) or json. */
export function outputFormat(flag: string | undefined): 'table' | 'json' {
  const format = flag ?? 'table';
  if (format !== 'table' && format !== 'json') {
    throw new UsageError(`-o must be table or json, got "${format}"`);
  }
  return format;
}

/** GETs a JSON document from the control plane's HTTP port. */
export async function getJson<T>(base: string, path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new ControlPlaneQueryError(
      'FERRY_CONTROL_PLANE_UNREACHABLE',
      `cannot reach the control plane at ${base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ControlPlaneQueryError(
      'FERRY_CONTROL_PLANE_ERROR',
      `the control plane at ${base} answered ${path} with something that is not JSON (HTTP ${res.status})`,
    );
  }
  if (!res.ok) {
    const error = (body as { error?: string }).error ?? `HTTP ${res.status}`;
    throw new ControlPlaneQueryError(
      res.status === 404 ? 'FERRY_NOT_FOUND' : 'FERRY_CONTROL_PLANE_ERROR',
      `control plane: ${error}`,
    );
  }
  return body as T;
}

export interface SyncClient {
  readonly stream: number;
  readonly nodeId: string;
  readonly mode: string;
  readonly workload?: { service?: string; namespace?: string; address?: string };
  readonly connectedAt: string;
  readonly types: SyncTypeStatus[];
}

export interface Syncz {
  readonly version: string;
  readonly rejectedConfig: string | null;
  readonly clients: SyncClient[];
}

export const XDS_TYPES = ['CDS', 'LDS', 'EDS', 'RDS', 'SDS'] as const;

export interface ProxyStatusRow {
  readonly name: string;
  readonly service: string;
  readonly mode: string;
  readonly states: Record<string, SyncState | '-'>;
  readonly version: string;
  readonly nacks: Array<{ type: string; version: string; message: string; at: string }>;
}

/** The per-sidecar rows, sorted by name (a pure function of /debug/syncz). */
export function proxyStatusRows(syncz: Syncz): ProxyStatusRow[] {
  return [...syncz.clients]
    .sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : a.stream - b.stream))
    .map((c) => {
      const states: Record<string, SyncState | '-'> = {};
      const nacks: ProxyStatusRow['nacks'] = [];
      let version = '';
      for (const type of XDS_TYPES) states[type] = '-';
      for (const t of c.types) {
        const state = syncState(t);
        states[t.type] = state;
        if (state === 'NACKED' && t.lastNack) {
          nacks.push({
            type: t.type,
            version: t.lastNack.version,
            message: t.lastNack.message,
            at: t.lastNack.at,
          });
        }
        if (newerVersion(t.lastAckedVersion, version)) version = t.lastAckedVersion;
      }
      const w = c.workload;
      return {
        name: c.nodeId || `(stream ${c.stream}, no node id)`,
        service: w?.service ? `${w.service}.${w.namespace ?? 'default'}` : '-',
        mode: c.mode,
        states,
        version: version || '-',
        nacks,
      };
    });
}

/** Snapshot versions are generation numbers; anything else compares as text. */
function newerVersion(a: string, b: string): boolean {
  if (!a) return false;
  if (!b) return true;
  const x = Number(a);
  const y = Number(b);
  return Number.isFinite(x) && Number.isFinite(y) ? x > y : a > b;
}

/** Left-aligned columns separated by three spaces, like kubectl and istioctl print. */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

export function formatProxyStatus(syncz: Syncz): string {
  const rows = proxyStatusRows(syncz);
  let out = '';
  if (rows.length === 0) {
    out += `No sidecars are connected to the control plane (config version ${syncz.version}).\n`;
  } else {
    out += renderTable(
      ['NAME', 'SERVICE', 'MODE', ...XDS_TYPES, 'VERSION'],
      rows.map((r) => [
        r.name,
        r.service,
        r.mode,
        ...XDS_TYPES.map((t) => r.states[t] ?? '-'),
        r.version,
      ]),
    );
  }
  const nacked = rows.flatMap((r) => r.nacks.map((n) => ({ name: r.name, ...n })));
  if (nacked.length) {
    out += '\nRejected configuration (the sidecar keeps its previous one):\n';
    for (const n of nacked) {
      out += `  ${n.name} ${n.type} version ${n.version} at ${n.at}: ${n.message}\n`;
    }
  }
  if (syncz.rejectedConfig) {
    out += `\nThe control plane rejected a mesh file change and keeps serving the last good one:\n  ${syncz.rejectedConfig.split('\n').join('\n  ')}\n`;
  }
  return out;
}

export async function runProxyStatus(
  argv: string[],
  out: Output = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: QUERY_OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    out.write(PROXY_STATUS_HELP);
    return;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const format = outputFormat(values.output);
  const base = controlPlaneUrl(values['control-plane'], env.FERRY_CONTROL_PLANE);
  const syncz = await getJson<Syncz>(base, '/debug/syncz');
  if (format === 'json') {
    out.write(`${JSON.stringify(proxyStatusRows(syncz), null, 2)}\n`);
    return;
  }
  out.write(formatProxyStatus(syncz));
}
