/**
 * Which port of the app an inbound connection is for. Capture sends every port of the pod
 * to the one inbound listener; the port the client asked for is read once, as the
 * connection is accepted (SO_ORIGINAL_DST), and kept on the socket. A connection for
 * another port than the configuration's app port is served by that port's target
 * (runtime/inbound-ports.ts); the rest by the configuration's inbound routes.
 */
import type net from 'node:net';
import type { Logger } from '../../log/index.js';
import type { ProxyStats, RouteView } from '../http/index.js';
import { rawSocket, requestRawSocket } from '../listener/index.js';
import {
  type InboundDestination,
  type InboundPortTarget,
  inboundDestination,
} from '../runtime/index.js';
import type { LiveConfig } from './live-config.js';
import { recoverDestination } from './original-destination.js';

/** On an inbound TCP socket: where it was sent, when not to the default app port. */
const INBOUND_DESTINATION = Symbol('ferry.inbound.destination');
type DestinationTagged = { [INBOUND_DESTINATION]?: InboundDestination };

type Request = Parameters<typeof requestRawSocket>[0];

export class InboundRouting {
  private warned = false;

  constructor(
    private readonly live: LiveConfig,
    /** The inbound listener's own port (a connection sent there was not captured). */
    private readonly listenerPort: () => number,
    private readonly stats: ProxyStats,
    private readonly log: Logger,
  ) {}

  /**
   * The inbound listener's `accept` hook, before a byte is read: a port the configuration
   * does not describe (no configuration yet, or none for inbound: a sidecar started
   * without `--app-port`) serves nothing, so the connection is closed at once, before any
   * TLS handshake (as Envoy has no listener there); a STRICT mesh's port never completes a
   * handshake with a client without a certificate. Returns true when it took (closed) it.
   */
  accept(socket: net.Socket): boolean {
    if (this.live.inboundPolicy === undefined) {
      this.stats.inboundUnconfigured++;
      if (!this.warned && this.live.runtime !== undefined) {
        this.warned = true;
        this.log.warn(
          { port: this.listenerPort() },
          'inbound connection closed: the configuration has no inbound listener for this port (the sidecar was started without --app-port); further ones are only counted (inboundUnconfigured)',
        );
      }
      socket.destroy();
      return true;
    }
    this.tag(socket);
    return false;
  }

  /**
   * Notes where an inbound connection was sent (SO_ORIGINAL_DST), once, as it is accepted,
   * when it is another port of the pod than the configuration's app port.
   */
  tag(socket: net.Socket): void {
    const ports = this.live.inboundPorts;
    if (!recoverDestination || !ports?.active) return;
    const to = recoverDestination(socket);
    if (to && to.port !== this.listenerPort() && to.port !== ports.defaultPort) {
      (socket as DestinationTagged)[INBOUND_DESTINATION] = inboundDestination(to.address, to.port);
    }
  }

  /** Where a connection (any layer of it) sent to another port of the pod goes. */
  target(socket: object): InboundPortTarget | undefined {
    const to = (rawSocket(socket) as DestinationTagged)[INBOUND_DESTINATION];
    return to === undefined ? undefined : this.live.inboundPorts?.target(to);
  }

  /** The inbound routes for a request: its connection's port of the app. */
  viewOf(req: Request): RouteView {
    const socket = requestRawSocket(req);
    const target = socket ? this.target(socket) : undefined;
    if (!target) return this.live.inboundView;
    return (req.stream !== undefined ? target.http2 : target.http1) ?? this.live.inboundView;
  }
}
