/**
 * `ferry stat`: golden metrics per service or per workload, as `linkerd viz stat` prints them
 * (https://linkerd.io/2/reference/cli/viz/#stat): success rate, requests per second,
 * p50/p95/p99 latency and the share of requests on mutual TLS, over a time window.
 *
 * Read from the sidecars themselves: every sidecar the control plane knows announced its
 * metrics port; each is scraped at the start and the end of the window and Istio's standard
 * metrics are differenced (reset-aware, as Prometheus's rate()). A request is counted where
 * it was received (reporter="destination"); a service whose endpoints have no sidecar is
 * counted by its callers (reporter="source").
 */

import { parseArgs } from 'node:util';
import {
  delta,
  histogramQuantile,
  type Labels,
  parsePrometheusText,
  type Reading,
  toReading,
} from '../dashboard/index.js';
import { UsageError } from './args.js';
import { type CommandIo, durationFlag, PROCESS_IO } from './command-io.js';
import { serialize } from './control-plane-query.js';
import {
  ControlPlaneQueryError,
  controlPlaneUrl,
  getJson,
  outputFormat,
  renderTable,
} from './proxy-status.js';

export const STAT_HELP = `Usage: ferry stat [KIND[/NAME]] [NAME] [options]

Golden metrics per service or workload over a time window, from the sidecars' metrics:
success rate (responses that are not 5xx), requests per second, p50/p95/p99 latency and
the share of requests received over mutual TLS.

  KIND   svc (services, the default) | workload (service-version; alias deploy)

Examples:
  ferry stat                       every service
  ferry stat svc/reviews           one service
  ferry stat workload -n default   every workload in a namespace

Options:
      --window DURATION    how long to count, e.g. 10s, 1m                 (default 10s)
  -n, --namespace NS       only this namespace
      --control-plane URL  the control plane's HTTP port
                           (default $FERRY_CONTROL_PLANE or http://127.0.0.1:15014)
  -o, --output FORMAT      table | json                                     (default table)
  -h, --help               show this help
`;

type Kind = 'service' | 'workload';

const KINDS: Record<string, Kind> = {
  svc: 'service',
  service: 'service',
  services: 'service',
  workload: 'workload',
  workloads: 'workload',
  wl: 'workload',
  deploy: 'workload',
  deployment: 'workload',
  deployments: 'workload',
};

interface SyncClient {
  readonly nodeId: string;
  readonly metricsPort?: number;
  readonly workload?: {
    service: string;
    namespace: string;
    address: string;
    labels?: Record<string, string>;
  };
}

export interface StatRow {
  readonly name: string;
  readonly namespace: string;
  /** Sidecars of it that were scraped. */
  readonly meshed: number;
  readonly requests: number;
  readonly rps: number;
  /** Fractions 0..1; undefined without requests. */
  readonly successRate: number | undefined;
  readonly p50: number | undefined;
  readonly p95: number | undefined;
  readonly p99: number | undefined;
  readonly mtlsShare: number | undefined;
}

/** What was counted for one service or workload, from one side. */
class Tally {
  requests = 0;
  failures = 0;
  mtls = 0;
  readonly buckets = new Map<number, number>();
}

function keyOf(kind: Kind, l: Labels): { name: string; namespace: string } {
  if (kind === 'workload') {
    return {
      name: l.destination_workload || 'unknown',
      namespace: l.destination_workload_namespace || 'default',
    };
  }
  const host = l.destination_service || '';
  return {
    name: l.destination_service_name || host.split('.')[0] || 'unknown',
    namespace: l.destination_service_namespace || host.split('.')[1] || 'default',
  };
}

/** The rows of `ferry stat`: a pure function of what the window's scrapes counted. */
export function statRows(
  kind: Kind,
  deltas: ReadonlyArray<ReturnType<typeof delta>>,
  windowSeconds: number,
  meshed: ReadonlyMap<string, number>,
): StatRow[] {
  const by = { destination: new Map<string, Tally>(), source: new Map<string, Tally>() };
  const tally = (reporter: string, l: Labels): Tally | undefined => {
    const side =
      reporter === 'destination' ? by.destination : reporter === 'source' ? by.source : undefined;
    if (!side) return undefined;
    const k = keyOf(kind, l);
    const id = `${k.name}.${k.namespace}`;
    let t = side.get(id);
    if (!t) {
      t = new Tally();
      side.set(id, t);
    }
    return t;
  };
  for (const d of deltas) {
    for (const p of d.requests) {
      const t = tally(p.labels.reporter ?? '', p.labels);
      if (!t) continue;
      t.requests += p.value;
      if ((p.labels.response_code ?? '').startsWith('5')) t.failures += p.value;
      if (p.labels.connection_security_policy === 'mutual_tls') t.mtls += p.value;
    }
    for (const p of d.buckets) {
      const t = tally(p.labels.reporter ?? '', p.labels);
      const le = Number(p.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : p.labels.le);
      if (t && !Number.isNaN(le)) t.buckets.set(le, (t.buckets.get(le) ?? 0) + p.value);
    }
  }
  const ids = new Set([...by.destination.keys(), ...by.source.keys(), ...meshed.keys()]);
  const rows: StatRow[] = [];
  for (const id of ids) {
    const dest = by.destination.get(id);
    const t = dest && dest.requests > 0 ? dest : (by.source.get(id) ?? dest ?? new Tally());
    const dot = id.lastIndexOf('.');
    const some = t.requests > 0;
    rows.push({
      name: id.slice(0, dot),
      namespace: id.slice(dot + 1),
      meshed: meshed.get(id) ?? 0,
      requests: t.requests,
      rps: t.requests / windowSeconds,
      successRate: some ? 1 - t.failures / t.requests : undefined,
      p50: histogramQuantile(0.5, t.buckets),
      p95: histogramQuantile(0.95, t.buckets),
      p99: histogramQuantile(0.99, t.buckets),
      mtlsShare: some ? t.mtls / t.requests : undefined,
    });
  }
  return rows.sort((a, b) =>
    a.namespace === b.namespace ? (a.name < b.name ? -1 : 1) : a.namespace < b.namespace ? -1 : 1,
  );
}

const pct = (v: number | undefined) => (v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
const ms = (v: number | undefined) => (v === undefined ? '-' : `${Number(v.toPrecision(3))}ms`);

export function formatStat(rows: readonly StatRow[], kind: Kind): string {
  if (rows.length === 0)
    return `No ${kind === 'service' ? 'services' : 'workloads'} with sidecars or traffic.\n`;
  return renderTable(
    [
      'NAME',
      'NAMESPACE',
      'MESHED',
      'SUCCESS',
      'RPS',
      'LATENCY_P50',
      'LATENCY_P95',
      'LATENCY_P99',
      'MTLS',
    ],
    rows.map((r) => [
      r.name,
      r.namespace,
      String(r.meshed),
      pct(r.successRate),
      `${r.rps.toFixed(1)}rps`,
      ms(r.p50),
      ms(r.p95),
      ms(r.p99),
      pct(r.mtlsShare),
    ]),
  );
}

interface Target {
  readonly nodeId: string;
  readonly id: string;
  readonly url: string;
}

async function scrape(t: Target): Promise<Reading | undefined> {
  try {
    const res = await fetch(t.url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return undefined;
    return toReading(parsePrometheusText(await res.text()), Date.now());
  } catch {
    return undefined;
  }
}

function parseTarget(positionals: readonly string[]): { kind: Kind; name: string | undefined } {
  if (positionals.length > 2) throw new UsageError(`unexpected argument "${positionals[2]}"`);
  const [first, second] = positionals;
  if (first === undefined) return { kind: 'service', name: undefined };
  const slash = first.indexOf('/');
  const kindWord = slash < 0 ? first : first.slice(0, slash);
  const kind = KINDS[kindWord];
  if (kind === undefined) {
    if (second === undefined && slash < 0) return { kind: 'service', name: first };
    throw new UsageError(`unknown kind "${kindWord}" (svc or workload)`);
  }
  const name = slash < 0 ? second : first.slice(slash + 1);
  if (slash >= 0 && second !== undefined) throw new UsageError(`unexpected argument "${second}"`);
  return { kind, name: name || undefined };
}

export async function runStat(argv: string[], io: CommandIo = PROCESS_IO): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      window: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      'control-plane': { type: 'string' },
      output: { type: 'string', short: 'o' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    io.out.write(STAT_HELP);
    return;
  }
  const { kind, name } = parseTarget(positionals);
  const format = outputFormat(values.output);
  const windowMs = durationFlag('--window', values.window, 10_000);
  const base = controlPlaneUrl(values['control-plane'], io.env);
  const { clients } = await getJson<{ clients: SyncClient[] }>(base, '/debug/syncz');
  const targets: Target[] = [];
  for (const c of clients) {
    const w = c.workload;
    if (!w || c.metricsPort === undefined) continue;
    const version = w.labels?.version;
    const who = kind === 'service' || !version ? w.service : `${w.service}-${version}`;
    const host = w.address.includes(':') ? `[${w.address}]` : w.address;
    targets.push({
      nodeId: c.nodeId,
      id: `${who}.${w.namespace}`,
      url: `http://${host}:${c.metricsPort}/stats/prometheus`,
    });
  }
  if (targets.length === 0) {
    throw new ControlPlaneQueryError(
      'FERRY_NOT_FOUND',
      `no sidecar that announces its metrics is connected to the control plane at ${base}`,
    );
  }
  io.err.write(`counting for ${windowMs / 1000}s from ${targets.length} sidecars\n`);
  const first = await Promise.all(targets.map(scrape));
  await new Promise((resolve) => setTimeout(resolve, windowMs));
  const second = await Promise.all(targets.map(scrape));
  const deltas: ReturnType<typeof delta>[] = [];
  const meshed = new Map<string, number>();
  const unreachable: string[] = [];
  targets.forEach((t, i) => {
    const a = first[i];
    const b = second[i];
    if (!a || !b) {
      unreachable.push(t.nodeId);
      return;
    }
    deltas.push(delta(a, b));
    meshed.set(t.id, (meshed.get(t.id) ?? 0) + 1);
  });
  let rows = statRows(kind, deltas, windowMs / 1000, meshed);
  if (values.namespace !== undefined) rows = rows.filter((r) => r.namespace === values.namespace);
  if (name !== undefined) {
    rows = rows.filter((r) => r.name === name || `${r.name}.${r.namespace}` === name);
    if (rows.length === 0) {
      throw new ControlPlaneQueryError(
        'FERRY_NOT_FOUND',
        `no ${kind} "${name}" has sidecars or traffic (try ferry stat ${kind === 'service' ? 'svc' : 'workload'} for the list)`,
      );
    }
  }
  if (unreachable.length) {
    io.err.write(`ferry stat: could not read the metrics of ${unreachable.join(', ')}\n`);
  }
  io.out.write(
    format === 'json' || format === 'yaml' ? serialize(rows, format) : formatStat(rows, kind),
  );
}
