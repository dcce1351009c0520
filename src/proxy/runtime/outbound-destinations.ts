/**
 * The outbound listener's filter chains compiled into a lookup on a connection's original
 * destination (address and port), done once per configuration: per connection it costs a
 * map lookup or two, with no regular expressions or closures.
 *
 * Envoy's FilterChainMatch order, for the criteria Ferry's outbound chains use: the chains
 * naming the destination port are tried first, then those without a port; within either,
 * the most specific `prefix_ranges` entry that contains the address wins, a chain without
 * prefix ranges matching any address; among the chains of a port that match any address,
 * those naming `server_names` take a TLS connection whose ClientHello names one (exact names:
 * the declared external tls hosts, sent to the egress gateway). `default_filter_chain` takes
 * what nothing matched.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/listener/v3/listener_components.proto#envoy-v3-api-msg-config-listener-v3-filterchainmatch
 */
import net from 'node:net';
import { durationMs, type envoy, types, unpackAny } from '../../xds/index.js';

/** What a chain does with a connection. */
export type OutboundAction =
  /** Served by the HTTP connection manager: routed by Host through the route table. */
  | { readonly kind: 'http'; readonly chain: string }
  /** Proxied as TCP to a cluster (EDS, or ORIGINAL_DST: the original destination). */
  | {
      readonly kind: 'tcp';
      readonly chain: string;
      readonly cluster: string;
      /** undefined: not set in xDS (the sidecar's default applies). */
      readonly idleTimeoutMs: number | undefined;
      /**
       * False for the chain that takes what no port or address matched (the passthrough):
       * nothing says what protocol such a destination speaks, so it is detected.
       */
      readonly declared: boolean;
    };

/**
 * A port whose chains match by SNI, for a connection no address-specific chain took: the
 * ClientHello's server name picks from `names`; a connection that is not TLS, or names
 * another server, goes to `otherwise`.
 */
export interface SniSwitch {
  readonly kind: 'sni';
  readonly names: ReadonlyMap<string, OutboundAction>;
  readonly otherwise: OutboundAction | undefined;
}

interface PrefixEntry {
  readonly list: net.BlockList;
  readonly family: 'ipv4' | 'ipv6';
  readonly length: number;
  readonly action: OutboundAction;
}

/** The chains of one port group (one destination port, or none). */
class PortGroup {
  /** Host prefixes (/32, /128), by canonical address. */
  readonly exact = new Map<string, OutboundAction>();
  /** Shorter prefixes, longest first. */
  readonly prefixes: PrefixEntry[] = [];
  any: OutboundAction | undefined;
  /** Chains by server name (lower case), matching any address on the port. */
  readonly names = new Map<string, OutboundAction>();

  /** The chain of the most specific address prefix holding `address`, if any. */
  matchAddress(address: string, family: 'ipv4' | 'ipv6'): OutboundAction | undefined {
    const exact = this.exact.get(address);
    if (exact) return exact;
    for (const p of this.prefixes) {
      if (p.family === family && p.list.check(address, family)) return p.action;
    }
    return undefined;
  }

  match(address: string, family: 'ipv4' | 'ipv6'): OutboundAction | undefined {
    return this.matchAddress(address, family) ?? this.any;
  }
}

/** `address` as the lookup compares it, with its family. */
function plainAddress(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const plain = address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
  return { address: plain, family: plain.includes(':') ? 'ipv6' : 'ipv4' };
}

export class OutboundDestinations {
  constructor(
    private readonly byPort: ReadonlyMap<number, PortGroup>,
    private readonly anyPort: PortGroup | undefined,
    private readonly fallback: OutboundAction | undefined,
  ) {}

  /**
   * The chain for a connection to `address:port` (an IP literal as node or the
   * SO_ORIGINAL_DST addon print it; IPv4-mapped IPv6 is taken as IPv4), or undefined.
   */
  lookup(address: string, port: number): OutboundAction | undefined {
    const { address: plain, family } = plainAddress(address);
    return (
      this.byPort.get(port)?.match(plain, family) ??
      this.anyPort?.match(plain, family) ??
      this.fallback
    );
  }

  /**
   * As lookup(), but where the port has chains by server name and no address-specific chain
   * takes the connection, the choice waits for the ClientHello (an SniSwitch).
   */
  route(address: string, port: number): OutboundAction | SniSwitch | undefined {
    const group = this.byPort.get(port);
    if (group === undefined || group.names.size === 0) return this.lookup(address, port);
    const { address: plain, family } = plainAddress(address);
    const specific = group.matchAddress(plain, family);
    if (specific) return specific;
    return {
      kind: 'sni',
      names: group.names,
      otherwise: group.any ?? this.anyPort?.match(plain, family) ?? this.fallback,
    };
  }
}

/** An empty table: every connection is served as HTTP (no configuration yet). */
export const NO_DESTINATIONS = new OutboundDestinations(new Map(), undefined, undefined);

const KNOWN_MATCH = new Set([
  'destination_port',
  'prefix_ranges',
  'server_names',
  'transport_protocol',
]);

function isEmptyMatchValue(v: unknown): boolean {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) || v === '';
}

function chainAction(chain: envoy.FilterChain, where: string, declared: boolean): OutboundAction {
  const name = chain.name || where;
  const filters = chain.filters ?? [];
  const last = filters[filters.length - 1]?.typed_config;
  if (unpackAny(last, types.HTTP_CONNECTION_MANAGER)) return { kind: 'http', chain: name };
  const tcp = unpackAny<envoy.TcpProxy>(last, types.TCP_PROXY);
  if (tcp?.cluster) {
    const idleTimeoutMs = tcpIdleTimeoutMs(tcp.idle_timeout);
    if (Number.isNaN(idleTimeoutMs)) {
      throw new Error(`${where}: tcp_proxy idle_timeout is not a valid non-negative duration`);
    }
    return { kind: 'tcp', chain: name, cluster: tcp.cluster, idleTimeoutMs, declared };
  }
  throw new Error(
    `${where}: the last network filter must be an HTTP connection manager or a tcp_proxy with a cluster`,
  );
}

/** A tcp_proxy's idle_timeout in ms; undefined when absent, NaN when malformed. */
export function tcpIdleTimeoutMs(d: envoy.Duration | undefined): number | undefined {
  // Unset: the sidecar's own default (--tcp-idle-timeout, Envoy's 1 h); 0 turns it off.
  return durationMs(d);
}

function canonical(address: string, family: 'ipv4' | 'ipv6'): string {
  return new net.SocketAddress({ address, family }).address;
}

/**
 * Compiles `virtualOutbound`'s chains; throws with the chain named when one uses a match
 * criterion or filter the outbound data path cannot follow (the listener is then NACKed).
 */
export function compileOutboundDestinations(listener: object | undefined): OutboundDestinations {
  const l = (listener ?? {}) as envoy.Listener;
  const byPort = new Map<number, PortGroup>();
  let anyPort: PortGroup | undefined;
  const seen = new Set<string>();
  (l.filter_chains ?? []).forEach((chain, i) => {
    const where = `virtualOutbound filter_chains[${i}]${chain.name ? ` (${chain.name})` : ''}`;
    const m = chain.filter_chain_match ?? {};
    for (const [key, value] of Object.entries(m)) {
      if (!KNOWN_MATCH.has(key) && !isEmptyMatchValue(value)) {
        throw new Error(
          `${where}: filter_chain_match.${key} is not supported on the outbound listener`,
        );
      }
    }
    const port = m.destination_port?.value;
    const ranges = m.prefix_ranges ?? [];
    const names = m.server_names ?? [];
    const transport = m.transport_protocol ?? '';
    if (names.length === 0 && transport !== '')
      throw new Error(
        `${where}: filter_chain_match.transport_protocol is supported with server_names only`,
      );
    if (transport !== '' && transport !== 'tls')
      throw new Error(
        `${where}: filter_chain_match.transport_protocol "${transport}" is not supported (tls)`,
      );
    if (names.length > 0 && (port === undefined || port === 0 || ranges.length > 0))
      throw new Error(
        `${where}: filter_chain_match.server_names is supported with a destination_port and no prefix_ranges only`,
      );
    const action = chainAction(chain, where, (port ?? 0) !== 0 || ranges.length > 0);
    let group: PortGroup;
    if (port === undefined || port === 0) group = anyPort ??= new PortGroup();
    else {
      group = byPort.get(port) ?? new PortGroup();
      byPort.set(port, group);
    }
    const claim = (key: string) => {
      const full = `${port ?? 0} ${key}`;
      if (seen.has(full)) throw new Error(`${where}: another chain has the same match (${key})`);
      seen.add(full);
    };
    if (names.length > 0) {
      for (const raw of names) {
        const name = raw.toLowerCase();
        if (name.includes('*'))
          throw new Error(`${where}: server_names "${raw}": only exact names are supported`);
        claim(`server name ${name}`);
        group.names.set(name, action);
      }
      return;
    }
    if (ranges.length === 0) {
      claim('any address');
      group.any = action;
      return;
    }
    for (const r of ranges) {
      const address = r.address_prefix ?? '';
      const kind = net.isIP(address);
      if (kind === 0)
        throw new Error(`${where}: prefix_ranges address_prefix "${address}" is not an IP address`);
      const family = kind === 6 ? 'ipv6' : 'ipv4';
      const full = kind === 6 ? 128 : 32;
      const length = r.prefix_len?.value ?? full;
      if (!Number.isInteger(length) || length < 0 || length > full) {
        throw new Error(`${where}: prefix_len ${length} is out of range for ${address}`);
      }
      const key = `${canonical(address, family)}/${length}`;
      claim(key);
      if (length === full) {
        group.exact.set(canonical(address, family), action);
      } else {
        const list = new net.BlockList();
        list.addSubnet(address, length, family);
        group.prefixes.push({ list, family, length, action });
      }
    }
    group.prefixes.sort((a, b) => b.length - a.length);
  });
  const fallback = l.default_filter_chain
    ? chainAction(l.default_filter_chain, 'virtualOutbound default_filter_chain', false)
    : undefined;
  return new OutboundDestinations(byPort, anyPort, fallback);
}
