/**
 * Outbound connections routed on their original destination (SO_ORIGINAL_DST, when
 * `ferry init` redirected them; else the listener's own address): a TCP chain proxies the
 * connection at once, before the app says anything (server-first protocols are not held
 * up), to the chain's cluster or, for an ORIGINAL_DST cluster, to the destination itself.
 * HTTP chains (and connections before the first configuration) are left to the HTTP
 * listener. A port with chains by server name (the declared external tls hosts, sent to the
 * egress gateway; the listener's own port among them) waits for the ClientHello first, as
 * Envoy's tls_inspector does. Without such hosts nothing is read here.
 */
import type net from 'node:net';
import { ADDON_BUILD_COMMAND } from '../../kube/capture/index.js';
import type { Logger } from '../../log/index.js';
import {
  DETECTION_TIMEOUT_MS,
  detectProtocol,
  HANDSHAKE_TIMEOUT_MS,
  readClientHello,
  readFirstBytes,
  requestHost,
  TLS_HANDSHAKE,
} from '../listener/index.js';
import type { OutboundAction, SniSwitch } from '../runtime/index.js';
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

/** Where a connection was headed: its original destination, or the listener itself. */
interface Destination {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
  /** Whether it was redirected (there is another destination than the listener). */
  readonly captured: boolean;
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

  const destinationOf = (socket: net.Socket): Destination => {
    const original = recover?.(socket);
    if (original) return { ...original, captured: true };
    return {
      address: socket.localAddress ?? '',
      port: socket.localPort ?? 0,
      family: socket.localFamily === 'IPv6' ? 6 : 4,
      captured: false,
    };
  };

  /**
   * Sends a connection where `action` says. `first`: bytes read from it already (then its
   * protocol was looked at: a passthrough is not detected again).
   */
  const dispatch = (
    socket: net.Socket,
    action: OutboundAction | undefined,
    to: Destination,
    first: Buffer | undefined,
    serveHttp: (first: Buffer) => void,
  ): void => {
    const runtime = live.runtime;
    if (!runtime || !action) {
      socket.destroy();
      return;
    }
    if (action.kind === 'http') {
      serveHttp(first ?? Buffer.alloc(0));
      return;
    }
    const cluster = runtime.clusters.get(action.cluster);
    if (cluster) {
      proxyTcp(socket, first, cluster, action.idleTimeoutMs, tcp);
      return;
    }
    const target = runtime.originalDst.get(action.cluster);
    // Without a redirect there is no other destination to pass the connection on to.
    if (target && to.captured) {
      const key = to.family === 6 ? `[${to.address}]:${to.port}` : `${to.address}:${to.port}`;
      const address = { address: to.address, port: to.port, key };
      const pass = (bytes: Buffer | undefined) =>
        proxyTcpTo(socket, bytes, target, address, target.tls, action.idleTimeoutMs, tcp);
      if (first !== undefined) routeDetected(first, live, pass, serveHttp);
      else if (action.declared || opaquePorts.has(to.port)) pass(undefined);
      else detectPassthrough(socket, live, pass, serveHttp);
      return;
    }
    if (!target)
      log.warn(
        { chain: action.chain, cluster: action.cluster },
        'no such cluster; connection closed',
      );
    socket.destroy();
  };

  /** A port with chains by server name: the ClientHello (if any) picks. */
  const bySni = (
    socket: net.Socket,
    sni: SniSwitch,
    to: Destination,
    serveHttp: (first: Buffer) => void,
  ): void => {
    // A server-first protocol says nothing: after the detection wait it goes on as declared.
    // HTTP (the listener's own port) speaks first: silence there is cut off as a TLS
    // client's would be.
    const http = sni.otherwise?.kind === 'http';
    readFirstBytes(socket, http ? HANDSHAKE_TIMEOUT_MS : DETECTION_TIMEOUT_MS, (first) => {
      if (http && first.length === 0) {
        socket.destroy();
        return;
      }
      if (first[0] !== TLS_HANDSHAKE) {
        dispatch(socket, sni.otherwise, to, first.length > 0 ? first : undefined, serveHttp);
        return;
      }
      readClientHello(
        socket,
        HANDSHAKE_TIMEOUT_MS,
        (hello, bytes) => {
          const named = hello.kind === 'hello' && hello.sni ? sni.names.get(hello.sni) : undefined;
          dispatch(socket, named ?? sni.otherwise, to, bytes, serveHttp);
        },
        first,
      );
    });
  };

  const accept = (socket: net.Socket, serveHttp: (first: Buffer) => void): boolean => {
    const runtime = live.runtime;
    if (!runtime) return false;
    const to = destinationOf(socket);
    const route = runtime.outboundDestinations.route(to.address, to.port);
    if (route?.kind === 'sni') {
      bySni(socket, route, to, serveHttp);
      return true;
    }
    if (!route || route.kind === 'http') return false;
    dispatch(socket, route, to, undefined, serveHttp);
    return true;
  };
  return accept;
}

/**
 * A destination outside the mesh, whose protocol nothing declares: its first bytes are
 * read (a server-first protocol's silence ends the wait after DETECTION_TIMEOUT_MS), then
 * routed as routeDetected() says.
 */
function detectPassthrough(
  socket: net.Socket,
  live: LiveConfig,
  pass: (first: Buffer | undefined) => void,
  serveHttp: (first: Buffer) => void,
): void {
  readFirstBytes(socket, DETECTION_TIMEOUT_MS, (first) =>
    routeDetected(first, live, pass, serveHttp),
  );
}

/**
 * An HTTP/1.1 request whose Host names a service of the mesh (or a declared external http
 * host) is routed in the mesh, as an Istio sidecar routes HTTP by Host whatever the
 * address; everything else (TLS, HTTP/2, other hosts, other protocols) passes through
 * unchanged.
 */
function routeDetected(
  first: Buffer,
  live: LiveConfig,
  pass: (first: Buffer | undefined) => void,
  serveHttp: (first: Buffer) => void,
): void {
  if (detectProtocol(first) === 'http1') {
    const host = requestHost(first);
    if (host !== undefined && live.outboundView.table?.hasVirtualHost(host)) {
      serveHttp(first);
      return;
    }
  }
  pass(first.length > 0 ? first : undefined);
}
