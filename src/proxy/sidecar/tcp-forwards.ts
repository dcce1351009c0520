/**
 * Local ports that carry TCP to a mesh service (`--tcp-forward port=name[.namespace]:port`),
 * for apps on a machine without traffic capture, as Consul's upstream bindings do. The
 * cluster is looked up per connection, so a forward follows the configuration in force.
 */
import net from 'node:net';
import type { Logger } from '../../log/index.js';
import type { RuntimeCluster } from '../cluster/index.js';
import { proxyTcp, type TcpProxyEnv } from '../tcp/index.js';
import type { LiveConfig } from './live-config.js';

export interface TcpForward {
  readonly port: number;
  /** `name[.namespace]:port`. */
  readonly target: string;
}

/** The outbound cluster of `name[.namespace]:port` (the namespace defaults to the workload's). */
export function forwardCluster(
  clusters: ReadonlyMap<string, RuntimeCluster> | undefined,
  target: string,
  namespace: string,
): RuntimeCluster | undefined {
  const colon = target.lastIndexOf(':');
  const [name, ns = namespace] = target.slice(0, colon).split('.');
  const prefix = `outbound|${target.slice(colon + 1)}||${name}.${ns}.`;
  for (const [clusterName, cluster] of clusters ?? []) {
    if (clusterName.startsWith(prefix)) return cluster;
  }
  return undefined;
}

/** Listens on each forward's port (at `bind`), in order; the servers are returned. */
export async function listenTcpForwards(
  forwards: readonly TcpForward[],
  bind: string,
  namespace: string,
  live: LiveConfig,
  tcp: TcpProxyEnv,
  log: Logger,
): Promise<net.Server[]> {
  const servers: net.Server[] = [];
  try {
    for (const f of forwards) {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        const cluster = forwardCluster(live.runtime?.clusters, f.target, namespace);
        if (!cluster) {
          log.warn({ target: f.target }, 'no cluster for a TCP forward; connection closed');
          socket.destroy();
          return;
        }
        proxyTcp(socket, undefined, cluster, undefined, tcp);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(f.port, bind, () => resolve());
      });
      servers.push(server);
      log.info(
        { port: (server.address() as net.AddressInfo).port, target: f.target },
        'TCP forward listening',
      );
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  return servers;
}
