/**
 * A gateway listener (LDS `gateway~<port>`, by the contract with the control plane) compiled
 * once per configuration: its filter chains as the gateway serves them, and how a
 * connection's server name (SNI) picks one, as Envoy's filter_chain_match does: an exact
 * server name first, then the longest wildcard (`*.example.com`), then the chain without
 * server names. Five kinds of chain: plaintext HTTP (HCM over RDS), HTTPS terminated with
 * the SDS secrets the chain's DownstreamTlsContext names, TLS passed through by SNI
 * (tcp_proxy), TLS terminated the same way in front of a tcp_proxy (the cleartext stream
 * goes on), and TCP (tcp_proxy). A DownstreamTlsContext whose certificate is an SDS name
 * without an ADS source (Istio's `default`) is the mesh's mutual TLS: the gateway's own
 * workload certificate, the client's checked against the mesh's trust bundle (Istio's
 * ISTIO_MUTUAL gateway servers), on an HTTPS chain or in front of a tcp_proxy.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto#config-listener-v3-filterchainmatch
 */
import { anyType, durationMs, type envoy, types, unpackAny } from '../../xds/index.js';
import { chainSecretNames } from '../../xds-client/index.js';
import { compileRbac, type RbacEngine, type RbacFilter } from '../rbac/index.js';
import { parseDownstreamTls } from '../tls-policy/index.js';
import { GatewayConfigError } from './gateway-error.js';

export type ChainKind = 'http' | 'https' | 'passthrough' | 'tls-terminate' | 'tcp';

/** TLS terminated with the gateway's workload certificate (the mesh's mutual TLS). */
export interface MeshTls {
  /** Only clients with a certificate from the mesh's CA complete the handshake. */
  readonly requireClientCert: boolean;
  /** ALPN the gateway offers; empty: none. */
  readonly alpn: readonly string[];
}

/** Where a tcp_proxy sends a connection: one cluster, or several by weight. */
export interface TcpAction {
  readonly clusters: ReadonlyArray<{ readonly name: string; readonly weight: number }>;
  readonly totalWeight: number;
  /** undefined: not set (the gateway's default applies); 0: none (Envoy: disabled). */
  readonly idleTimeoutMs: number | undefined;
}

export interface GatewayChain {
  readonly index: number;
  readonly kind: ChainKind;
  readonly serverNames: readonly string[];
  /** http, https: the RDS route configuration of its connection manager. */
  readonly routeName: string | undefined;
  /** https, tls-terminate: the SDS secrets of its certificates (one context of them all). */
  readonly secretNames: readonly string[];
  /** https, tls-terminate: terminated with the workload certificate instead of secrets. */
  readonly mtls: MeshTls | undefined;
  /** passthrough, tls-terminate, tcp: where its tcp_proxy sends connections. */
  readonly tcp: TcpAction | undefined;
  /** http, https: the RBAC filters of its connection manager (authorization policies). */
  readonly rbac: RbacEngine | undefined;
}

export interface GatewayListenerSpec {
  readonly name: string;
  /** The port the control plane asks for (the gateway may offset it). */
  readonly port: number;
  readonly chains: readonly GatewayChain[];
  /**
   * Whether a connection's ClientHello is read before a chain is chosen (a tls_inspector, or
   * any chain that is TLS or matches server names); otherwise the one chain serves it as is.
   */
  readonly inspect: boolean;
  readonly exact: ReadonlyMap<string, GatewayChain>;
  /** `*.suffix` chains by suffix (with its dot), longest first. */
  readonly wildcards: ReadonlyArray<readonly [string, GatewayChain]>;
  /** The chain without server names, if any. */
  readonly fallback: GatewayChain | undefined;
}

function tcpAction(
  config: envoy.TcpProxy,
  at: string,
  fail: (at: string, problem: string) => never,
): TcpAction {
  const idleTimeoutMs = durationMs(config.idle_timeout);
  if (Number.isNaN(idleTimeoutMs))
    fail(`${at}.idle_timeout`, 'is not a valid non-negative duration');
  if (typeof config.cluster === 'string' && config.cluster) {
    return { clusters: [{ name: config.cluster, weight: 1 }], totalWeight: 1, idleTimeoutMs };
  }
  const weighted = config.weighted_clusters?.clusters;
  if (!Array.isArray(weighted) || weighted.length === 0)
    fail(`${at}`, 'tcp_proxy names neither cluster nor weighted_clusters');
  const clusters = weighted.map((c, i) => {
    const { name, weight } = c;
    if (typeof name !== 'string' || !name)
      fail(`${at}.weighted_clusters.clusters[${i}]`, 'has no name');
    const w = weight === undefined ? 1 : Number(weight);
    if (!Number.isInteger(w) || w < 0)
      fail(`${at}.weighted_clusters.clusters[${i}].weight`, `${String(weight)} is not a weight`);
    return { name, weight: w };
  });
  const totalWeight = clusters.reduce((n, c) => n + c.weight, 0);
  if (totalWeight === 0) fail(`${at}.weighted_clusters`, 'every weight is 0');
  return { clusters, totalWeight, idleTimeoutMs };
}

/**
 * How a chain terminates TLS: with the SDS secrets it names over ADS, or, when it names none,
 * with the gateway's workload certificate (the mesh's mutual TLS); neither when it does not.
 */
function terminating(
  chain: envoy.FilterChain,
  terminates: boolean,
  at: string,
  fail: (at: string, problem: string) => never,
): { secretNames: readonly string[]; mtls: MeshTls | undefined } {
  if (!terminates) return { secretNames: [], mtls: undefined };
  const secretNames = chainSecretNames(chain);
  return secretNames.length > 0
    ? { secretNames, mtls: undefined }
    : { secretNames, mtls: meshTls(chain, at, fail) };
}

function compileChain(
  chain: envoy.FilterChain,
  index: number,
  at: string,
  fail: (at: string, problem: string) => never,
): GatewayChain {
  const serverNames = (chain.filter_chain_match?.server_names ?? []).map((n) => n.toLowerCase());
  const match = chain.filter_chain_match as Record<string, unknown> | undefined;
  for (const field of Object.keys(match ?? {}))
    if (field !== 'server_names' && field !== 'transport_protocol')
      fail(
        `${at}.filter_chain_match.${field}`,
        'is not supported by the gateway (server_names only)',
      );
  for (const name of serverNames)
    if (name.includes('*') && !(name.startsWith('*.') && !name.slice(2).includes('*')))
      fail(`${at}.filter_chain_match.server_names`, `"${name}": a wildcard is only "*.suffix"`);
  const tlsConfig = chain.transport_socket?.typed_config;
  if (tlsConfig && anyType(tlsConfig) !== types.DOWNSTREAM_TLS_CONTEXT)
    fail(`${at}.transport_socket`, `${String(anyType(tlsConfig))} is not a DownstreamTlsContext`);
  const filters = chain.filters ?? [];
  const hcmFilter = filters.find((f) => anyType(f.typed_config) === types.HTTP_CONNECTION_MANAGER);
  const tcpFilter = filters.find((f) => anyType(f.typed_config) === types.TCP_PROXY);
  const hcm = unpackAny<envoy.HttpConnectionManager>(
    hcmFilter?.typed_config,
    types.HTTP_CONNECTION_MANAGER,
  );
  const tcp = unpackAny<envoy.TcpProxy>(tcpFilter?.typed_config, types.TCP_PROXY);
  if (!hcm && !tcp) fail(`${at}.filters`, 'has neither an http_connection_manager nor a tcp_proxy');
  if (hcm && tcp) fail(`${at}.filters`, 'has both an http_connection_manager and a tcp_proxy');
  if (hcm) {
    const routeName = hcm.rds?.route_config_name;
    if (!routeName)
      fail(`${at}.filters.http_connection_manager`, 'has no rds.route_config_name (RDS only)');
    const rbacFilters: RbacFilter[] = [];
    for (const f of hcm.http_filters ?? []) {
      const config = unpackAny<envoy.HttpRbac>(f.typed_config, types.HTTP_RBAC);
      if (config) rbacFilters.push(config);
    }
    let rbac: RbacEngine | undefined;
    try {
      rbac = rbacFilters.length > 0 ? compileRbac(rbacFilters, `${at}.rbac`) : undefined;
    } catch (err) {
      fail(`${at}.http_filters`, (err as Error).message);
    }
    const { secretNames, mtls } = terminating(chain, tlsConfig !== undefined, at, fail);
    return {
      index,
      kind: tlsConfig ? 'https' : 'http',
      serverNames,
      routeName,
      secretNames,
      mtls,
      tcp: undefined,
      rbac: rbac && !rbac.empty ? rbac : undefined,
    };
  }
  const { secretNames, mtls } = terminating(chain, tlsConfig !== undefined, at, fail);
  return {
    index,
    kind: tlsConfig ? 'tls-terminate' : serverNames.length > 0 ? 'passthrough' : 'tcp',
    serverNames,
    routeName: undefined,
    secretNames,
    mtls,
    tcp: tcpAction(tcp!, `${at}.filters.tcp_proxy`, fail),
    rbac: undefined,
  };
}

/** The mesh's mutual TLS of a chain whose certificate is the workload's (no ADS secret). */
function meshTls(
  chain: envoy.FilterChain,
  at: string,
  fail: (at: string, problem: string) => never,
): MeshTls {
  try {
    const tls = parseDownstreamTls(chain.transport_socket, `${at}.transport_socket`);
    if (!tls) return fail(`${at}.transport_socket`, 'is not TLS');
    return { requireClientCert: tls.requireClientCert, alpn: tls.alpn };
  } catch (err) {
    return fail(`${at}.transport_socket`, (err as Error).message);
  }
}

/** Compiles a gateway listener; throws a GatewayConfigError naming the field at fault. */
export function compileGatewayListener(value: object): GatewayListenerSpec {
  const listener = value as envoy.Listener;
  const name = listener.name ?? '';
  const fail = (at: string, problem: string): never => {
    throw new GatewayConfigError('FERRY_GATEWAY_LISTENER', `listener ${name} ${at}`, problem);
  };
  const port = listener.address?.socket_address?.port_value ?? 0;
  if (!Number.isInteger(port) || port <= 0 || port > 65535)
    fail('address.socket_address.port_value', `${String(port)} is not a port to listen on`);
  const raw: Array<[envoy.FilterChain, string]> = (listener.filter_chains ?? []).map((c, i) => [
    c,
    `filter_chains[${i}]`,
  ]);
  if (listener.default_filter_chain)
    raw.push([listener.default_filter_chain, 'default_filter_chain']);
  if (raw.length === 0) fail('filter_chains', 'is empty');
  const chains = raw.map(([c, at], i) => compileChain(c, i, at, fail));
  const exact = new Map<string, GatewayChain>();
  const wildcards: Array<[string, GatewayChain]> = [];
  let fallback: GatewayChain | undefined;
  for (const [i, chain] of chains.entries()) {
    if (chain.serverNames.length === 0) {
      // Envoy refuses two chains with the same match: which would win is not defined.
      if (fallback) fail(`${raw[i][1]}`, 'is a second chain without server_names');
      fallback = chain;
    }
    for (const sn of chain.serverNames) {
      if (exact.has(sn) || wildcards.some(([s]) => `*${s}` === sn))
        fail(`${raw[i][1]}.filter_chain_match.server_names`, `"${sn}" is matched by two chains`);
      if (sn.startsWith('*.')) wildcards.push([sn.slice(1), chain]);
      else exact.set(sn, chain);
    }
  }
  wildcards.sort(([a], [b]) => b.length - a.length);
  const inspector = (listener.listener_filters ?? []).some(
    (f) => f.name === 'envoy.filters.listener.tls_inspector',
  );
  const inspect = inspector || chains.some((c) => c.kind !== 'http' && c.kind !== 'tcp');
  if (!inspect && chains.length > 1) fail('filter_chains', 'several chains, none chosen by SNI');
  return { name, port, chains, inspect, exact, wildcards, fallback };
}

/** The chain a connection with server name `sni` (lower case) goes to, if any. */
export function chainFor(
  spec: GatewayListenerSpec,
  sni: string | undefined,
): GatewayChain | undefined {
  if (sni !== undefined) {
    const exact = spec.exact.get(sni);
    if (exact) return exact;
    // `*.example.com` matches `a.example.com` and `a.b.example.com`, not `example.com`.
    for (const [suffix, chain] of spec.wildcards)
      if (sni.length > suffix.length && sni.endsWith(suffix)) return chain;
  }
  return spec.fallback;
}

/** A cluster of a tcp_proxy, by weight (`random` in [0, 1)). */
export function pickTcpCluster(action: TcpAction, random: () => number): string {
  if (action.clusters.length === 1) return action.clusters[0].name;
  let r = random() * action.totalWeight;
  for (const c of action.clusters) {
    r -= c.weight;
    if (r < 0) return c.name;
  }
  return action.clusters[action.clusters.length - 1].name;
}
