/**
 * `ferry check`: is this installation healthy, one line per check with ✔ or ✖ and, for ✖,
 * what to do, after `linkerd check` (https://linkerd.io/2/reference/cli/check/). Exits 1
 * when any check fails.
 */
import { parseArgs } from 'node:util';
import type { ControlPlaneChecks } from '../controlplane/index.js';
import type { VersionInfo } from '../version/index.js';
import { UsageError } from './args.js';
import {
  CONTROL_PLANE_OPTION_HELP,
  controlPlaneUrl,
  getJson,
  type Output,
} from './control-plane-query.js';
import { type AdminCerts, adminUrl } from './proxy-config.js';
import { type SyncClient, type Syncz, syncState } from './proxy-status.js';

export const CHECK_HELP = `Usage: ferry check [options]

Checks the installation, a line each with ✔ or ✖ and what to do about a ✖:
  the control plane answers; its CA is healthy (root and serving certificate well within
  their validity); every sidecar acknowledged its latest configuration; no rejected
  configuration (NACK) is outstanding; no sidecar certificate is near its expiry (less than
  a quarter of its lifetime left: rotation at half life has failed); in Kubernetes, the
  injection webhook's caBundle is the mesh root.
Exits 1 when a check fails.

Options:
${CONTROL_PLANE_OPTION_HELP}
      --wait MS            how long a sidecar may take to acknowledge a push before it counts
                           as stale                                   (default 3000)
  -h, --help               show this help
`;

export interface CheckLine {
  readonly ok: boolean;
  readonly text: string;
  /** What to do, for a failed check. */
  readonly fix?: string;
}

const DAY_MS = 86_400_000;

function inTime(ms: number): string {
  if (ms < 0) return `${inTime(-ms)} ago`;
  if (ms >= 2 * DAY_MS) return `${Math.floor(ms / DAY_MS)} days`;
  if (ms >= 7_200_000) return `${Math.floor(ms / 3_600_000)} h`;
  if (ms >= 120_000) return `${Math.floor(ms / 60_000)} min`;
  return `${Math.max(0, Math.floor(ms / 1000))} s`;
}

/** The CA: root and serving certificate valid, and the root outliving the leaves it signs. */
export function caCheck(checks: ControlPlaneChecks, now: Date): CheckLine {
  const ca = checks.ca;
  if (!ca) {
    return {
      ok: true,
      text: 'CA: off, sidecars run without mTLS (--ca-dir or --ca-secret turns it on)',
    };
  }
  const rootLeft = new Date(ca.rootNotAfter).getTime() - now.getTime();
  if (rootLeft < Math.max(30 * DAY_MS, ca.certTtlMs)) {
    return {
      ok: false,
      text: `CA: the root of ${ca.trustDomain} ${rootLeft < 0 ? 'expired' : 'expires'} ${rootLeft < 0 ? inTime(rootLeft) : `in ${inTime(rootLeft)}`} (${ca.rootNotAfter})`,
      fix: 'plug in a new root (ferry control-plane --ca-dir with a new ca.pem and ca-key.pem) before workloads lose their identities',
    };
  }
  const servingLeft =
    ca.servingNotAfter === null ? -1 : new Date(ca.servingNotAfter).getTime() - now.getTime();
  if (servingLeft <= 0) {
    return {
      ok: false,
      text: `CA: the control plane's own certificate (${ca.spiffeId}) is ${ca.servingNotAfter === null ? 'not issued' : 'expired'}`,
      fix: "look for renewal errors in the control plane's log, and restart it",
    };
  }
  return {
    ok: true,
    text: `CA healthy: root of ${ca.trustDomain} valid for ${inTime(rootLeft)}; the secure port's certificate for ${inTime(servingLeft)}`,
  };
}

/**
 * Sidecars that have not acknowledged their latest configuration: STALE now and, `waitMs`
 * before, already STALE on the same push (a push in progress is not a problem).
 */
export function staleSidecars(before: Syncz, after: Syncz): string[] {
  const earlier = new Map(before.clients.map((c) => [c.stream, c]));
  const stale: string[] = [];
  for (const c of after.clients) {
    const was = earlier.get(c.stream);
    const types = c.types.filter((t) => {
      if (syncState(t) !== 'STALE') return false;
      const prev = was?.types.find((p) => p.type === t.type);
      return prev !== undefined && syncState(prev) === 'STALE' && prev.lastNonce === t.lastNonce;
    });
    if (types.length) {
      stale.push(
        `${c.nodeId} (${types.map((t) => `${t.type} version ${t.lastSentVersion} unacknowledged since ${t.lastAckedVersion ? `version ${t.lastAckedVersion}` : 'connecting'}`).join(', ')})`,
      );
    }
  }
  return stale;
}

export function syncCheck(before: Syncz, after: Syncz): CheckLine {
  const stale = staleSidecars(before, after);
  const n = after.clients.length;
  if (stale.length) {
    return {
      ok: false,
      text: `${stale.length} of ${n} sidecars not synced: ${stale.join('; ')}`,
      fix: 'see its log for xDS errors (ferry proxy-config log SIDECAR --level debug); restart it if its stream is stuck',
    };
  }
  return {
    ok: true,
    text: n
      ? `${n} ${n === 1 ? 'sidecar' : 'sidecars'} synced (config version ${after.version})`
      : `no sidecars connected (config version ${after.version})`,
  };
}

export function nackCheck(syncz: Syncz): CheckLine {
  const nacks = syncz.clients.flatMap((c) =>
    c.types
      .filter((t) => syncState(t) === 'NACKED')
      .map(
        (t) =>
          `${c.nodeId} rejected ${t.type} version ${t.lastNack?.version}: ${t.lastNack?.message}`,
      ),
  );
  if (nacks.length) {
    return {
      ok: false,
      text: `${nacks.length} rejected ${nacks.length === 1 ? 'configuration' : 'configurations'} (NACK) outstanding: ${nacks.join('; ')}`,
      fix: 'the sidecar keeps its previous configuration; fix what it rejects in the mesh file (ferry analyze) or upgrade the sidecar',
    };
  }
  return { ok: true, text: 'no rejected configuration (NACK) outstanding' };
}

/** One sidecar's leaf certificate, or why it could not be read. */
export type SidecarCerts =
  | { readonly node: string; readonly certs: AdminCerts }
  | { readonly node: string; readonly unreachable: string };

/** Near expiry: less than a quarter of its lifetime left (rotation at half life failed). */
export function certificateCheck(sidecars: readonly SidecarCerts[], now: Date): CheckLine {
  const near: string[] = [];
  let checked = 0;
  let without = 0;
  const unreachable: string[] = [];
  for (const s of sidecars) {
    if ('unreachable' in s) {
      unreachable.push(s.node);
      continue;
    }
    const leaf = s.certs.chain[0];
    if (!leaf) {
      without++;
      continue;
    }
    checked++;
    const start = new Date(leaf.notBefore).getTime();
    const end = new Date(leaf.notAfter).getTime();
    const left = end - now.getTime();
    if (left < (end - start) / 4) {
      near.push(
        `${s.node} (${leaf.identity}, serial ${leaf.serial}) ${left < 0 ? `expired ${inTime(left)}` : `expires in ${inTime(left)}`}, at ${leaf.notAfter}`,
      );
    }
  }
  const skipped = unreachable.length
    ? `; not checked (admin port not reachable from here): ${unreachable.join(', ')}`
    : '';
  if (near.length) {
    return {
      ok: false,
      text: `certificates near expiry: ${near.join('; ')}${skipped}`,
      fix: "rotation has failed: see the sidecar's log for identity errors (token refused, control plane's secure port unreachable), then restart it",
    };
  }
  const none = without ? `; ${without} without one (mTLS off)` : '';
  return {
    ok: true,
    text: `certificates: ${checked} valid with more than a quarter of their lifetime left${none}${skipped}`,
  };
}

export function webhookCheck(checks: ControlPlaneChecks): CheckLine | undefined {
  const w = checks.webhook;
  if (!w) return undefined;
  if (w.config === null) {
    return {
      ok: true,
      text: `injection webhook on port ${w.port} (no MutatingWebhookConfiguration named to keep)`,
    };
  }
  if (w.caBundleCurrent !== true) {
    return {
      ok: false,
      text: `the caBundle of MutatingWebhookConfiguration ${w.config} is ${w.caBundleCurrent === null ? 'not checked yet' : 'not the mesh root'} (last check ${w.checkedAt ?? 'never'})`,
      fix: "the API server cannot call the injector: see the control plane's log (RBAC to patch the configuration?)",
    };
  }
  return {
    ok: true,
    text: `the caBundle of MutatingWebhookConfiguration ${w.config} is the mesh root (checked ${w.checkedAt})`,
  };
}

async function sidecarCerts(client: SyncClient): Promise<SidecarCerts | undefined> {
  if (!client.userAgent?.startsWith('ferry')) return undefined; // proxyless, other Envoys
  const admin = adminUrl(client, undefined);
  if (!admin) return { node: client.nodeId, unreachable: 'remote' };
  try {
    return { node: client.nodeId, certs: await getJson<AdminCerts>(admin, '/certs', 'sidecar') };
  } catch (err) {
    return { node: client.nodeId, unreachable: (err as Error).message };
  }
}

/** Every check, in order; stops after the first when the control plane does not answer. */
export async function runChecks(
  base: string,
  waitMs: number,
  now: () => Date,
): Promise<CheckLine[]> {
  let version: VersionInfo;
  try {
    version = await getJson<VersionInfo>(base, '/version');
  } catch (err) {
    return [
      {
        ok: false,
        text: `control plane not reachable: ${(err as Error).message.replace(/; is it running\?.*$/, '')}`,
        fix: 'start it (npm start, or ferry control-plane), or pass --control-plane URL or set FERRY_CONTROL_PLANE',
      },
    ];
  }
  const lines: CheckLine[] = [
    { ok: true, text: `control plane reachable at ${base} (ferry ${version.version})` },
  ];
  const checks = await getJson<ControlPlaneChecks>(base, '/debug/checks');
  lines.push(caCheck(checks, now()));
  const before = await getJson<Syncz>(base, '/debug/syncz');
  let after = before;
  if (before.clients.some((c) => c.types.some((t) => syncState(t) === 'STALE'))) {
    await new Promise((resolve) => setTimeout(resolve, waitMs));
    after = await getJson<Syncz>(base, '/debug/syncz');
  }
  lines.push(syncCheck(before, after), nackCheck(after));
  const certs = (await Promise.all(after.clients.map(sidecarCerts))).filter(
    (c): c is SidecarCerts => c !== undefined,
  );
  lines.push(certificateCheck(certs, now()));
  const webhook = webhookCheck(checks);
  if (webhook) lines.push(webhook);
  return lines;
}

export function formatChecks(lines: readonly CheckLine[]): string {
  const failed = lines.filter((l) => !l.ok).length;
  return (
    lines.map((l) => `${l.ok ? '✔' : '✖'} ${l.text}\n${l.fix ? `    → ${l.fix}\n` : ''}`).join('') +
    (failed ? `\n${failed} ${failed === 1 ? 'check' : 'checks'} failed\n` : '\nAll checks passed\n')
  );
}

/** Runs the command; resolves to the exit code (1 when a check failed). */
export async function runCheck(
  argv: string[],
  out: Output = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
  now: () => Date = () => new Date(),
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      'control-plane': { type: 'string' },
      wait: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    out.write(CHECK_HELP);
    return 0;
  }
  if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const waitMs = values.wait === undefined ? 3000 : Number(values.wait);
  if (!Number.isInteger(waitMs) || waitMs < 0) {
    throw new UsageError(`--wait must be a whole number of ms, got "${values.wait}"`);
  }
  const base = controlPlaneUrl(values['control-plane'], env);
  const lines = await runChecks(base, waitMs, now);
  out.write(formatChecks(lines));
  return lines.every((l) => l.ok) ? 0 : 1;
}
