/**
 * The outbound listener's filter chains compiled into a lookup on a connection's original
 * destination (address and port), done once per configuration: per connection it costs a
 * map lookup or two, with no regular expressions or closures.
 *
 * Envoy's FilterChainMatch order, for the criteria Ferry's outbound chains use: the chains
 * naming the destination port are tried first, then those without a port; within either,
 * the most specific `prefix_ranges` entry that contains the address wins, a chain without
 * prefix ranges matching any address. `default_filter_chain` takes what nothing matched.
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

  match(address: string, family: 'ipv4' | 'ipv6'): OutboundAction | undefined {
    const exact = this.exact.get(address);
    if (exact) return exact;
    for (const p of this.prefixes) {
      if (p.family === family && p.list.check(address, family)) return p.action;
    }
    return this.any;
  }
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
    const plain =
      address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
    const family = plain.includes(':') ? 'ipv6' : 'ipv4';
    return (
      this.byPort.get(port)?.match(plain, family) ??
      this.anyPort?.match(plain, family) ??
      this.fallback
    );
  }
}

/** An empty table: every connection is served as HTTP (no configuration yet). */
export const NO_DESTINATIONS = new OutboundDestinations(new Map(), undefined, undefined);

const KNOWN_MATCH = new Set(['destination_port', 'prefix_ranges']);

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
