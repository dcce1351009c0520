/**
 * `ferry version` and `ferry --version`: this client's version and, when the control plane
 * can be reached, its version and the versions its sidecars announced (Node
 * user_agent_version), as `istioctl version` prints client, control plane and data plane.
 */
import { parseArgs } from 'node:util';
import { FERRY_VERSION, type VersionInfo, versionInfo } from '../version/index.js';
import { UsageError } from './args.js';
import {
  CONTROL_PLANE_OPTION_HELP,
  controlPlaneUrl,
  getJson,
  type Output,
  outputFormat,
  QUERY_OPTIONS,
  serialize,
} from './control-plane-query.js';
import type { Syncz } from './proxy-status.js';

export const VERSION_HELP = `Usage: ferry version [options]

Prints this client's version and, when the control plane answers, the control plane's and
its sidecars' (each version with how many sidecars run it).

Options:
${CONTROL_PLANE_OPTION_HELP}
      --client             only this client's version (no network)
  -o, --output FORMAT      table | json | yaml | short (the client's version only)
  -h, --help               show this help
`;

/** `ferry --version`: one line, no network. */
export function clientVersionLine(): string {
  const v = versionInfo();
  return `ferry ${v.version} (node ${v.node}, ${v.platform})`;
}

export interface MeshVersions {
  readonly client: VersionInfo;
  readonly controlPlane?: VersionInfo & { readonly url: string };
  /** Why the control plane's version is missing. */
  readonly controlPlaneError?: string;
  /** Agent (e.g. "ferry 0.1.0", or "unknown" for clients that do not say) -> sidecar count. */
  readonly dataPlane?: Record<string, number>;
}

/** Counts the connected clients by the agent they announced. */
export function dataPlaneVersions(syncz: Syncz): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of syncz.clients) {
    const agent = c.userAgent || 'unknown';
    counts[agent] = (counts[agent] ?? 0) + 1;
  }
  return counts;
}

export async function meshVersions(base: string | undefined): Promise<MeshVersions> {
  const client = versionInfo();
  if (base === undefined) return { client };
  try {
    const [cp, syncz] = await Promise.all([
      getJson<VersionInfo>(base, '/version'),
      getJson<Syncz>(base, '/debug/syncz'),
    ]);
    return {
      client,
      controlPlane: { ...cp, url: base },
      dataPlane: dataPlaneVersions(syncz),
    };
  } catch (err) {
    return { client, controlPlaneError: (err as Error).message };
  }
}

export function formatVersions(v: MeshVersions): string {
  let out = `client version: ${v.client.version} (node ${v.client.node}, ${v.client.platform})\n`;
  if (v.controlPlane) {
    out += `control plane version: ${v.controlPlane.version} (node ${v.controlPlane.node}, ${v.controlPlane.url})\n`;
  } else if (v.controlPlaneError) {
    out += `control plane version: unknown (${v.controlPlaneError})\n`;
  }
  if (v.dataPlane) {
    const entries = Object.entries(v.dataPlane).sort((a, b) => b[1] - a[1]);
    const text = entries.length
      ? entries
          .map(([agent, n]) => `${agent} (${n} ${n === 1 ? 'sidecar' : 'sidecars'})`)
          .join(', ')
      : 'no sidecars connected';
    out += `data plane versions: ${text}\n`;
  }
  return out;
}

export async function runVersion(
  argv: string[],
  out: Output = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...QUERY_OPTIONS, client: { type: 'boolean' } },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    out.write(VERSION_HELP);
    return;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const format = outputFormat(values.output);
  if (format === 'short') {
    out.write(`${FERRY_VERSION}\n`);
    return;
  }
  const base = values.client ? undefined : controlPlaneUrl(values['control-plane'], env);
  const versions = await meshVersions(base);
  out.write(format === 'table' ? formatVersions(versions) : serialize(versions, format));
}
