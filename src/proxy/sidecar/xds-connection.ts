/**
 * The sidecar's xDS stream: the node it announces (its workload, its listeners' ports, what
 * it serves) and the client that keeps the configuration coming.
 */
import { FERRY_VERSION } from '../../version/index.js';
import { nodeMetadataFor } from '../../xds/index.js';
import { type CompileHook, XdsClient, type XdsClientOptions } from '../../xds-client/index.js';
import type { SidecarSettings } from './sidecar-options.js';

/** The ports the node announces (bound before the stream opens: a 0 is known by then). */
export interface AnnouncedPorts {
  readonly inbound: number;
  readonly outbound: number;
  readonly admin: number;
  readonly metrics: number;
}

/**
 * The client for the control plane at `settings.xds`, not started yet; `compile` turns each
 * resource into what the data path runs on when it arrives (a failure is a NACK).
 */
export function createXdsConnection(
  s: SidecarSettings,
  ports: AnnouncedPorts,
  compile: CompileHook,
  /** A primary's: each response ACKed once every worker applied it (WorkerPool.confirm). */
  confirm?: XdsClientOptions['confirm'],
): XdsClient {
  const metadata = nodeMetadataFor(
    {
      service: s.service,
      namespace: s.namespace,
      labels: s.labels,
      serviceAccount: s.serviceAccount,
      address: s.address,
      inboundPort: ports.inbound,
      outboundPort: ports.outbound,
      appPort: s.appPort,
      region: s.region,
      zone: s.zone,
      health: 'HEALTHY',
      servicePort: s.servicePort,
      // A service the mesh file does not declare, on an opaque port, is TCP: its inbound
      // connections are proxied without waiting for HTTP.
      protocol:
        s.protocol ??
        (s.appPort !== undefined && s.opaquePorts.has(s.servicePort ?? s.appPort)
          ? 'tcp'
          : undefined),
    },
    { metricsPort: ports.metrics, adminPort: ports.admin },
  );
  return new XdsClient({
    address: s.xds,
    node: {
      id: s.nodeId,
      metadata,
      user_agent_name: 'ferry',
      user_agent_version: FERRY_VERSION,
    },
    mode: s.mode,
    log: s.log,
    random: s.random,
    compile,
    ...(confirm ? { confirm } : {}),
    ...(s.xdsCredentials ? { credentials: s.xdsCredentials } : {}),
  });
}
