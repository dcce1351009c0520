/**
 * What the admin, metrics and readiness ports show and do, read from the sidecar's parts
 * when asked: the config dump (Envoy's bootstrap and resources), clusters and endpoints,
 * the /stats counters, certificates, server info, log level, drain and quit.
 */
import { FERRY_VERSION } from '../../version/index.js';
import type { XdsClient } from '../../xds-client/index.js';
import {
  type AdminSources,
  certificateView,
  clusterStatus,
  logLevelSources,
  serverInfo,
} from '../admin/index.js';
import type { ProxyStats } from '../http/index.js';
import { LIMIT_NAMES, type LimitCounters } from '../listener/index.js';
import type { TapHub } from '../tap/index.js';
import type { LiveConfig } from './live-config.js';
import type { SidecarGauges } from './proxy-metrics.js';
import type { SidecarSettings } from './sidecar-options.js';

/** The sidecar as its admin pages see it. */
export interface AdminSubject {
  readonly settings: SidecarSettings;
  readonly ports: Readonly<Record<'inbound' | 'outbound' | 'admin' | 'metrics' | 'ready', number>>;
  readonly live: LiveConfig;
  readonly stats: ProxyStats;
  readonly limitCounters: LimitCounters;
  readonly gauges: SidecarGauges;
  readonly xds: XdsClient | undefined;
  readonly tapHub: TapHub | undefined;
  readonly draining: boolean;
  readonly ready: boolean;
  /** Starts draining the listeners (the process goes on). */
  drain(): void;
  /** Drains, stops and then calls onQuit. */
  quit(): void;
  /** The Prometheus exposition of the sidecar's metrics. */
  prometheus(): string;
}

function memoryStats(): Record<string, number> {
  const m = process.memoryUsage();
  return {
    memory_rss_bytes: m.rss,
    memory_heap_used_bytes: m.heapUsed,
    memory_heap_total_bytes: m.heapTotal,
    memory_external_bytes: m.external,
    memory_array_buffers_bytes: m.arrayBuffers,
  };
}

export function adminSources(s: AdminSubject): AdminSources {
  const o = s.settings;
  return {
    configDump: () => {
      const runtime = s.live.runtime;
      return {
        node: o.nodeId,
        // What the sidecar was started with (Envoy's bootstrap: node, xDS server, ports).
        bootstrap: {
          node: { id: o.nodeId, user_agent_name: 'ferry', user_agent_version: FERRY_VERSION },
          xds: { address: o.xds, mode: o.mode, tls: o.xdsCredentials !== undefined },
          workload: {
            service: o.service,
            namespace: o.namespace,
            serviceAccount: o.serviceAccount,
            labels: o.labels,
            address: o.address,
            appPort: o.appPort,
            zone: o.zone,
          },
          ports: s.ports,
          mtls: o.certificates !== undefined,
        },
        xds: s.xds?.status(),
        version: s.gauges.configVersion(),
        resources: runtime
          ? {
              listeners: [...runtime.source.listeners.values()],
              routes: [...runtime.source.routes.values()],
              clusters: [...runtime.source.clusters.values()],
              endpoints: [...runtime.source.endpoints.values()],
            }
          : null,
      };
    },
    clusters: () => clusterStatus(s.live.runtime?.clusters.values() ?? []),
    stats: () => ({
      ...s.stats.snapshot(),
      ...Object.fromEntries(LIMIT_NAMES.map((n) => [`limit_${n}`, s.limitCounters.counts[n]])),
      xds_connected: s.gauges.xdsConnected(),
      config_version: s.gauges.configVersion(),
      upstream_pools: s.gauges.upstreamPools(),
      downstream_connections: s.gauges.downstreamConnections(),
      ...memoryStats(),
    }),
    prometheus: () => s.prometheus(),
    certs: () => certificateView(o.certificates),
    serverInfo: () =>
      serverInfo(
        o.nodeId,
        s.draining ? 'DRAINING' : s.ready ? 'LIVE' : 'INITIALIZING',
        s.gauges.configVersion(),
      ),
    ...logLevelSources(o.log),
    ready: () => s.ready,
    drain: () => s.drain(),
    quit: () => s.quit(),
    tap: s.tapHub,
  };
}
