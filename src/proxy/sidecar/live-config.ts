/**
 * The configuration in force and what the data path reads from it: the outbound and
 * inbound route views (routes with the telemetry in force) and the pod's other inbound
 * ports. Swapped whole on each configuration or telemetry change; the listeners read the
 * fields per connection or request, never a copy.
 */
import type { RouteView } from '../http/index.js';
import { InboundPorts, type RuntimeConfig } from '../runtime/index.js';
import type { LiveTelemetry } from '../telemetry/index.js';
import type { InboundPortPolicy } from '../tls-policy/index.js';

const EMPTY_VIEW: RouteView = { table: undefined, clusters: new Map() };

/** What the inbound ports are compiled for. */
export interface LiveConfigWorkload {
  readonly service: string;
  readonly namespace: string;
  readonly opaquePorts: ReadonlySet<number>;
  readonly random: () => number;
}

export class LiveConfig {
  private current: RuntimeConfig | undefined;
  private outbound: RouteView = EMPTY_VIEW;
  private inbound: RouteView = EMPTY_VIEW;
  private ports: InboundPorts | undefined;
  private portPolicy: InboundPortPolicy | undefined;
  private telemetry: LiveTelemetry | undefined;

  constructor(private readonly workload: LiveConfigWorkload) {}

  /** The telemetry whose tracers and access logs the views carry (set once, at start). */
  useTelemetry(telemetry: LiveTelemetry): void {
    this.telemetry = telemetry;
  }

  /** The compiled configuration in force; undefined before the first one. */
  get runtime(): RuntimeConfig | undefined {
    return this.current;
  }

  get outboundView(): RouteView {
    return this.outbound;
  }

  /** The inbound routes for the configuration's app port. */
  get inboundView(): RouteView {
    return this.inbound;
  }

  /** Where inbound connections sent to the pod's other ports go (per configuration). */
  get inboundPorts(): InboundPorts | undefined {
    return this.ports;
  }

  /**
   * The inbound listener's policy for its own port: its mTLS mode and authorization.
   * Undefined before the first configuration and when the configuration has no inbound
   * listener (a sidecar started without `--app-port`): then the port serves nothing.
   */
  get inboundPolicy(): InboundPortPolicy | undefined {
    return this.portPolicy;
  }

  /** Puts a new configuration in force; `inboundPort` is the inbound listener's port. */
  apply(config: RuntimeConfig, inboundPort: number): void {
    this.current = config;
    this.portPolicy = config.inboundPolicy?.forPort(inboundPort);
    this.rebuildViews();
  }

  /** The route views with the routes and the telemetry in force; swapped whole. */
  rebuildViews(): void {
    const runtime = this.current;
    const telemetry = this.telemetry;
    if (!runtime || !telemetry) return;
    // Every view has the same fields, set or undefined, so the data path sees one shape.
    const out = telemetry.of('outbound');
    const inb = telemetry.of('inbound');
    this.outbound = { ...runtime.outbound, tracing: out.tracing, accessLog: out.accessLog };
    this.inbound = { ...runtime.inbound, tracing: inb.tracing, accessLog: inb.accessLog };
    const w = this.workload;
    this.ports = InboundPorts.compile(
      runtime.source,
      this.inbound,
      w.service,
      w.namespace,
      w.opaquePorts,
      w.random,
    );
  }
}
