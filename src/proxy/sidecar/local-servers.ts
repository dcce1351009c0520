/**
 * The sidecar's own ports: admin (loopback only), metrics (Prometheus, and the app's
 * rewritten probes) and readiness.
 */
import type http from 'node:http';
import {
  type AdminRole,
  type AdminSources,
  createAdminHandler,
  type LocalServer,
  listenLocal,
} from '../admin/index.js';
import { AppProber } from '../prober/index.js';
import type { SidecarSettings } from './sidecar-options.js';

export interface LocalServers {
  readonly admin: LocalServer;
  readonly metrics: LocalServer;
  readonly ready: LocalServer;
}

export async function listenLocalServers(
  o: SidecarSettings,
  bind: string,
  sources: AdminSources,
  /** Puts a route in front of a port's handler (a primary's routes that ask its workers). */
  wrap: (role: AdminRole, handler: http.RequestListener) => http.RequestListener = (_, h) => h,
): Promise<LocalServers> {
  const opened: LocalServer[] = [];
  try {
    const admin = await listenLocal(
      '127.0.0.1',
      o.adminPort ?? 15000,
      wrap('admin', createAdminHandler('admin', sources)),
    );
    opened.push(admin);
    const metricsHandler = wrap('metrics', createAdminHandler('metrics', sources));
    // The rewritten probes arrive on the metrics port (Istio's 15020), which capture leaves
    // alone: the kubelet's plaintext reaches it whatever the mTLS mode and the policies.
    const prober =
      o.appProbes && Object.keys(o.appProbes).length > 0
        ? new AppProber(o.appProbes, o.address)
        : undefined;
    const metrics = await listenLocal(
      bind,
      o.metricsPort ?? 15020,
      prober
        ? (req, res) => {
            if (!prober.handle(req, res)) metricsHandler(req, res);
          }
        : metricsHandler,
    );
    opened.push(metrics);
    const ready = await listenLocal(
      bind,
      o.readyPort ?? 15021,
      wrap('ready', createAdminHandler('ready', sources)),
    );
    return { admin, metrics, ready };
  } catch (err) {
    await Promise.all(opened.map((s) => s.close()));
    throw err;
  }
}
