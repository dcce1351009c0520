/**
 * In-process mesh pieces for integration tests: a control plane on free ports and sidecars
 * pointed at it (every port 0, silent logs), plus the waits tests need before they measure:
 * a sidecar ready, a cluster with its endpoints, a pushed configuration applied.
 */
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import type { MeshConfig } from '../../src/mesh/index.js';
import { Sidecar, type SidecarOptions } from '../../src/proxy/index.js';
import { waitFor } from './wait-for.js';

/** A control plane on free ports; no warm-up unless a test asks for one. */
export function startControlPlane(
  config: MeshConfig,
  xdsPort = 0,
  warmupMs = 0,
): Promise<ControlPlane> {
  return ControlPlane.start({
    config,
    xdsPort,
    httpPort: 0,
    debounceMs: 10,
    warmupMs,
    log: silentLogger(),
  });
}

export type SidecarSettings = Omit<Partial<SidecarOptions>, 'xds' | 'log'> & {
  readonly service: string;
};

/** A sidecar on free ports, started and ready (its first configuration applied). */
export async function startSidecar(xdsPort: number, settings: SidecarSettings): Promise<Sidecar> {
  const sidecar = await Sidecar.start({
    xds: `127.0.0.1:${xdsPort}`,
    inboundPort: 0,
    outboundPort: 0,
    adminPort: 0,
    metricsPort: 0,
    readyPort: 0,
    log: silentLogger(),
    ...settings,
  });
  try {
    await sidecar.waitReady(5000);
  } catch (err) {
    await sidecar.stop(0);
    throw err;
  }
  return sidecar;
}

/** Addresses (`ip:port`) of the endpoints a sidecar has for a cluster, sorted. */
export function hostsOf(sidecar: Sidecar, cluster: string): string[] {
  const c = sidecar.config?.clusters.get(cluster);
  return c ? c.hostSet.hosts.map((h) => h.key).sort() : [];
}

/** Waits until the sidecar knows exactly `count` endpoints of `cluster`. */
export function waitForHosts(sidecar: Sidecar, cluster: string, count: number): Promise<void> {
  return waitFor(
    `${count} endpoint(s) of ${cluster} (has ${hostsOf(sidecar, cluster).length})`,
    () => hostsOf(sidecar, cluster).length === count,
  );
}

/** Pushes a mesh config and waits until every sidecar given has applied a newer version. */
export async function pushMesh(
  cp: ControlPlane,
  config: MeshConfig,
  sidecars: readonly Sidecar[],
): Promise<void> {
  const before = sidecars.map((s) => s.config?.version ?? 0);
  cp.registry.setMeshConfig(config);
  await waitFor('the pushed configuration to be applied', () =>
    sidecars.every((s, i) => (s.config?.version ?? 0) !== before[i]),
  );
}

/**
 * Waits until the control plane is quiet: every stream has ACKed all it was sent (so every
 * sidecar runs the latest configuration) and nothing new was published for 50 ms. Startup
 * pushes (each sidecar registering itself) are over after this, so a measurement that
 * depends on balancer state is not disturbed by one.
 */
export async function waitForQuiet(cp: ControlPlane): Promise<void> {
  let last = '';
  let since = performance.now();
  await waitFor('the control plane to settle', () => {
    const pending = cp.ads
      .status()
      .some((s) => s.types.some((t) => t.lastSentVersion !== t.lastAckedVersion));
    const key = `${cp.cache.version} ${pending}`;
    if (key !== last) {
      last = key;
      since = performance.now();
    }
    return !pending && performance.now() - since >= 50;
  });
}
