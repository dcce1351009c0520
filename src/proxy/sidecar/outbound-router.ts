/**
 * Outbound connections routed on their original destination (SO_ORIGINAL_DST, when
 * `ferry init` redirected them; else the listener's own address): a TCP chain proxies the
 * connection at once, before the app says anything (server-first protocols are not held
 * up), to the chain's cluster or, for an ORIGINAL_DST cluster, to the destination itself.
 * HTTP chains (and connections before the first configuration) are left to the HTTP
 * listener.
 */
import type net from 'node:net';
import { ADDON_BUILD_COMMAND } from '../../kube/capture/index.js';
import type { Logger } from '../../log/index.js';
import {
  DETECTION_TIMEOUT_MS,
  detectProtocol,
  readFirstBytes,
  requestHost,
} from '../listener/index.js';
import { proxyTcp, proxyTcpTo, type TcpProxyEnv } from '../tcp/index.js';
import type { LiveConfig } from './live-config.js';
import { recoverDestination } from './original-destination.js';

export interface OutboundRouterEnv {
  readonly live: LiveConfig;
  /** Ports never held for protocol detection. */
  readonly opaquePorts: ReadonlySet<number>;
  readonly tcp: TcpProxyEnv;
  readonly log: Logger;
}

/** The outbound listener's `accept` hook: true when it took the connection. */
export function createOutboundRouter(
  env: OutboundRouterEnv,
): (socket: net.Socket, serveHttp: (first: Buffer) => void) => boolean {
  const { live, opaquePorts, tcp, log } = env;
  const recover = recoverDestination;
  // Only captured traffic (ferry init) needs the addon; without capture the note is noise,
  // so it is a debug line (issue 15: nothing about node-gyp at every start).
  if (!recover) {
    log.debug(
      `the SO_ORIGINAL_DST addon is not built (${ADDON_BUILD_COMMAND}); outbound connections are routed on the listener's own address`,
    );
  }
  return (socket, serveHttp) => {
    const runtime = live.runtime;
    if (!runtime) return false;
    const original = recover?.(socket);
    const action = original
      ? runtime.outboundDestinations.lookup(original.address, original.port)
      : runtime.outboundDestinations.lookup(socket.localAddress ?? '', socket.localPort ?? 0);
    if (!action || action.kind === 'http') return false;
    const cluster = runtime.clusters.get(action.cluster);
    if (cluster) {
      proxyTcp(socket, undefined, cluster, action.idleTimeoutMs, tcp);
      return true;
    }
    const target = runtime.originalDst.get(action.cluster);
    // Without a redirect there is no other destination to pass the connection on to.
    if (target && original) {
      const key =
        original.family === 6
          ? `[${original.address}]:${original.port}`
          : `${original.address}:${original.port}`;
      const to = { address: original.address, port: original.port, key };
      const pass = (first: Buffer | undefined) =>
        proxyTcpTo(socket, first, target, to, target.tls, action.idleTimeoutMs, tcp);
      if (action.declared || opaquePorts.has(original.port)) pass(undefined);
      else detectPassthrough(socket, live, pass, serveHttp);
      return true;
    }
    if (!target)
      log.warn(
        { chain: action.chain, cluster: action.cluster },
        'no such cluster; connection closed',
      );
    socket.destroy();
    return true;
  };
}

/**
 * A destination outside the mesh, whose protocol nothing declares: its first bytes are
 * read (a server-first protocol's silence ends the wait after DETECTION_TIMEOUT_MS). An
 * HTTP/1.1 request whose Host names a service of the mesh is routed in the mesh, as an
 * Istio sidecar routes HTTP by Host whatever the address; everything else (TLS, HTTP/2,
 * other hosts, other protocols) passes through unchanged.
 */
function detectPassthrough(
  socket: net.Socket,
  live: LiveConfig,
  pass: (first: Buffer | undefined) => void,
  serveHttp: (first: Buffer) => void,
): void {
  readFirstBytes(socket, DETECTION_TIMEOUT_MS, (first) => {
    if (detectProtocol(first) === 'http1') {
      const host = requestHost(first);
      if (host !== undefined && live.outboundView.table?.hasVirtualHost(host)) {
        serveHttp(first);
        return;
      }
    }
    pass(first.length > 0 ? first : undefined);
  });
}
