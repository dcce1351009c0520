/**
 * `ferry proxy-status`: every sidecar the control plane knows and, per xDS type, whether
 * it has accepted what it was last sent, read from the control plane's /debug/syncz.
 * Modelled on `istioctl proxy-status`
 * (https://istio.io/latest/docs/reference/commands/istioctl/#istioctl-proxy-status).
 */
import { parseArgs } from 'node:util';
import { type SyncState, type SyncTypeStatus, syncState } from '../dashboard/index.js';
import { didYouMean, UsageError } from './args.js';
import {
  CONTROL_PLANE_OPTION_HELP,
  ControlPlaneQueryError,
  controlPlaneUrl,
  getJson,
  type Output,
  outputFormat,
  QUERY_OPTIONS,
  renderTable,
  serialize,
} from './control-plane-query.js';

export {
  ControlPlaneQueryError,
  controlPlaneUrl,
  getJson,
  type Output,
  outputFormat,
  renderTable,
} from './control-plane-query.js';
export { type SyncState, type SyncTypeStatus, syncState };

export const PROXY_STATUS_HELP = `Usage: ferry proxy-status [SIDECAR] [options]

Lists every sidecar (xDS client) connected to the control plane, or those whose node id or
service is SIDECAR (e.g. frontend-v1, or frontend), and, for each type of configuration
(CDS, LDS, EDS, RDS, SDS), whether it is
  SYNCED    the sidecar acknowledged the latest version it was sent
  STALE     a version was sent and is not acknowledged yet
  NACKED    the sidecar rejected the latest version (the error is printed below)
  NOT SENT  the sidecar subscribed but has been sent nothing yet
  -         the sidecar did not subscribe to this type

Options:
${CONTROL_PLANE_OPTION_HELP}
  -o, --output FORMAT      table | json | yaml | short (node ids only)  (default table)
  -h, --help               show this help
`;

export interface SyncClient {
  readonly stream: number;
  readonly nodeId: string;
  readonly mode: string;
  readonly workload?: { service?: string; namespace?: string; address?: string };
  readonly adminPort?: number;
  readonly userAgent?: string;
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
  /** What the sidecar says it runs, e.g. "ferry 0.1.0"; "-" when it did not say. */
  readonly agent: string;
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
        agent: c.userAgent || '-',
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

/**
 * The clients a positional name picks: its node id exactly, else node ids that start with it
 * (frontend-v1 picks frontend-v1-4711.default), else a service (frontend or frontend.default).
 */
export function selectClients(syncz: Syncz, name: string): SyncClient[] {
  const exact = syncz.clients.filter((c) => c.nodeId === name);
  if (exact.length) return exact;
  const prefixed = syncz.clients.filter((c) => c.nodeId.startsWith(name));
  if (prefixed.length) return prefixed;
  return syncz.clients.filter((c) => {
    const w = c.workload;
    return w?.service === name || `${w?.service}.${w?.namespace ?? 'default'}` === name;
  });
}

/** FERRY_NOT_FOUND naming the sidecars there are, and the closest one. */
export function noSuchSidecar(syncz: Syncz, name: string): ControlPlaneQueryError {
  const ids = syncz.clients.map((c) => c.nodeId).filter((id) => id);
  const guess = didYouMean(name, ids);
  return new ControlPlaneQueryError(
    'FERRY_NOT_FOUND',
    `no sidecar "${name}" is connected to the control plane${
      guess ? ` (did you mean ${guess}?)` : ids.length ? ` (connected: ${ids.join(', ')})` : ''
    }; ferry proxy-status lists them`,
  );
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
  if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
  const format = outputFormat(values.output);
  const base = controlPlaneUrl(values['control-plane'], env);
  let syncz = await getJson<Syncz>(base, '/debug/syncz');
  const name = positionals[0];
  if (name !== undefined) {
    const clients = selectClients(syncz, name);
    if (clients.length === 0) throw noSuchSidecar(syncz, name);
    syncz = { ...syncz, clients };
  }
  const rows = proxyStatusRows(syncz);
  if (format === 'json' || format === 'yaml') {
    out.write(serialize(rows, format));
    return;
  }
  if (format === 'short') {
    out.write(rows.map((r) => `${r.name}\n`).join(''));
    return;
  }
  out.write(formatProxyStatus(syncz));
  if (name !== undefined && rows.length === 1) out.write(formatOneSidecar(syncz.clients[0]));
}

/** Per type, what was sent and acknowledged: the detail istioctl prints for one proxy. */
function formatOneSidecar(c: SyncClient): string {
  const rows = c.types.map((t) => [
    t.type,
    syncState(t),
    t.lastSentVersion || '-',
    t.lastAckedVersion || '-',
    t.lastAckedAt || '-',
    t.wildcard ? `* ${t.names.length ? `+${t.names.length}` : ''}`.trim() : String(t.names.length),
  ]);
  return (
    `\nconnected ${c.connectedAt} (${c.mode} ADS, ${c.userAgent || 'agent unknown'}` +
    `${c.adminPort ? `, admin port ${c.adminPort}` : ''})\n` +
    renderTable(['TYPE', 'STATE', 'SENT', 'ACKED', 'ACKED AT', 'SUBSCRIBED'], rows)
  );
}
