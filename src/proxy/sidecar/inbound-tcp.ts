/**
 * Inbound connections served as TCP rather than HTTP: a tcp service's app port (the inbound
 * listener's tcp_proxy chain), and the pod's other ports whose protocol is TCP (declared,
 * opaque, or detected as not HTTP). Each connection passes the network authorization
 * (RBAC) of the inbound port before a byte goes to the app.
 */
import type net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { countFailure } from '../failure/index.js';
import type { Denial, ProxyStats } from '../http/index.js';
import { detectProtocol } from '../listener/index.js';
import { authorize } from '../stack/index.js';
import { proxyTcp, type TcpProxyEnv } from '../tcp/index.js';
import { socketPrincipal } from '../tls/index.js';
import type { InboundRouting } from './inbound-routing.js';
import type { LiveConfig } from './live-config.js';

export interface InboundTcpEnv {
  readonly live: LiveConfig;
  readonly routing: InboundRouting;
  /** The inbound listener's port (whose policy applies). */
  readonly listenerPort: () => number;
  readonly stats: ProxyStats;
  readonly onDenied: (d: Denial) => void;
  readonly tcp: TcpProxyEnv;
}

/** HTTP/1.1 or HTTP/2 by a connection's first bytes. */
function isHttp(first: Buffer): boolean {
  const p = detectProtocol(first);
  return p === 'http1' || p === 'http2';
}

/**
 * The inbound listener's `opaque` hook: takes (returns true for) a connection that is TCP,
 * proxying it to the app or closing it when authorization denies it; leaves HTTP alone.
 */
export function createInboundTcp(
  env: InboundTcpEnv,
): (socket: net.Socket, first: Buffer) => boolean {
  const { live, routing, stats, onDenied } = env;
  return (socket, first) => {
    const runtime = live.runtime;
    if (!runtime) return false;
    const target = routing.target(socket);
    const route = runtime.inboundTcp;
    if (target) {
      if (target.kind === 'http') return false;
      // Detected: HTTP is served as HTTP; a TLS connection just decrypted has said
      // nothing yet (its first bytes come next); silence on plaintext is server-first TCP.
      if (target.kind === 'detect') {
        if (first.length === 0 ? (socket as TLSSocket).encrypted === true : isHttp(first))
          return false;
      }
    } else if (!route) return false;
    const cluster = target ? target.cluster : runtime.clusters.get(route!.cluster);
    // Unset: the TCP proxy falls back to the --tcp-idle-timeout default.
    const idleTimeoutMs = route?.idleTimeoutMs;
    const port = env.listenerPort();
    const policy = live.inboundPolicy;
    let rbac = policy?.networkRbac;
    // A TCP connection to another port of an HTTP service: the service's rules still apply
    // (conditions on methods and paths match nothing without a request).
    if (target && (!rbac || rbac.empty)) rbac = policy?.httpRbac;
    if (rbac && !rbac.empty) {
      // The route layer's authorization, as for requests; a refusal closes the connection.
      const denied = authorize(rbac, socketPrincipal(socket), undefined, undefined, port);
      if (denied !== undefined) {
        countFailure(stats, denied.failure);
        const { policy: rule, principal } = denied;
        onDenied({ policy: rule, principal, method: '', authority: '', path: '' });
        socket.destroy();
        return true;
      }
    }
    if (!cluster) socket.destroy();
    else proxyTcp(socket, first, cluster, idleTimeoutMs, env.tcp);
    return true;
  };
}
