/**
 * What the commands that ask a running mesh share: finding the control plane (flag,
 * FERRY_CONTROL_PLANE, the state file a running control plane writes, the default), GETting
 * JSON from it or from a sidecar's admin port, the -o formats, and kubectl-style tables.
 */
import { networkInterfaces } from 'node:os';
import { stringify as toYaml } from 'yaml';
import { UsageError } from './args.js';
import { readControlPlaneState } from './state-file.js';

/** Where the CLI writes; process.stdout by default, a buffer in tests. */
export interface Output {
  write(text: string): unknown;
}

/** The control plane (or a sidecar) could not be asked, or answered with an error. */
export class ControlPlaneQueryError extends Error {
  constructor(
    readonly code:
      | 'FERRY_CONTROL_PLANE_UNREACHABLE'
      | 'FERRY_CONTROL_PLANE_ERROR'
      | 'FERRY_SIDECAR_UNREACHABLE'
      | 'FERRY_NOT_FOUND',
    message: string,
  ) {
    super(message);
    this.name = 'ControlPlaneQueryError';
  }
}

export const DEFAULT_CONTROL_PLANE = 'http://127.0.0.1:15014';

export const CONTROL_PLANE_OPTION_HELP = `      --control-plane URL  the control plane's HTTP port (default: $FERRY_CONTROL_PLANE,
                           else the one a running demo or control plane recorded in its
                           state file, else http://127.0.0.1:15014)`;

/**
 * The control plane's URL, checked, without a trailing slash: --control-plane, else
 * $FERRY_CONTROL_PLANE, else the state file of a running control plane, else the default.
 */
export function controlPlaneUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const raw =
    flag ??
    (env.FERRY_CONTROL_PLANE || undefined) ??
    readControlPlaneState(env)?.http ??
    DEFAULT_CONTROL_PLANE;
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

/** The options the commands that query the control plane share. */
export const QUERY_OPTIONS = {
  'control-plane': { type: 'string' },
  output: { type: 'string', short: 'o' },
  help: { type: 'boolean', short: 'h' },
} as const;

export type OutputFormat = 'table' | 'json' | 'yaml' | 'short';
const FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml', 'short'];

/** The -o value, checked: table (the default), json, yaml or short (names only). */
export function outputFormat(flag: string | undefined): OutputFormat {
  const format = (flag ?? 'table') as OutputFormat;
  if (!FORMATS.includes(format)) {
    throw new UsageError(`-o must be ${FORMATS.join(', ')}; got "${flag}"`);
  }
  return format;
}

/** A value as -o json or -o yaml print it. */
export function serialize(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}

const UNREACHABLE_HINT =
  'is it running? Start one (npm start, or ferry control-plane), or pass --control-plane URL or set FERRY_CONTROL_PLANE';

/** GETs (or POSTs) a JSON document from the control plane's HTTP port or a sidecar's admin. */
export async function getJson<T>(
  base: string,
  path: string,
  what: 'control plane' | 'sidecar' = 'control plane',
  method: 'GET' | 'POST' = 'GET',
): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const reason = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new ControlPlaneQueryError(
      what === 'sidecar' ? 'FERRY_SIDECAR_UNREACHABLE' : 'FERRY_CONTROL_PLANE_UNREACHABLE',
      what === 'sidecar'
        ? `cannot reach the sidecar's admin port at ${base}: ${reason}`
        : `cannot reach the control plane at ${base}: ${reason}; ${UNREACHABLE_HINT}`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ControlPlaneQueryError(
      'FERRY_CONTROL_PLANE_ERROR',
      `the ${what} at ${base} answered ${path} with something that is not JSON (HTTP ${res.status})`,
    );
  }
  if (!res.ok) {
    const error = (body as { error?: string }).error ?? `HTTP ${res.status}`;
    throw new ControlPlaneQueryError(
      res.status === 404 ? 'FERRY_NOT_FOUND' : 'FERRY_CONTROL_PLANE_ERROR',
      `${what}: ${error}`,
    );
  }
  return body as T;
}

/** Whether an address is this machine's (where a sidecar's 127.0.0.1 admin port is ours too). */
export function isLocalAddress(address: string): boolean {
  if (address === '127.0.0.1' || address === '::1' || address.startsWith('127.')) return true;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (i.address === address) return true;
  }
  return false;
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
