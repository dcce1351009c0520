/**
 * The service registry: the mesh file's services merged with the cluster's (Kubernetes
 * discovery, when on) and the workloads that sidecars announce (auto-registration). It owns no translation; it only says what exists, and
 * tells its watchers when that changed.
 */
import { performance } from 'node:perf_hooks';
import type { GatewayApiConfig, TlsSecret } from '../gatewayapi/index.js';
import {
  type EgressGatewayEndpoint,
  type Endpoint,
  type MeshConfig,
  type Service,
  serviceHostname,
  serviceKey,
  type Workload,
} from '../mesh/index.js';
import type { GatewayNode } from '../xds/index.js';
import {
  checkMembership,
  indexServices,
  type MembershipRefusal,
  type ServiceIndex,
  type VerifiedIdentity,
} from './membership.js';
import { CLUSTER_SOURCE_PREFIX, mergeCluster } from './merge-cluster.js';

/** Time, passed in so tests can drive it. */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const REAL_TIMERS: Timers = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RegistryOptions {
  /** How long a workload stays registered after its last stream closed. Default 10 s. */
  readonly gracePeriodMs?: number;
  readonly timers?: Timers;
}

interface Registration {
  workload: Workload;
  /** The identity its credential proved; absent when registration is open (no CA, dev flag). */
  identity: VerifiedIdentity | undefined;
  streams: number;
  expiry: unknown;
}

export class Registry {
  private meshConfig: MeshConfig;
  private clusterServices: readonly Service[] = [];
  /** TLS certificates by source (`files`: the mesh file's `secrets`; `kubernetes`). */
  private readonly tlsSecrets = new Map<string, readonly TlsSecret[]>();
  /** Gateway API resources the cluster has, added to the mesh file's. */
  private clusterGatewayApi: GatewayApiConfig | undefined;
  private readonly registrations = new Map<string, Registration>();
  /** Connected egress gateway nodes that announced an address, by stream. */
  private readonly egressGateways = new Map<object, GatewayNode>();
  private readonly watchers = new Set<() => void>();
  private cachedView: MeshConfig | undefined;
  private changes = 0;
  private cachedDeclared:
    | { merged: MeshConfig; index: ServiceIndex; cluster: ServiceIndex }
    | undefined;
  private readonly gracePeriodMs: number;
  private readonly timers: Timers;

  constructor(initial: MeshConfig, options: RegistryOptions = {}) {
    this.meshConfig = initial;
    this.gracePeriodMs = options.gracePeriodMs ?? 10_000;
    this.timers = options.timers ?? REAL_TIMERS;
  }

  /** Calls `fn` after every change; returns a function that stops it. */
  watch(fn: () => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  setMeshConfig(config: MeshConfig): void {
    this.meshConfig = config;
    this.changed();
  }

  /** The services Kubernetes discovery reports, replacing what it reported before. */
  setClusterServices(services: readonly Service[]): void {
    this.clusterServices = services;
    this.changed();
  }

  /** The TLS certificates one source has now, replacing what it had before. */
  setTlsSecrets(source: string, secrets: readonly TlsSecret[]): void {
    this.tlsSecrets.set(source, secrets);
    this.changed();
  }

  /** The Gateway API resources Kubernetes reports, replacing what it reported before. */
  setClusterGatewayApi(config: GatewayApiConfig): void {
    this.clusterGatewayApi = config;
    this.changed();
  }

  get mesh(): MeshConfig {
    return this.meshConfig;
  }

  /**
   * Registers a workload for one connected stream. Returns the function to call when the
   * stream closes; the workload then stays for the grace period unless a stream returns.
   */
  connect(workload: Workload, identity?: VerifiedIdentity): () => void {
    let reg = this.registrations.get(workload.id);
    if (reg) {
      if (reg.expiry !== undefined) this.timers.clearTimeout(reg.expiry);
      reg.expiry = undefined;
      reg.streams++;
      if (!sameWorkload(reg.workload, workload) || !sameIdentity(reg.identity, identity)) {
        reg.workload = workload;
        reg.identity = identity;
        this.changed();
      }
    } else {
      reg = { workload, identity, streams: 1, expiry: undefined };
      this.registrations.set(workload.id, reg);
      this.changed();
    }
    const registration = reg;
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      registration.streams--;
      if (registration.streams > 0) return;
      registration.expiry = this.timers.setTimeout(() => {
        if (this.registrations.get(workload.id) !== registration || registration.streams > 0)
          return;
        this.registrations.delete(workload.id);
        this.changed();
      }, this.gracePeriodMs);
    };
  }

  /**
   * Records a connected gateway node for as long as its stream lives (the returned function
   * ends it). Only an egress gateway with an address matters: the sidecars send the declared
   * http hosts to it. Gateways never become endpoints of services.
   */
  connectGateway(gateway: GatewayNode): () => void {
    if (gateway.mode !== 'egress' || gateway.address === undefined) return () => {};
    const key = {};
    this.egressGateways.set(key, gateway);
    this.changed();
    return () => {
      if (this.egressGateways.delete(key)) this.changed();
    };
  }

  /**
   * Whether `workload`, proven to be `identity`, may join the service it announces (see
   * membership.ts); undefined when it may.
   */
  checkMembership(workload: Workload, identity: VerifiedIdentity): MembershipRefusal | undefined {
    const d = this.declared();
    return checkMembership(workload, identity, d.index, d.cluster);
  }

  /** The mesh file merged with the cluster, indexed, until either changes. */
  private declared(): { merged: MeshConfig; index: ServiceIndex; cluster: ServiceIndex } {
    if (!this.cachedDeclared) {
      const merged = this.withGatewayApi(mergeCluster(this.meshConfig, this.clusterServices));
      this.cachedDeclared = {
        merged,
        index: indexServices(merged.services),
        cluster: indexServices(this.clusterServices),
      };
    }
    return this.cachedDeclared;
  }

  /** The config with the cluster's Gateway API resources and every loaded certificate. */
  private withGatewayApi(config: MeshConfig): MeshConfig {
    const secrets = [...this.tlsSecrets.values()].flat();
    const cluster = this.clusterGatewayApi;
    const own = config.gatewayApi;
    const gatewayApi: GatewayApiConfig | undefined =
      cluster && own
        ? {
            gatewayClasses: [...own.gatewayClasses, ...cluster.gatewayClasses],
            gateways: [...own.gateways, ...cluster.gateways],
            routes: [...own.routes, ...cluster.routes],
            referenceGrants: [...own.referenceGrants, ...cluster.referenceGrants],
          }
        : (cluster ?? own);
    return {
      ...config,
      ...(gatewayApi ? { gatewayApi } : {}),
      ...(secrets.length > 0 ? { tlsSecrets: secrets } : {}),
    };
  }

  /** Every registered workload (connected or within its grace period). */
  workloads(): Workload[] {
    return [...this.registrations.values()].map((r) => r.workload);
  }

  /** Whether a registered workload still has a live stream. */
  isConnected(id: string): boolean {
    return (this.registrations.get(id)?.streams ?? 0) > 0;
  }

  /**
   * The merged view: mesh-file services with the cluster's endpoints and services, plus
   * workload endpoints (and the services they imply).
   */
  view(): MeshConfig {
    if (!this.cachedView) {
      const d = this.declared();
      this.cachedView = this.withEgressGateways(
        mergeWorkloads(d.merged, this.members(d.index, d.cluster)),
      );
    }
    return this.cachedView;
  }

  /** The egress gateway nodes of `egress.gateway` as the destination of the declared hosts. */
  private withEgressGateways(config: MeshConfig): MeshConfig {
    const egress = config.egress;
    if (!egress) return config;
    const seen = new Set<string>();
    const gatewayEndpoints: EgressGatewayEndpoint[] = [];
    for (const g of this.egressGateways.values()) {
      if (g.gateway !== egress.gateway || g.address === undefined) continue;
      const portOffset = g.portOffset ?? 0;
      const key = `${g.address}|${portOffset}`;
      // Both listeners' ports must exist once shifted.
      if (Math.max(egress.httpPort, egress.tlsPort) + portOffset > 65535 || seen.has(key)) continue;
      seen.add(key);
      gatewayEndpoints.push({ address: g.address, portOffset });
    }
    gatewayEndpoints.sort((a, b) =>
      a.address < b.address ? -1 : a.address > b.address ? 1 : a.portOffset - b.portOffset,
    );
    return { ...config, egress: { ...egress, gatewayEndpoints } };
  }

  /**
   * The registered workloads that are endpoints now: one admitted at registration stops
   * being one when the mesh file or the cluster no longer admits its identity.
   */
  private members(declared: ServiceIndex, cluster: ServiceIndex): Workload[] {
    const out: Workload[] = [];
    for (const r of this.registrations.values()) {
      if (r.identity && checkMembership(r.workload, r.identity, declared, cluster)) continue;
      out.push(r.workload);
    }
    return out;
  }

  /**
   * Counts changes of the registry's contents, so that a caller can tell whether an action
   * (a stream registering) changed what the next snapshot holds.
   */
  get generation(): number {
    return this.changes;
  }

  private changed(): void {
    this.changes++;
    this.cachedView = undefined;
    this.cachedDeclared = undefined;
    for (const fn of this.watchers) fn();
  }
}

function sameIdentity(a: VerifiedIdentity | undefined, b: VerifiedIdentity | undefined): boolean {
  return a?.namespace === b?.namespace && a?.serviceAccount === b?.serviceAccount;
}

function sameWorkload(a: Workload, b: Workload): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function workloadEndpoint(w: Workload, service: Service): Endpoint {
  const ports: Record<number, number> = {};
  for (const p of service.ports) ports[p.port] = w.inboundPort;
  return {
    address: w.address,
    ports,
    labels: w.labels,
    region: w.region,
    zone: w.zone,
    weight: 1,
    health: w.health,
    meshed: true,
    serviceAccount: w.serviceAccount,
    source: `workload:${w.id}`,
  };
}

/** A service the mesh file does not declare, implied by the workloads that announce it. */
function impliedService(w: Workload, domain: string): Service {
  const protocol = w.protocol ?? 'http';
  const port = w.servicePort ?? w.appPort ?? w.inboundPort;
  return {
    name: w.service,
    namespace: w.namespace,
    hostname: serviceHostname(w.service, w.namespace, domain),
    ports: [{ port, protocol, name: `${protocol}-${port}` }],
    endpoints: [],
    policy: { loadBalancer: 'round_robin', connectTimeoutMs: 5000 },
    subsets: [],
    routes: [],
  };
}

export function mergeWorkloads(config: MeshConfig, workloads: readonly Workload[]): MeshConfig {
  if (workloads.length === 0) return config;
  const services = new Map<string, Service>();
  for (const s of config.services) services.set(serviceKey(s.name, s.namespace), s);
  const added = new Map<string, Endpoint[]>();
  const sorted = [...workloads].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const w of sorted) {
    const key = serviceKey(w.service, w.namespace);
    let service = services.get(key);
    if (!service) {
      service = impliedService(w, config.mesh.domain);
      services.set(key, service);
    }
    let list = added.get(key);
    if (!list) {
      list = [];
      added.set(key, list);
    }
    list.push(workloadEndpoint(w, service));
  }
  const merged: Service[] = [];
  for (const [key, service] of services) {
    const extra = added.get(key);
    if (!extra) {
      merged.push(service);
      continue;
    }
    // A pod's sidecar announces the address its EndpointSlice lists too; the announcement
    // wins (its health is the sidecar's readiness, its port the sidecar's inbound port).
    const announced = new Set(extra.map((e) => e.address));
    const kept = service.endpoints.filter(
      (e) => !(announced.has(e.address) && e.source.startsWith(CLUSTER_SOURCE_PREFIX)),
    );
    merged.push({ ...service, endpoints: [...kept, ...extra] });
  }
  return { ...config, services: merged };
}
