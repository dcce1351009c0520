/**
 * Each complete configuration from xDS, assembled from its resources' compiled forms and put
 * in force whole: the route views, the peers Istio's metrics name, the telemetry it asks for,
 * and the upstream pools of the hosts it still has. What does not compile was NACKed when it
 * arrived, so assembling cannot fail.
 */
import type { Logger } from '../../log/index.js';
import type { ProxyConfig } from '../../xds-client/index.js';
import type { OutlierLog } from '../cluster/index.js';
import type { IstioMetrics } from '../http/index.js';
import { assembleRuntime } from '../runtime/index.js';
import type { LiveTelemetry } from '../telemetry/index.js';
import type { WorkloadTls } from '../tls/index.js';
import type { UpstreamPools } from '../upstream/index.js';
import type { LiveConfig } from './live-config.js';

export interface ConfigApplyEnv {
  readonly live: LiveConfig;
  readonly istio: IstioMetrics;
  readonly telemetry: LiveTelemetry;
  readonly pools: UpstreamPools;
  readonly tls: WorkloadTls | undefined;
  /** The inbound listener's port (its chain's policy is the inbound one). */
  readonly inboundPort: () => number;
  readonly outlierLog: OutlierLog;
  readonly random: () => number;
  readonly log: Logger;
}

export class ConfigApply {
  /**
   * The first configuration's telemetry starting: the sidecar is ready only once the tracer
   * the configuration asks for runs, so the app's first requests are traced as configured.
   */
  private first: Promise<void> | undefined;
  private telemetryStarted = false;
  private last: Promise<void> = Promise.resolve();

  constructor(private readonly env: ConfigApplyEnv) {}

  /** Whether the first configuration's telemetry runs. */
  get telemetryReady(): boolean {
    return this.telemetryStarted;
  }

  /** Resolves once the first configuration's telemetry runs (at once before any). */
  firstTelemetry(): Promise<void> | undefined {
    return this.first;
  }

  /** Resolves once the tracer the configuration in force asks for runs (or failed to start). */
  lastTelemetry(): Promise<void> {
    return this.last;
  }

  apply(source: ProxyConfig): void {
    const env = this.env;
    const live = env.live;
    const inboundPort = env.inboundPort();
    const result = assembleRuntime(
      source,
      live.runtime,
      env.random,
      env.tls,
      inboundPort,
      env.outlierLog,
    );
    if (result.warnings.length > 0) {
      env.log.warn({ warnings: result.warnings }, 'configuration applied with warnings');
    }
    const first = live.runtime === undefined;
    const config = result.config;
    // Callers are named from the workloads EDS lists; the cluster name from the listener.
    const t = config.telemetry;
    env.istio.configure(
      config.clusters.values(),
      t.inbound.clusterName ?? t.outbound.clusterName,
      (t.inbound.peerMetadata ?? t.outbound.peerMetadata) !== false,
    );
    const telemetry = env.telemetry.apply(config.telemetry);
    this.last = telemetry;
    if (first) {
      this.first = telemetry.then(() => {
        this.telemetryStarted = true;
      });
    }
    // After the telemetry: the views carry its tracers and access logs.
    live.apply(config, inboundPort);
    const keep = new Set<string>();
    for (const c of config.clusters.values()) for (const h of c.hostSet.hosts) keep.add(h.key);
    env.pools.retain(keep);
    env.log.info(
      { version: source.version, clusters: config.clusters.size },
      first ? 'sidecar ready' : 'configuration applied',
    );
  }
}
