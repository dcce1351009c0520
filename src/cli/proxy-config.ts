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
import type { CertificateInfo } from '../proxy/admin/index.js';
import { durationMs, type envoy } from '../xds/index.js';
import { didYouMean, UsageError } from './args.js';
import {
  CONTROL_PLANE_OPTION_HELP,
  controlPlaneUrl,
  getJson,
  isLocalAddress,
  type Output,
  type OutputFormat,
  outputFormat,
  QUERY_OPTIONS,
  renderTable,
  serialize,
} from './control-plane-query.js';
import {
  noSuchSidecar,
  type SyncClient,
  type SyncTypeStatus,
  type Syncz,
  selectClients,
  syncState,
} from './proxy-status.js';

export const PROXY_CONFIG_HELP = `Usage: ferry proxy-config <kind> <sidecar> [options]
       ferry proxy-config <sidecar> <kind> [options]

Prints what one sidecar (its xDS node id, a prefix of it, or its service; see ferry
proxy-status) has in force. The order of kind and sidecar is free, as with istioctl.

Kinds (and istioctl's aliases):
  cluster, clusters, c      upstream clusters: service, port, subset, direction, discovery,
                            balancing, TLS, health check
  listener, listeners, l    listeners: address, port, direction, filter chains, destinations
  route, routes, r          route tables: virtual hosts, domains, matches and destinations
                            (with timeouts, retries, mirrors)
  endpoint, endpoints, ep   endpoints as the sidecar sees them: health, active health check,
                            outlier ejection, requests (from its admin port; the control
                            plane's view when that cannot be reached)
  secret, secrets, s        certificates: identity, serial, validity and chain (never keys)
  all, a                    all of the above
  bootstrap, b              what the sidecar was started with: node, xDS server, ports
  log                       the sidecar's log level; --level changes it while it runs

Options:
${CONTROL_PLANE_OPTION_HELP}
      --admin URL          the sidecar's admin port (default: the port it announced, when it
                           runs on this machine)
  -o, --output FORMAT      table | json | yaml (the Envoy resources; keys redacted) |
                           short (names only)                        (default table)
      --fqdn FQDN          clusters, endpoints: only this service (e.g. reviews.default or
                           reviews.default.svc.cluster.local)
      --port PORT          clusters, listeners: only this port
      --subset NAME        clusters, endpoints: only this subset
      --direction DIR      clusters: inbound | outbound
      --name NAME          routes: only this route table; listeners: only this listener
      --level LEVEL        log: set the level (trace, debug, info, warn, error)
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

/** Every word the kind may be given as (istioctl's singular names and short aliases). */
const KIND_ALIASES: Record<string, ProxyConfigKind | 'all' | 'bootstrap' | 'log'> = {
  cluster: 'clusters',
  clusters: 'clusters',
  c: 'clusters',
  listener: 'listeners',
  listeners: 'listeners',
  l: 'listeners',
  route: 'routes',
  routes: 'routes',
  r: 'routes',
  endpoint: 'endpoints',
  endpoints: 'endpoints',
  ep: 'endpoints',
  secret: 'secrets',
  secrets: 'secrets',
  s: 'secrets',
  all: 'all',
  a: 'all',
  bootstrap: 'bootstrap',
  b: 'bootstrap',
  log: 'log',
};

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
  const ms = durationMs(d as envoy.Duration | undefined);
  if (ms === undefined || Number.isNaN(ms)) return '-';
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

/** The --fqdn/--port/--subset/--direction/--name filters, as given. */
export interface ConfigFilters {
  readonly fqdn?: string;
  readonly port?: number;
  readonly subset?: string;
  readonly direction?: string;
  readonly name?: string;
}

/** A short name (reviews, reviews.default) picks its FQDN; a full one only itself. */
function fqdnMatches(fqdn: string, given: string): boolean {
  return fqdn === given || fqdn.startsWith(`${given}.`);
}

function clusterNameMatches(name: string, f: ConfigFilters): boolean {
  const n = parseClusterName(name);
  if (f.fqdn !== undefined && !fqdnMatches(n.fqdn, f.fqdn)) return false;
  if (f.port !== undefined && n.port !== String(f.port)) return false;
  if (f.subset !== undefined && n.subset !== f.subset) return false;
  if (f.direction !== undefined && n.direction !== f.direction) return false;
  return true;
}

/** The entries of a kind that pass the filters given. */
export function filterEntries(
  kind: ProxyConfigKind,
  entries: DumpEntry[],
  f: ConfigFilters,
): DumpEntry[] {
  switch (kind) {
    case 'clusters':
      return entries.filter((e) => clusterNameMatches(String(e.resource.name ?? e.name), f));
    case 'endpoints':
      return entries.filter((e) =>
        clusterNameMatches(String(e.resource.cluster_name ?? e.name), f),
      );
    case 'listeners':
      return entries.filter((e) => {
        const port = (e.resource as Json).address?.socket_address?.port_value;
        return (
          (f.port === undefined || port === f.port) && (f.name === undefined || e.name === f.name)
        );
      });
    case 'routes':
      return entries.filter((e) => f.name === undefined || e.name === f.name);
    case 'secrets':
      return entries;
  }
}

/** Which filters each kind takes; others are refused rather than silently ignored. */
const FILTERS_OF_KIND: Record<string, readonly (keyof ConfigFilters)[]> = {
  clusters: ['fqdn', 'port', 'subset', 'direction'],
  endpoints: ['fqdn', 'subset'],
  listeners: ['port', 'name'],
  routes: ['name'],
  secrets: [],
  all: ['fqdn', 'port', 'subset', 'direction', 'name'],
  bootstrap: [],
  log: [],
};

/** One host as the sidecar's admin /clusters?format=json gives it. */
interface AdminHost {
  readonly address: string;
  readonly health: string;
  readonly healthy: boolean;
  readonly ejected: boolean;
  readonly failedHealthCheck?: boolean;
  readonly active: number;
  readonly rqTotal: number;
  readonly rqError: number;
  readonly weight: number;
  readonly zone: string;
}

export interface AdminClusters {
  readonly clusters: Array<{ readonly name: string; readonly hosts: AdminHost[] }>;
}

/**
 * Endpoints as the sidecar itself sees them: the health the control plane sent, its own
 * active health checks, outlier ejection, and what it sent each.
 */
export function sidecarEndpointsTable(view: AdminClusters, f: ConfigFilters): string {
  const rows: string[][] = [];
  for (const c of view.clusters) {
    if (!clusterNameMatches(c.name, f)) continue;
    for (const h of c.hosts) {
      rows.push([
        h.address,
        h.health,
        h.failedHealthCheck === undefined ? '-' : h.failedHealthCheck ? 'FAILED' : 'OK',
        h.ejected ? 'EJECTED' : 'OK',
        h.healthy && !h.ejected ? 'yes' : 'no',
        String(h.active),
        String(h.rqTotal),
        String(h.rqError),
        h.zone || '-',
        String(h.weight),
        c.name,
      ]);
    }
  }
  return renderTable(
    [
      'ENDPOINT',
      'STATUS',
      'HEALTH CHECK',
      'OUTLIER CHECK',
      'USED',
      'ACTIVE',
      'REQUESTS',
      'ERRORS',
      'ZONE',
      'WEIGHT',
      'CLUSTER',
    ],
    rows,
  );
}

/** The sidecar's /certs: its workload certificate chain and the roots it trusts. */
export interface AdminCerts {
  readonly chain: CertificateInfo[];
  readonly roots: CertificateInfo[];
}

function validity(c: CertificateInfo, now: Date): string {
  if (now < new Date(c.notBefore)) return 'NOT YET VALID';
  if (now > new Date(c.notAfter)) return 'EXPIRED';
  return 'VALID';
}

/**
 * Each certificate the sidecar holds: the leaf (`default`), the rest of its chain
 * (`default[1]`...), each trusted root (`ROOTCA`), with issuer so the chain can be followed.
 */
export function sidecarSecretsTable(certs: AdminCerts, now: Date): string {
  const rows = [
    ...certs.chain.map((c, i) => [i === 0 ? 'default' : `default[${i}]`, 'Cert Chain', c]),
    ...certs.roots.map((c, i) => [i === 0 ? 'ROOTCA' : `ROOTCA[${i}]`, 'CA', c]),
  ].map(([name, type, c]) => {
    const cert = c as CertificateInfo;
    return [
      name as string,
      type as string,
      validity(cert, now),
      cert.identity,
      cert.serial,
      cert.notAfter,
      cert.notBefore,
      cert.issuer,
    ];
  });
  if (rows.length === 0) return 'The sidecar holds no certificates (mTLS is off: no --ca-root).\n';
  return renderTable(
    [
      'RESOURCE NAME',
      'TYPE',
      'STATUS',
      'IDENTITY',
      'SERIAL NUMBER',
      'NOT AFTER',
      'NOT BEFORE',
      'ISSUER',
    ],
    rows,
  );
}

/** The sidecar's admin URL: --admin, else its announced port when it runs on this machine. */
export function adminUrl(client: SyncClient, flag: string | undefined): string | undefined {
  if (flag !== undefined) {
    if (!URL.canParse(flag.includes('://') ? flag : `http://${flag}`)) {
      throw new UsageError(`--admin must be a URL like http://127.0.0.1:15000, got "${flag}"`);
    }
    return (flag.includes('://') ? flag : `http://${flag}`).replace(/\/+$/, '');
  }
  if (client.adminPort === undefined) return undefined;
  return isLocalAddress(client.workload?.address ?? '127.0.0.1')
    ? `http://127.0.0.1:${client.adminPort}`
    : undefined;
}

function names(kind: ProxyConfigKind, entries: DumpEntry[]): string {
  return entries
    .map((e) => `${kind === 'endpoints' ? e.resource.cluster_name : e.name}\n`)
    .join('');
}

/** One sidecar's name resolved to the one connected client it names. */
async function resolveSidecar(base: string, name: string): Promise<SyncClient> {
  const syncz = await getJson<Syncz>(base, '/debug/syncz');
  const clients = selectClients(syncz, name);
  if (clients.length === 0) throw noSuchSidecar(syncz, name);
  if (clients.length > 1) {
    throw new UsageError(
      `"${name}" names ${clients.length} sidecars (${clients.map((c) => c.nodeId).join(', ')}); give one node id`,
    );
  }
  return clients[0] as SyncClient;
}

/** Reads which of the two positionals is the kind (either order, as istioctl users type). */
function kindAndSidecar(positionals: string[]): { kind: string; sidecar: string | undefined } {
  const [a, b, extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  if (a === undefined) {
    throw new UsageError('what to show and the sidecar are required, e.g. cluster frontend-v1');
  }
  if (a in KIND_ALIASES) return { kind: a, sidecar: b };
  if (b !== undefined && b in KIND_ALIASES) return { kind: b, sidecar: a };
  // The misspelt kind is whichever of the two is close to one.
  const kinds = Object.keys(KIND_ALIASES);
  const guessA = didYouMean(a, kinds);
  const typed = b === undefined || (guessA && !didYouMean(b, kinds)) ? a : b;
  const guess = typed === a ? guessA : didYouMean(b ?? '', kinds);
  throw new UsageError(
    b === undefined
      ? `what to show is required: cluster, listener, route, endpoint, secret, all, bootstrap or log`
      : `unknown kind "${typed}"${guess ? ` (did you mean ${guess}?)` : ''}; one of cluster, listener, route, endpoint, secret, all, bootstrap, log`,
  );
}

function parseFilters(v: Record<string, unknown>, kind: string): ConfigFilters {
  const allowed = FILTERS_OF_KIND[kind] ?? [];
  for (const f of ['fqdn', 'port', 'subset', 'direction', 'name'] as const) {
    if (v[f] !== undefined && !allowed.includes(f)) {
      throw new UsageError(
        `--${f} does not apply to ${kind}${
          allowed.length ? ` (it takes ${allowed.map((a) => `--${a}`).join(', ')})` : ''
        }`,
      );
    }
  }
  const port = v.port === undefined ? undefined : Number(v.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new UsageError(`--port must be a port number, got "${v.port}"`);
  }
  const direction = v.direction as string | undefined;
  if (direction !== undefined && direction !== 'inbound' && direction !== 'outbound') {
    throw new UsageError(`--direction must be inbound or outbound, got "${direction}"`);
  }
  return {
    fqdn: v.fqdn as string | undefined,
    port,
    subset: v.subset as string | undefined,
    direction,
    name: v.name as string | undefined,
  };
}

export async function runProxyConfig(
  argv: string[],
  out: Output = process.stdout,
  env: NodeJS.ProcessEnv = process.env,
  now: () => Date = () => new Date(),
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...QUERY_OPTIONS,
      admin: { type: 'string' },
      fqdn: { type: 'string' },
      port: { type: 'string' },
      subset: { type: 'string' },
      direction: { type: 'string' },
      name: { type: 'string' },
      level: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    out.write(PROXY_CONFIG_HELP);
    return;
  }
  const { kind: given, sidecar } = kindAndSidecar(positionals);
  if (sidecar === undefined) {
    throw new UsageError(
      'the sidecar is required (its node id or service; see ferry proxy-status)',
    );
  }
  const kind = KIND_ALIASES[given] as ProxyConfigKind | 'all' | 'bootstrap' | 'log';
  const filters = parseFilters(values, kind);
  if (values.level !== undefined && kind !== 'log') {
    throw new UsageError('--level goes with log: ferry proxy-config log SIDECAR --level debug');
  }
  const format = outputFormat(values.output);
  const base = controlPlaneUrl(values['control-plane'], env);
  const client = await resolveSidecar(base, sidecar);
  const admin = adminUrl(client, values.admin);
  if (kind === 'log' || kind === 'bootstrap') {
    if (!admin) throw noAdmin(client);
    if (kind === 'log') {
      out.write(await logLevel(admin, client.nodeId, values.level, format));
      return;
    }
    const dump = await getJson<{ bootstrap?: unknown }>(admin, '/config_dump', 'sidecar');
    out.write(serialize(dump.bootstrap ?? {}, format === 'json' ? 'json' : 'yaml'));
    return;
  }
  const dump = await getJson<ConfigDump>(
    base,
    `/debug/config_dump?node=${encodeURIComponent(client.nodeId)}`,
  );
  const kinds = kind === 'all' ? PROXY_CONFIG_KINDS : [kind];
  const structured: Record<string, unknown> = {};
  let text = '';
  for (const k of kinds) {
    const view = await render(k, dump, admin, filters, format, now());
    structured[k] = view.value;
    text += kind === 'all' && format !== 'short' ? `${k.toUpperCase()}\n${view.text}\n` : view.text;
  }
  if (format === 'json' || format === 'yaml') {
    out.write(serialize(kind === 'all' ? structured : structured[kind], format));
    return;
  }
  out.write(text);
}

/** One kind, as a table (or names) and as the value -o json/yaml prints. */
async function render(
  kind: ProxyConfigKind,
  dump: ConfigDump,
  admin: string | undefined,
  filters: ConfigFilters,
  format: OutputFormat,
  now: Date,
): Promise<{ text: string; value: unknown }> {
  const entries = filterEntries(kind, inForce(dump, TYPE_OF_KIND[kind]), filters);
  const value = redact(entries.map((e) => e.resource));
  if (kind === 'endpoints' && admin) {
    const view = await sidecarView<AdminClusters>(admin, '/clusters?format=json');
    if (view.ok) {
      const clusters = view.value.clusters.filter((c) => clusterNameMatches(c.name, filters));
      const text =
        format === 'short'
          ? clusters.flatMap((c) => c.hosts.map((h) => `${h.address}\n`)).join('')
          : sidecarEndpointsTable(view.value, filters);
      return { text, value: clusters };
    }
    return {
      text: `note: ${view.reason}; shown is what the control plane sent\n${endpointsTable(entries)}`,
      value,
    };
  }
  if (kind === 'secrets' && admin) {
    const view = await sidecarView<AdminCerts>(admin, '/certs');
    if (view.ok) {
      const text =
        format === 'short'
          ? [...view.value.chain, ...view.value.roots].map((c) => `${c.identity}\n`).join('')
          : sidecarSecretsTable(view.value, now);
      return { text, value: view.value };
    }
  }
  if (format === 'short') return { text: names(kind, entries), value };
  return {
    text: formatProxyConfig(
      { ...dump, resources: { ...dump.resources, [TYPE_OF_KIND[kind]]: entries } },
      kind,
      now,
    ),
    value,
  };
}

async function sidecarView<T>(
  admin: string,
  path: string,
): Promise<{ ok: true; value: T } | { ok: false; reason: string }> {
  try {
    return { ok: true, value: await getJson<T>(admin, path, 'sidecar') };
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
}

function noAdmin(client: SyncClient): Error {
  return new UsageError(
    client.adminPort === undefined
      ? `sidecar ${client.nodeId} did not announce an admin port; pass --admin URL`
      : `sidecar ${client.nodeId} runs on ${client.workload?.address}, whose admin port (${client.adminPort}) listens on its own 127.0.0.1; run ferry there, or forward the port and pass --admin URL`,
  );
}

async function logLevel(
  admin: string,
  node: string,
  level: string | undefined,
  format: OutputFormat,
): Promise<string> {
  const reply =
    level === undefined
      ? await getJson<{ level: string }>(admin, '/logging', 'sidecar')
      : await getJson<{ level: string }>(
          admin,
          `/logging?level=${encodeURIComponent(level)}`,
          'sidecar',
          'POST',
        );
  if (format === 'json' || format === 'yaml') return serialize({ node, ...reply }, format);
  return level === undefined
    ? `${node}: log level ${reply.level}\n`
    : `${node}: log level set to ${reply.level}\n`;
}
