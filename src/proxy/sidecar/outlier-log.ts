/** Outlier ejections and health-check changes of upstream hosts: logged, ejections counted. */
import type { Logger } from '../../log/index.js';
import type { OutlierLog } from '../cluster/index.js';
import type { ProxyStats } from '../http/index.js';
import type { Host } from '../lb/index.js';

export function outlierLog(log: Logger, stats: ProxyStats): OutlierLog {
  return {
    ejected: (cluster: string, host: Host, reason: string, ms: number) => {
      stats.ejections++;
      log.warn(
        { cluster, host: host.key, reason, ejection_ms: Math.round(ms) },
        'upstream host ejected by outlier detection',
      );
    },
    returned: (cluster: string, host: Host) => {
      log.info({ cluster, host: host.key }, 'upstream host back from ejection');
    },
    health: (cluster: string, host: Host, healthy: boolean, reason: string) => {
      log[healthy ? 'info' : 'warn'](
        { cluster, host: host.key, reason },
        healthy ? 'upstream host healthy again' : 'upstream host failed its health checks',
      );
    },
  };
}
