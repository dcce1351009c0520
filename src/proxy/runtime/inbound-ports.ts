/**
 * Every port of the pod. Capture redirects inbound TCP for every port to the one inbound
 * listener; the port the client asked for comes back with SO_ORIGINAL_DST. The control
 * plane describes the app behind one port (the inbound cluster `inbound|<appPort>||` and its
 * route configuration); a connection captured on another port of the pod goes to that port
 * of the app instead, as Istio's virtualInbound does with its per-port chains and its
 * inbound passthrough: same mTLS mode, same authorization, same routes, another endpoint.
 * That endpoint is the connection's original destination itself (the pod's address), not
 * loopback: as without the mesh (and as Istio does since 1.10), a server the app bound to
 * 127.0.0.1 only is not reachable from outside the pod. (The app port keeps the control
 * plane's endpoint.)
 *
 * A port's protocol is the service's when its mesh configuration declares the port (the
 * outbound listener's `outbound|PORT||<own host>` chain: a tcp_proxy there is TCP, an HTTP
 * connection manager HTTP); an opaque port is TCP; any other port is detected from its first
 * bytes (HTTP/1.1 or HTTP/2, else TCP), as for the outbound passthrough.
 *
 * Built once per configuration; each destination's cluster and route views are assembled
 * (from the inbound cluster's settings, compiled when it arrived) the first time a
 * connection arrives for it and kept until the configuration changes.
 */
import { anyType, type envoy, types } from '../../xds/index.js';
import type { ProxyConfig } from '../../xds-client/index.js';
import { assembleCluster, type ClusterSettings, type RuntimeCluster } from '../cluster/index.js';
import type { RouteView } from '../http/index.js';
import { singleEndpoint } from '../lb/index.js';
import type { CompiledCluster } from './resource-compiler.js';

export type InboundPortKind = 'http' | 'tcp' | 'detect';

/** A captured connection's original destination, with its key (made once per connection). */
export interface InboundDestination {
  readonly address: string;
  readonly port: number;
  /** `address|port`, the lookup key. */
  readonly key: string;
}

export function inboundDestination(address: string, port: number): InboundDestination {
  return { address, port, key: `${address}|${port}` };
}

/** Where connections captured on one port of the pod go. */
export interface InboundPortTarget {
  readonly port: number;
  readonly kind: InboundPortKind;
  /** The app's port: for TCP, and for HTTP/1.1. */
  readonly cluster: RuntimeCluster;
  /** The inbound routes with the app's port as their cluster; undefined: no HTTP (tcp-only). */
  readonly http1: RouteView | undefined;
  /** The same for HTTP/2 clients (gRPC): HTTP/2 to the app, as the client spoke. */
  readonly http2: RouteView | undefined;
}

const INBOUND_CLUSTER = /^inbound\|(\d+)\|\|$/;
const OWN_CHAIN = /^outbound\|(\d+)\|\|(.+)$/;

/**
 * The protocol of each port of the workload's own service, from the outbound listener's
 * chains for it (config time).
 */
export function declaredPorts(
  outboundListener: object | undefined,
  service: string,
  namespace: string,
): Map<number, 'http' | 'tcp'> {
  const own = `${service}.${namespace}.`;
  const ports = new Map<number, 'http' | 'tcp'>();
  const chains = (outboundListener as envoy.Listener | undefined)?.filter_chains ?? [];
  for (const chain of chains) {
    const m = OWN_CHAIN.exec(chain.name ?? '');
    if (!m || !m[2]!.startsWith(own)) continue;
    const tcp = (chain.filters ?? []).some((f) => anyType(f.typed_config) === types.TCP_PROXY);
    ports.set(Number(m[1]), tcp ? 'tcp' : 'http');
  }
  return ports;
}

export class InboundPorts {
  /** Targets by destination key; null: none could be built (the default applies). */
  private readonly targets = new Map<string, InboundPortTarget | null>();

  private constructor(
    /** The inbound cluster the control plane sent, in front of the default app port. */
    private readonly base: ClusterSettings | undefined,
    /** The app port the control plane's inbound cluster names (`--app-port`). */
    readonly defaultPort: number | undefined,
    private readonly declared: ReadonlyMap<number, 'http' | 'tcp'>,
    private readonly opaquePorts: ReadonlySet<number>,
    private readonly view: RouteView,
    private readonly random: () => number,
  ) {}

  /** For the configuration in force and the inbound view built from it. */
  static compile(
    source: ProxyConfig,
    view: RouteView,
    service: string,
    namespace: string,
    opaquePorts: ReadonlySet<number>,
    random: () => number,
  ): InboundPorts {
    let base: ClusterSettings | undefined;
    let defaultPort: number | undefined;
    for (const [name, entry] of source.clusters) {
      const m = INBOUND_CLUSTER.exec(name);
      if (!m) continue;
      const compiled = entry.compiled as CompiledCluster | undefined;
      base = compiled?.kind === 'balanced' ? compiled.settings : undefined;
      defaultPort = Number(m[1]);
      break;
    }
    const declared = declaredPorts(
      source.listeners.get(types.VIRTUAL_OUTBOUND)?.value,
      service,
      namespace,
    );
    return new InboundPorts(base, defaultPort, declared, opaquePorts, view, random);
  }

  /** Whether connections on other ports can be told apart and sent there. */
  get active(): boolean {
    return this.base !== undefined;
  }

  /**
   * Where a connection captured for `to` goes; undefined when the configuration's own
   * inbound cluster takes it (the app port, or nothing else to send it to).
   */
  target(to: InboundDestination): InboundPortTarget | undefined {
    if (to.port === this.defaultPort || this.base === undefined) return undefined;
    let t = this.targets.get(to.key);
    if (t === undefined) {
      t = this.build(to) ?? null;
      this.targets.set(to.key, t);
    }
    return t ?? undefined;
  }

  private build(to: InboundDestination): InboundPortTarget | undefined {
    const base = this.base;
    if (!base) return undefined;
    const port = to.port;
    const http1 = this.cluster(base, to, false);
    const table = this.view.table;
    const kind = this.declared.get(port) ?? (this.opaquePorts.has(port) ? 'tcp' : 'detect');
    // The inbound routes name the base cluster; for this port, that name means this port.
    const withCluster = (cluster: RuntimeCluster): RouteView => ({
      ...this.view,
      clusters: new Map(this.view.clusters).set(base.name, cluster),
    });
    const http2 = table && kind !== 'tcp' ? this.cluster(base, to, true) : undefined;
    return {
      port,
      // Without inbound routes (a tcp-only service) there is no HTTP to serve.
      kind: table ? kind : 'tcp',
      cluster: http1,
      http1: table && kind !== 'tcp' ? withCluster(http1) : undefined,
      http2: http2 ? withCluster(http2) : undefined,
    };
  }

  /** The base cluster with `to` as its one endpoint, speaking HTTP/1.1 or HTTP/2. */
  private cluster(base: ClusterSettings, to: InboundDestination, h2: boolean): RuntimeCluster {
    const settings: ClusterSettings = {
      ...base,
      name: `inbound|${to.port}||`,
      protocol: h2 ? 'http2' : 'http1',
      edsName: undefined,
      inlineAssignment: singleEndpoint(to.address, to.port),
    };
    return assembleCluster(settings, undefined, undefined, this.random);
  }
}
