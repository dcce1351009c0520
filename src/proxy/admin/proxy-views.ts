/**
 * What the admin port shows of any Ferry proxy (sidecar or gateway), built the same way for
 * both: clusters with their hosts, the workload certificate (never its key), server info.
 */
import type { Logger } from '../../log/index.js';
import { setLogLevel } from '../../log/index.js';
import { FERRY_VERSION } from '../../version/index.js';
import type { RuntimeCluster } from '../cluster/index.js';
import type { CertificateSource } from '../tls/index.js';
import type { AdminSources, ClusterView } from './admin-server.js';
import { describePem } from './certificate-info.js';

/** Every cluster and its hosts with health and counters (GET /clusters). */
export function clusterStatus(clusters: Iterable<RuntimeCluster>): ClusterView[] {
  return [...clusters].map((c) => ({
    name: c.name,
    policy: c.policy,
    protocol: c.protocol,
    circuit_breakers: c.breakers.toJSON(),
    hosts: c.hostSet.hosts.map((h) => ({
      address: h.key,
      health: h.health,
      healthy: h.healthy,
      active: h.active,
      rqTotal: h.rqTotal,
      rqError: h.rqError,
      ejected: h.ejected,
      failedHealthCheck: h.failedHealthCheck,
      priority: h.priority,
      weight: h.weight,
      zone: h.locality.zone,
    })),
  }));
}

/** The workload certificate chain and its roots (GET /certs). */
export function certificateView(certificates: CertificateSource | undefined): object {
  const current = certificates?.current();
  return {
    chain: current ? describePem(current.chain) : [],
    roots: current ? describePem(current.roots) : [],
  };
}

/** Version, node, state and uptime (GET /server_info). */
export function serverInfo(
  node: string,
  state: 'DRAINING' | 'LIVE' | 'INITIALIZING',
  configVersion: number,
): object {
  return {
    version: FERRY_VERSION,
    node,
    state,
    uptime_s: Math.round(process.uptime()),
    config_version: configVersion,
  };
}

/** GET and POST /logging. */
export function logLevelSources(log: Logger): Pick<AdminSources, 'logLevel' | 'setLogLevel'> {
  return {
    logLevel: () => log.level,
    setLogLevel: (level: string) => {
      setLogLevel(log, level);
      log.info({ level }, 'log level changed');
    },
  };
}
