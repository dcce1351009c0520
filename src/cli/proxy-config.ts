/**
 * `ferry proxy-config <sidecar> clusters|listeners|routes|endpoints|secrets`: what one
 * sidecar has in force, as tables, read from the control plane's
 * /debug/config_dump?node=ID. Modelled on `istioctl proxy-config`
 * (https://istio.io/latest/docs/reference/commands/istioctl/#istioctl-proxy-config).
 *
 * "In force" means the resources in the sidecar's subscription (its wildcard set plus the
 * names it asked for), as last sent; when the sidecar has rejected or not yet acknowledged
 * that version, a note above the table says so.
 */
import { X509Certificate } from 'node:crypto';
import { parseArgs } from 'node:util';
import { UsageError } from './args.js';
import {
  controlPlaneUrl,
  getJson,
  type Output,
  outputFormat,
  QUERY_OPTIONS,
  renderTable,
  type SyncTypeStatus,
  syncState,
} from './proxy-status.js';

export const PROXY_CONFIG_HELP = `Usage: ferry proxy-config <sidecar-id> <kind> [options]

Prints the configuration one sidecar (xDS node id, see ferry proxy-status) has in force.

Kinds:
  clusters    upstream clusters: service, port, subset, direction, discovery, balancing, TLS,
              health check
  listeners   listeners: address, port, direction, filter chains and where they lead
  routes      route tables: virtual hosts, domains, matches and destinations (with
              timeouts, retries, mirrors)
  endpoints   endpoints of every cluster: address, health, locality, weight
  secrets     TLS secrets: identity, serial number and validity (never key material)

Options:
      --control-plane URL  the control plane's HTTP port
                           (default $FERRY_CONTROL_PLANE or http://127.0.0.1:15014)
  -o, --output FORMAT      table | json (the Envoy resources; keys redacted)  (default table)
  -h, --help               show this help
`;

export const PROXY_CONFIG_KINDS = [
  'clusters',
  'listeners',
  'routes',
  'endpoints',
  'secrets',
] as const;
export type ProxyConfigKind = (typeof PROXY_CONFIG_KINDS)[number];

const TYPE_OF_KIND: Record<ProxyConfigKind, string> = {
  clusters: 'CDS',
  listeners: 'LDS',
  routes: 'RDS',
  endpoints: 'EDS',
  secrets: 'SDS',
};

interface DumpEntry {
  readonly name: string;
  readonly version: string;
  readonly on_demand?: boolean;
  readonly resource: Record<string, unknown>;
}

/** The JSON /debug/config_dump?node=ID returns (src/controlplane/debug-http.ts). */
export interface ConfigDump {
  readonly node: string;
  readonly version: string;
  readonly sync?: SyncTypeStatus[];
  readonly resources: Record<string, DumpEntry[]>;
}

// biome-ignore lint/suspicious/noExplicitAny: walking Envoy JSON of many shapes.
type Json = any;

/** The entries of one type the sidecar subscribed to (see the file comment). */
export function inForce(dump: ConfigDump, type: string): DumpEntry[] {
  const entries = dump.resources[type] ?? [];
  if (!dump.sync) return entries;
  const sub = dump.sync.find((t) => t.type === type);
  if (!sub) return [];
  const names = new Set(sub.names);
  return entries.filter((e) => (sub.wildcard && !e.on_demand) || names.has(e.name));
}

/** A note when what was last sent is not (yet) what the sidecar runs. */
export function syncNote(dump: ConfigDump, type: string): string {
  const sub = dump.sync?.find((t) => t.type === type);
  if (!sub) return dump.sync ? `note: the sidecar has not subscribed to ${type}\n` : '';
  const state = syncState(sub);
  if (state === 'NACKED') {
    return `note: the sidecar rejected ${type} version ${sub.lastNack?.version} (${sub.lastNack?.message}); it keeps the version before, shown below is what it rejected\n`;
  }
  if (state === 'STALE') {
    return `note: ${type} version ${sub.lastSentVersion} was sent but is not acknowledged yet (last acknowledged: ${sub.lastAckedVersion || 'none'})\n`;
  }
  return '';
}

/** A protobuf Duration in Envoy's JSON ({seconds, nanos}) as text: 1s, 250ms. */
export function duration(d: Json): string {
  if (!d) return '-';
  const ms = Number(d.seconds ?? 0) * 1000 + Number(d.nanos ?? 0) / 1e6;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Istio-style cluster names: direction|port|subset|fqdn. */
function parseClusterName(name: string): {
  direction: string;
  port: string;
  subset: string;
  fqdn: string;
} {
  const parts = name.split('|');
  if (parts.length === 4 && (parts[0] === 'outbound' || parts[0] === 'inbound')) {
    return {
      direction: parts[0],
      port: parts[1] || '-',
      subset: parts[2] || '-',
      fqdn: parts[3] || '-',
    };
  }
  return { direction: '-', port: '-', subset: '-', fqdn: name };
}

function clusterTls(c: Json): string {
  if (c.transport_socket) return 'mTLS';
  if (Array.isArray(c.transport_socket_matches) && c.transport_socket_matches.length) {
    return 'mTLS to meshed endpoints';
  }
  return '-';
}

/** The cluster's active health check, briefly: what it probes and how often. */
function clusterHealthCheck(c: Json): string {
  const hc = c.health_checks?.[0];
  if (!hc) return '-';
  const every = `every ${duration(hc.interval)}`;
  if (hc.http_health_check) return `HTTP ${hc.http_health_check.path ?? '/'} ${every}`;
  if (hc.grpc_health_check) {
    const name = hc.grpc_health_check.service_name;
    return `gRPC${name ? ` ${name}` : ''} ${every}`;
  }
  return `TCP ${every}`;
}

export function clustersTable(entries: DumpEntry[]): string {
  const rows = entries.map((e) => {
    const c = e.resource as Json;
    const n = parseClusterName(c.name ?? e.name);
    return [
      n.fqdn,
      n.port,
      n.subset,
      n.direction,
      String(c.type ?? (c.cluster_type ? 'CUSTOM' : 'EDS')),
      String(c.lb_policy ?? 'ROUND_ROBIN'),
      clusterTls(c),
      clusterHealthCheck(c),
    ];
  });
  return renderTable(
    ['SERVICE FQDN', 'PORT', 'SUBSET', 'DIRECTION', 'TYPE', 'LB', 'TLS', 'HEALTH CHECK'],
    rows,
  );
}

function chainMatch(m: Json): string {
  if (!m) return 'ALL';
  const parts: string[] = [];
  if (m.destination_port) parts.push(`port ${m.destination_port.value ?? m.destination_port}`);
  if (m.transport_protocol) parts.push(`transport ${m.transport_protocol}`);
  if (m.application_protocols?.length) parts.push(`alpn ${m.application_protocols.join(',')}`);
  if (m.server_names?.length) parts.push(`sni ${m.server_names.join(',')}`);
  if (m.prefix_ranges?.length) {
    parts.push(
      `ip ${m.prefix_ranges.map((p: Json) => `${p.address_prefix}/${p.prefix_len?.value ?? p.prefix_len ?? 32}`).join(',')}`,
    );
  }
  return parts.join('; ') || 'ALL';
}

function filterDestination(filters: Json[] | undefined): string {
  for (const f of filters ?? []) {
    const tc = f.typed_config ?? {};
    if (tc.rds?.route_config_name) return `Route: ${tc.rds.route_config_name}`;
    if (tc.route_config) return `Inline route: ${tc.route_config.name ?? '(unnamed)'}`;
    if (tc.cluster) return `Cluster: ${tc.cluster}`;
    if (tc.weighted_clusters) {
      return `Clusters: ${(tc.weighted_clusters.clusters ?? []).map((c: Json) => c.name).join(', ')}`;
    }
  }
  return (filters ?? []).map((f) => f.name).join(', ') || '-';
}

export function listenersTable(entries: DumpEntry[]): string {
  const rows: string[][] = [];
  for (const e of entries) {
    const l = e.resource as Json;
    const sa = l.address?.socket_address;
    const address = sa?.address ?? '-';
    const port = sa?.port_value !== undefined ? String(sa.port_value) : '-';
    const direction = l.traffic_direction ?? (l.api_listener ? 'API' : '-');
    if (l.api_listener) {
      const hcm = l.api_listener.api_listener ?? {};
      rows.push([
        e.name,
        address,
        port,
        direction,
        'ALL',
        filterDestination([{ typed_config: hcm }]),
      ]);
      continue;
    }
    const chains: Json[] = [...(l.filter_chains ?? [])];
    if (l.default_filter_chain) chains.push({ ...l.default_filter_chain, default: true });
    if (chains.length === 0) rows.push([e.name, address, port, direction, '-', '-']);
    for (const ch of chains) {
      const tls = ch.transport_socket ? ' (TLS)' : '';
      rows.push([
        e.name,
        address,
        port,
        direction,
        (ch.default ? 'default' : chainMatch(ch.filter_chain_match)) + tls,
        filterDestination(ch.filters),
      ]);
    }
  }
  return renderTable(['NAME', 'ADDRESS', 'PORT', 'DIRECTION', 'MATCH', 'DESTINATION'], rows);
}

function routeMatch(m: Json): string {
  if (!m) return '-';
  let path = '/*';
  if (m.path !== undefined) path = m.path;
  else if (m.prefix !== undefined) path = `${m.prefix}*`;
  else if (m.safe_regex) path = `~${m.safe_regex.regex}`;
  else if (m.path_separated_prefix !== undefined) path = `${m.path_separated_prefix}/*`;
  const headers = (m.headers ?? []).map((h: Json) => {
    const sm = h.string_match ?? {};
    const v = sm.exact ?? sm.prefix ?? sm.suffix ?? sm.contains ?? sm.safe_regex?.regex;
    return v === undefined ? h.name : `${h.name}=${v}`;
  });
  return headers.length ? `${path} [${headers.join(', ')}]` : path;
}

function routeAction(r: Json): string {
  if (r.route) {
    const a = r.route;
    let dest = '-';
    if (a.cluster) dest = a.cluster;
    else if (a.weighted_clusters) {
      dest = (a.weighted_clusters.clusters ?? [])
        .map((c: Json) => `${c.name} ${c.weight?.value ?? c.weight ?? ''}`.trim())
        .join(', ');
    } else if (a.cluster_header) dest = `header ${a.cluster_header}`;
    const extras: string[] = [];
    if (a.timeout) extras.push(`timeout ${duration(a.timeout)}`);
    const rp = a.retry_policy;
    if (rp)
      extras.push(
        `retries ${rp.num_retries?.value ?? rp.num_retries ?? 1} on ${rp.retry_on ?? '-'}`,
      );
    for (const m of a.request_mirror_policies ?? []) {
      extras.push(`mirror ${m.cluster || `header ${m.cluster_header}`} ${mirrorShare(m)}`);
    }
    return extras.length ? `${dest} (${extras.join(', ')})` : dest;
  }
  if (r.redirect)
    return `redirect ${r.redirect.host_redirect ?? ''}${r.redirect.path_redirect ?? ''}`;
  if (r.direct_response) return `direct response ${r.direct_response.status}`;
  return '-';
}

/** The share of requests a mirror policy copies, in percent (all, without runtime_fraction). */
function mirrorShare(m: Json): string {
  const f = m.runtime_fraction?.default_value;
  if (!m.runtime_fraction) return '100%';
  const per: Record<string, number> = { HUNDRED: 100, TEN_THOUSAND: 10_000, MILLION: 1_000_000 };
  const denominator = per[String(f?.denominator ?? 'HUNDRED')] ?? 100;
  return `${(100 * Number(f?.numerator ?? 0)) / denominator}%`;
}

export function routesTable(entries: DumpEntry[]): string {
  const rows: string[][] = [];
  for (const e of entries) {
    const rc = e.resource as Json;
    for (const vh of rc.virtual_hosts ?? []) {
      const domains: string[] = vh.domains ?? [];
      const shown =
        domains.length > 3
          ? `${domains.slice(0, 2).join(', ')} +${domains.length - 2} more`
          : domains.join(', ');
      for (const r of vh.routes ?? []) {
        rows.push([e.name, vh.name ?? '-', shown || '-', routeMatch(r.match), routeAction(r)]);
      }
    }
  }
  return renderTable(['NAME', 'VIRTUAL HOST', 'DOMAINS', 'MATCH', 'DESTINATION'], rows);
}

export function endpointsTable(entries: DumpEntry[]): string {
  const rows: string[][] = [];
  for (const e of entries) {
    const cla = e.resource as Json;
    for (const loc of cla.endpoints ?? []) {
      const locality = [loc.locality?.region, loc.locality?.zone, loc.locality?.sub_zone]
        .filter((x) => x)
        .join('/');
      for (const lb of loc.lb_endpoints ?? []) {
        const sa = lb.endpoint?.address?.socket_address;
        rows.push([
          sa ? `${sa.address}:${sa.port_value}` : '-',
          String(lb.health_status ?? 'HEALTHY'),
          locality || '-',
          String(lb.load_balancing_weight?.value ?? 1),
          cla.cluster_name ?? e.name,
        ]);
      }
    }
  }
  return renderTable(['ENDPOINT', 'STATUS', 'LOCALITY', 'WEIGHT', 'CLUSTER'], rows);
}

/** PEM or base64 DER from an Envoy DataSource; undefined when it is a file path or absent. */
function dataSourceBytes(ds: Json): Buffer | undefined {
  if (!ds) return undefined;
  if (typeof ds.inline_string === 'string') return Buffer.from(ds.inline_string);
  // Envoy's JSON carries bytes as base64; inside is PEM or DER, both of which X509 reads.
  if (typeof ds.inline_bytes === 'string') return Buffer.from(ds.inline_bytes, 'base64');
  return undefined;
}

export interface CertSummary {
  readonly identity: string;
  readonly serial: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly valid: boolean;
}

/** Identity (SAN URI, else subject), serial and validity of the first certificate. */
export function summarizeCertificate(bytes: Buffer, now: Date): CertSummary | undefined {
  let cert: X509Certificate;
  try {
    const pem = bytes.toString('utf8');
    const first = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/);
    cert = new X509Certificate(first ? first[0] : bytes);
  } catch {
    return undefined;
  }
  const uris = (cert.subjectAltName ?? '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  return {
    identity: uris.join(',') || cert.subject.replace(/\n/g, ','),
    serial: cert.serialNumber,
    notBefore: notBefore.toISOString(),
    notAfter: notAfter.toISOString(),
    valid: now >= notBefore && now <= notAfter,
  };
}

/** SDS secret names the sidecar's clusters and listeners refer to, with who refers. */
export function referencedSecrets(dump: ConfigDump): Map<string, Set<string>> {
  const refs = new Map<string, Set<string>>();
  const visit = (node: Json, owner: string): void => {
    if (Array.isArray(node)) {
      for (const x of node) visit(x, owner);
      return;
    }
    if (!node || typeof node !== 'object') return;
    for (const [k, v] of Object.entries(node)) {
      if (k === 'tls_certificate_sds_secret_configs' && Array.isArray(v)) {
        for (const s of v as Json[]) add(s?.name, owner);
      } else if (k === 'validation_context_sds_secret_config') {
        add((v as Json)?.name, owner);
      } else visit(v, owner);
    }
  };
  const add = (name: string | undefined, owner: string) => {
    if (!name) return;
    const set = refs.get(name) ?? new Set<string>();
    set.add(owner);
    refs.set(name, set);
  };
  for (const e of inForce(dump, 'CDS')) visit(e.resource, `cluster ${e.name}`);
  for (const e of inForce(dump, 'LDS')) visit(e.resource, `listener ${e.name}`);
  return refs;
}

export function secretsTable(dump: ConfigDump, now: Date): string {
  const rows: string[][] = [];
  const served = new Set<string>();
  for (const e of inForce(dump, 'SDS')) {
    served.add(e.name);
    const s = e.resource as Json;
    const certBytes = dataSourceBytes(s.tls_certificate?.certificate_chain);
    const caBytes = dataSourceBytes(s.validation_context?.trusted_ca);
    const kind = s.tls_certificate ? 'Cert Chain' : s.validation_context ? 'CA' : '-';
    const sum =
      (certBytes ?? caBytes)
        ? summarizeCertificate((certBytes ?? caBytes) as Buffer, now)
        : undefined;
    rows.push([
      e.name,
      kind,
      sum ? (sum.valid ? 'VALID' : 'EXPIRED OR NOT YET VALID') : 'UNREADABLE',
      sum?.identity ?? '-',
      sum?.serial ?? '-',
      sum?.notAfter ?? '-',
      sum?.notBefore ?? '-',
    ]);
  }
  const refs = referencedSecrets(dump);
  for (const [name, owners] of [...refs].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (served.has(name)) continue;
    rows.push([
      name,
      name === 'ROOTCA' ? 'CA' : 'Cert Chain',
      'FROM SIDECAR',
      `(held by the sidecar, not sent over xDS; used by ${owners.size} resources)`,
      '-',
      '-',
      '-',
    ]);
  }
  return renderTable(
    ['RESOURCE NAME', 'TYPE', 'STATUS', 'IDENTITY', 'SERIAL NUMBER', 'NOT AFTER', 'NOT BEFORE'],
    rows,
  );
}

const SECRET_KEYS = /private_key|password|secret_value|hmac|session_ticket_keys/i;

/** A deep copy without any key material (for -o json). */
export function redact(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redact);
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEYS.test(k) ? '[redacted]' : redact(v);
  }
  return out;
}

export function formatProxyConfig(dump: ConfigDump, kind: ProxyConfigKind, now: Date): string {
  const type = TYPE_OF_KIND[kind];
  const entries = inForce(dump, type);
  const note = syncNote(dump, type);
  switch (kind) {
    case 'clusters':
      return note + clustersTable(entries);
    case 'listeners':
      return note + listenersTable(entries);
    case 'routes':
      return note + routesTable(entries);
    case 'endpoints':
      return note + endpointsTable(entries);
    case 'secrets':
      // Secrets Ferry's sidecar makes itself are not subscribed to; no note for that.
      return (dump.sync?.some((t) => t.type === 'SDS') ? note : '') + secretsTable(dump, now);
  }
}

export async function runProxyConfig(
  argv: string[],
  out: Output = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
  now: () => Date = () => new Date(),
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: QUERY_OPTIONS,
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    out.write(PROXY_CONFIG_HELP);
    return;
  }
  const [node, kind, extra] = positionals;
  if (!node) throw new UsageError('the sidecar id is required (see ferry proxy-status)');
  if (!kind) throw new UsageError(`what to show is required: ${PROXY_CONFIG_KINDS.join(' | ')}`);
  if (!(PROXY_CONFIG_KINDS as readonly string[]).includes(kind)) {
    throw new UsageError(`unknown kind "${kind}"; one of ${PROXY_CONFIG_KINDS.join(' | ')}`);
  }
  if (extra) throw new UsageError(`unexpected argument "${extra}"`);
  const format = outputFormat(values.output);
  const base = controlPlaneUrl(values['control-plane'], env.FERRY_CONTROL_PLANE);
  const dump = await getJson<ConfigDump>(
    base,
    `/debug/config_dump?node=${encodeURIComponent(node)}`,
  );
  const k = kind as ProxyConfigKind;
  if (format === 'json') {
    const resources = inForce(dump, TYPE_OF_KIND[k]).map((e) => e.resource);
    out.write(`${JSON.stringify(redact(resources), null, 2)}\n`);
    return;
  }
  out.write(formatProxyConfig(dump, k, now()));
}
