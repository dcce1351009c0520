/**
 * What a sidecar is started with, and the defaults of what is left out, resolved once so
 * that every part reads the same value (the namespace, the node id, the bind address...).
 */
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Logger } from '../../log/index.js';
import type { Protocol } from '../../mesh/index.js';
import { checkLimits, DEFAULT_OPAQUE_PORTS, type ListenerLimits } from '../listener/index.js';
import type { AppProbes } from '../prober/index.js';
import type { CertificateSource } from '../tls/index.js';
import type { TracingOptions } from '../tracing/index.js';
import type { ConfigFeed } from '../workers/index.js';

export interface SidecarOptions {
  /** Control plane address, host:port. */
  readonly xds: string;
  readonly service: string;
  readonly namespace?: string;
  /** xDS node id; default `<service>-<pid>.<namespace>`. */
  readonly id?: string;
  readonly appPort?: number;
  readonly inboundPort?: number;
  readonly outboundPort?: number;
  readonly adminPort?: number;
  readonly metricsPort?: number;
  readonly readyPort?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly serviceAccount?: string;
  /** The address other sidecars reach this one at (announced); default 127.0.0.1. */
  readonly address?: string;
  /** Where the inbound and outbound listeners bind; default 127.0.0.1. */
  readonly bind?: string;
  readonly zone?: string;
  readonly region?: string;
  /** For a service the mesh file does not declare. */
  readonly servicePort?: number;
  readonly protocol?: Protocol;
  readonly mode?: 'delta' | 'sotw';
  readonly drainMs?: number;
  /** Serve plain HTTP/1.1 with the hand-parsed fast path (default) or node's http server. */
  readonly http1?: 'fast' | 'node';
  /**
   * Access log: a file path, or '-' for standard output; off when absent. The default: an
   * access log set in the xDS config (the mesh file's telemetry) takes precedence.
   */
  readonly accessLog?: string;
  readonly log: Logger;
  /**
   * The workload's certificate (from the identity client): with it, mTLS to meshed
   * endpoints and TLS on the inbound port as the control plane's config says; without it,
   * plaintext only.
   */
  readonly certificates?: CertificateSource;
  /** How to reach the control plane (TLS with its identity checked); plaintext when absent. */
  readonly xdsCredentials?: ChannelCredentials;
  /**
   * Local ports that carry TCP to a mesh service (`target`: `name[.namespace]:port`), for
   * apps on a machine without traffic capture, as Consul's upstream bindings do.
   */
  readonly tcpForwards?: ReadonlyArray<{ readonly port: number; readonly target: string }>;
  /**
   * Ports whose connections are never held for protocol detection (server-first protocols),
   * inbound and outbound; default Linkerd's (DEFAULT_OPAQUE_PORTS).
   */
  readonly opaquePorts?: readonly number[];
  /**
   * OpenTelemetry traces (off when absent; the SDK is not even loaded). The default: tracing
   * set in the xDS config (the mesh file's telemetry) takes precedence.
   */
  readonly tracing?: Omit<TracingOptions, 'serviceName' | 'serviceNamespace'>;
  readonly random?: () => number;
  /**
   * The downstream listeners' limits (timeouts, head sizes, pipelining, HTTP/2 streams);
   * what is left out keeps its default (DEFAULT_LIMITS: nginx's or Envoy's).
   */
  readonly limits?: Partial<ListenerLimits>;
  /**
   * The app's original probes, moved here by the injector: the metrics port answers them at
   * `/app-health/<container>/<kind>` by running them against the app (at `address`).
   */
  readonly appProbes?: AppProbes;
  /** Called by POST /quitquitquit after the drain (the CLI exits the process). */
  readonly onQuit?: () => void;
  /**
   * Tap points on the listeners for the admin port's /tap (default true). false wires the
   * metrics recorders in directly, as a build without tap would: the benchmark's baseline.
   */
  readonly tap?: boolean;
  /**
   * Where the configuration comes from when not from an xDS stream of its own: a worker of
   * `--concurrency N` gets it from the primary, which holds the one stream.
   */
  readonly feed?: ConfigFeed;
  /** Open the admin, metrics and readiness ports (default true; a worker's primary does). */
  readonly localPorts?: boolean;
  /** Told of each configuration applied (a worker reports it to the primary). */
  readonly onApplied?: (version: number) => void;
}

/** The options with every default filled in. */
export interface SidecarSettings
  extends Omit<
    SidecarOptions,
    | 'namespace'
    | 'id'
    | 'labels'
    | 'serviceAccount'
    | 'address'
    | 'bind'
    | 'zone'
    | 'region'
    | 'mode'
    | 'drainMs'
    | 'random'
    | 'limits'
    | 'opaquePorts'
  > {
  readonly namespace: string;
  /** The xDS node id. */
  readonly nodeId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  readonly address: string;
  readonly bind: string;
  readonly zone: string;
  readonly region: string;
  readonly mode: 'delta' | 'sotw';
  readonly drainMs: number;
  readonly random: () => number;
  /** Checked (LimitsError on nonsense), with DEFAULT_LIMITS for what was left out. */
  readonly limits: ListenerLimits;
  /** Ports never held for protocol detection. */
  readonly opaquePorts: ReadonlySet<number>;
  /** `<service>.<namespace>`, as tap and the metrics name this workload. */
  readonly workload: string;
}

/** Fills in the defaults; throws LimitsError for limits that make no sense. */
export function resolveSidecarOptions(o: SidecarOptions): SidecarSettings {
  const namespace = o.namespace ?? 'default';
  return {
    ...o,
    namespace,
    nodeId: o.id ?? `${o.service}-${process.pid}.${namespace}`,
    labels: o.labels ?? {},
    serviceAccount: o.serviceAccount ?? 'default',
    address: o.address ?? '127.0.0.1',
    bind: o.bind ?? '127.0.0.1',
    zone: o.zone ?? '',
    region: o.region ?? '',
    mode: o.mode ?? 'delta',
    drainMs: o.drainMs ?? 5000,
    random: o.random ?? Math.random,
    limits: checkLimits(o.limits ?? {}),
    opaquePorts: new Set(o.opaquePorts ?? DEFAULT_OPAQUE_PORTS),
    workload: `${o.service}.${namespace}`,
  };
}
