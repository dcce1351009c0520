/**
 * A sidecar's inbound Listener compiled into what each port does: which transports it
 * accepts (the mTLS mode), whether a client certificate is required, the TLS it presents,
 * and the authorization (RBAC) that applies. Filter chains are grouped by the port they
 * serve (their `destination_port`, else the listener's port); within a port, a chain with a
 * DownstreamTlsContext takes TLS clients and a chain without one takes plaintext, as the
 * control plane emits them after Istio:
 * - TLS and plaintext chains: PERMISSIVE (told apart by the first bytes, Envoy's tls_inspector);
 * - TLS chains only: STRICT (with `requireClientCert` telling whether a certificate is needed);
 * - plaintext only: DISABLE.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto
 */
import { anyType, anyTypeUrl, type envoy, types, unpackAny } from '../../xds/index.js';
import { compileRbac, RbacConfigError, type RbacEngine, type RbacFilter } from '../rbac/index.js';
import { type CommonTlsSettings, parseCommonTlsContext, tlsContextOf } from './tls-context.js';
import { TlsPolicyError } from './tls-policy-error.js';

export type MtlsMode = 'STRICT' | 'PERMISSIVE' | 'DISABLE';

/** The TLS an inbound port presents. */
export interface DownstreamTlsSettings extends CommonTlsSettings {
  readonly requireClientCert: boolean;
}

export interface InboundPortPolicy {
  readonly port: number;
  readonly mode: MtlsMode;
  /** Only peers with a certificate from the trust bundle complete a TLS handshake. */
  readonly requireClientCert: boolean;
  /** The TLS chain's settings; undefined in DISABLE mode. */
  readonly tls: DownstreamTlsSettings | undefined;
  /** Whether the port's chains end in an HTTP connection manager (else a TCP proxy). */
  readonly http: boolean;
  /** Per request: the HTTP RBAC filters of the connection manager. Empty for TCP. */
  readonly httpRbac: RbacEngine;
  /** Per connection: the network RBAC filters in front of the TCP proxy or connection manager. */
  readonly networkRbac: RbacEngine;
}

export interface InboundPolicy {
  readonly ports: ReadonlyMap<number, InboundPortPolicy>;
  /** The policy of a local port, or undefined when the listener has no chain for it. */
  forPort(port: number): InboundPortPolicy | undefined;
}

/** Match fields the policy understands; any other narrows a chain in a way it cannot follow. */
const KNOWN_MATCH = new Set(['destination_port', 'transport_protocol', 'application_protocols']);

interface ChainInfo {
  readonly field: string;
  readonly tls: DownstreamTlsSettings | undefined;
  readonly http: boolean;
  readonly httpRbac: RbacFilter[];
  readonly networkRbac: RbacFilter[];
  /** Where each RBAC filter's typed config is, for errors. */
  readonly httpRbacFields: string[];
  readonly networkRbacFields: string[];
}

/** A network filter or an HCM's HTTP filter: a name and a typed config. */
interface NamedFilter {
  readonly name?: string;
  readonly typed_config?: envoy.Any;
}

function rbacConfig(f: NamedFilter, type: string, field: string): RbacFilter | undefined {
  const config = unpackAny<envoy.HttpRbac | envoy.NetworkRbac>(f.typed_config, type);
  if (config) return config;
  const name = type === types.HTTP_RBAC ? 'envoy.filters.http.rbac' : 'envoy.filters.network.rbac';
  if (anyType(f.typed_config) === undefined && f.name === name) {
    throw new TlsPolicyError(
      `${field}.typed_config`,
      `could not be decoded (type ${String(anyTypeUrl(f.typed_config))})`,
    );
  }
  return undefined;
}

/**
 * The TLS a chain's transport socket terminates with the workload's certificate, or
 * undefined for plaintext; throws a TlsPolicyError naming the field it cannot honour.
 */
export function parseDownstreamTls(
  socket: envoy.TransportSocket | undefined,
  field: string,
): DownstreamTlsSettings | undefined {
  const ctx = tlsContextOf<envoy.DownstreamTlsContext>(socket, types.DOWNSTREAM_TLS_CONTEXT, field);
  if (!ctx) return undefined;
  return {
    ...parseCommonTlsContext(ctx.common_tls_context, `${field}.typed_config.common_tls_context`),
    requireClientCert: ctx.require_client_certificate?.value === true,
  };
}

function readChain(chain: envoy.FilterChain, field: string): ChainInfo {
  const match = chain.filter_chain_match ?? {};
  for (const [key, v] of Object.entries(match)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0)) continue;
    if (!KNOWN_MATCH.has(key))
      throw new TlsPolicyError(
        `${field}.filter_chain_match.${key}`,
        'is not supported by the sidecar',
      );
  }
  const tls = parseDownstreamTls(chain.transport_socket, `${field}.transport_socket`);
  if (!tls && match.transport_protocol === 'tls') {
    throw new TlsPolicyError(
      `${field}.transport_socket`,
      'is missing on a chain that matches TLS (TLS passthrough is not supported)',
    );
  }
  const httpRbac: RbacFilter[] = [];
  const networkRbac: RbacFilter[] = [];
  const httpRbacFields: string[] = [];
  const networkRbacFields: string[] = [];
  let http = false;
  (chain.filters ?? []).forEach((f, i) => {
    const at = `${field}.filters[${i}]`;
    const network = rbacConfig(f, types.NETWORK_RBAC, at);
    if (network) {
      networkRbac.push(network);
      networkRbacFields.push(`${at}.typed_config`);
    }
    const hcm = unpackAny<envoy.HttpConnectionManager>(
      f.typed_config,
      types.HTTP_CONNECTION_MANAGER,
    );
    if (!hcm) return;
    http = true;
    (hcm.http_filters ?? []).forEach((h, j) => {
      const hf = `${at}.typed_config.http_filters[${j}]`;
      const config = rbacConfig(h, types.HTTP_RBAC, hf);
      if (config) {
        httpRbac.push(config);
        httpRbacFields.push(`${hf}.typed_config`);
      }
    });
  });
  return {
    field,
    tls: tls && Object.freeze(tls),
    http,
    httpRbac,
    networkRbac,
    httpRbacFields,
    networkRbacFields,
  };
}

function compileEngine(filters: RbacFilter[], field: readonly string[]): RbacEngine {
  try {
    return compileRbac(filters, field);
  } catch (err) {
    if (err instanceof RbacConfigError)
      throw new TlsPolicyError(err.field, err.message.slice(err.field.length + 2));
    throw err;
  }
}

function portPolicy(port: number, chains: readonly ChainInfo[]): InboundPortPolicy {
  const tlsChains = chains.filter((c) => c.tls !== undefined);
  const plainChains = chains.filter((c) => c.tls === undefined);
  if (tlsChains.length > 1) {
    throw new TlsPolicyError(
      tlsChains[1].field,
      `port ${port} already has a TLS chain (${tlsChains[0].field})`,
    );
  }
  if (plainChains.length > 1) {
    throw new TlsPolicyError(
      plainChains[1].field,
      `port ${port} already has a plaintext chain (${plainChains[0].field})`,
    );
  }
  // The sidecar applies one authorization per port, whatever the transport: the chains must agree.
  const [first, ...rest] = chains;
  for (const c of rest) {
    if (c.http !== first.http) {
      throw new TlsPolicyError(
        c.field,
        `serves ${c.http ? 'HTTP' : 'TCP'} but ${first.field} serves ${first.http ? 'HTTP' : 'TCP'} on port ${port}`,
      );
    }
    if (
      JSON.stringify([c.httpRbac, c.networkRbac]) !==
      JSON.stringify([first.httpRbac, first.networkRbac])
    ) {
      throw new TlsPolicyError(
        c.field,
        `has other RBAC filters than ${first.field} on port ${port}`,
      );
    }
  }
  const tls = tlsChains[0]?.tls;
  const mode: MtlsMode =
    tls === undefined ? 'DISABLE' : plainChains.length > 0 ? 'PERMISSIVE' : 'STRICT';
  return Object.freeze({
    port,
    mode,
    requireClientCert: tls?.requireClientCert ?? false,
    tls,
    http: first.http,
    httpRbac: compileEngine(first.httpRbac, first.httpRbacFields),
    networkRbac: compileEngine(first.networkRbac, first.networkRbacFields),
  });
}

export function compileInboundPolicy(listener: envoy.Listener): InboundPolicy {
  const listenerPort = listener.address?.socket_address?.port_value ?? 0;
  const byPort = new Map<number, ChainInfo[]>();
  const all: Array<[envoy.FilterChain, string]> = (listener.filter_chains ?? []).map((c, i) => [
    c,
    `filter_chains[${i}]`,
  ]);
  if (listener.default_filter_chain)
    all.push([listener.default_filter_chain, 'default_filter_chain']);
  for (const [chain, field] of all) {
    const port = chain.filter_chain_match?.destination_port?.value ?? listenerPort;
    const info = readChain(chain, field);
    const list = byPort.get(port);
    if (list) list.push(info);
    else byPort.set(port, [info]);
  }
  const ports = new Map<number, InboundPortPolicy>();
  for (const [port, chains] of byPort) ports.set(port, portPolicy(port, chains));
  return { ports, forPort: (port) => ports.get(port) };
}
