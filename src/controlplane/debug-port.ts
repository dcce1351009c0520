/**
 * The debug HTTP port (/healthz, /metrics, /debug/*, the dashboard) with the source of the
 * dashboard's numbers: a Prometheus to query, or the sidecars scraped by the control plane
 * itself.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricsScraper, PrometheusStats } from '../dashboard/index.js';
import type { Logger } from '../log/index.js';
import type { ControlPlaneOptions } from './control-plane-options.js';
import { createDebugServer, type DebugSources } from './debug-http.js';
import { portError } from './port-probe.js';
import { sidecarTargets } from './sidecar-targets.js';

export interface DebugPort {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the dashboard's numbers and listens; closes what it started if listening fails. */
export async function listenDebugPort(
  host: string,
  port: number,
  options: Pick<ControlPlaneOptions, 'prometheusUrl' | 'scrapeTargets' | 'scrapeIntervalMs'>,
  sources: Omit<DebugSources, 'dashboard'>,
  log: Logger,
): Promise<DebugPort> {
  const stats = options.prometheusUrl
    ? new PrometheusStats({ url: options.prometheusUrl })
    : new MetricsScraper({
        targets: options.scrapeTargets ?? (() => sidecarTargets(sources.ads)),
        intervalMs: options.scrapeIntervalMs ?? 5000,
        log,
      });
  if (stats instanceof MetricsScraper) stats.start();
  const stopStats = () => {
    if (stats instanceof MetricsScraper) stats.stop();
  };
  const server: http.Server = createDebugServer({ ...sources, dashboard: stats });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(portError('HTTP', host, port, err)));
      server.listen(port, host, () => resolve());
    });
  } catch (err) {
    stopStats();
    throw err;
  }
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      stopStats();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
