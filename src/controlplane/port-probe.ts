/**
 * Ports checked before a server binds them: grpc-js reports a busy port vaguely (and logs
 * it itself), so the OS is asked first, and every failure to listen becomes one
 * ControlPlaneError naming the port and what it is for.
 */
import net from 'node:net';
import { ControlPlaneError } from './control-plane-error.js';

/** FERRY_PORT_IN_USE for a busy port, else FERRY_LISTEN_FAILED with the reason. */
export function portError(what: string, host: string, port: number, err: Error): ControlPlaneError {
  const inUse = /EADDRINUSE|address already in use|No address added/i.test(err.message);
  return new ControlPlaneError(
    inUse ? 'FERRY_PORT_IN_USE' : 'FERRY_LISTEN_FAILED',
    inUse
      ? `${what} port ${host}:${port} is already in use`
      : `cannot listen on ${what} port ${host}:${port}: ${err.message}`,
  );
}

/** Resolves when `host:port` can be listened on now; rejects with portError otherwise. */
export function assertPortFree(what: string, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err) => reject(portError(what, host, port, err)));
    probe.listen(port, host, () => probe.close(() => resolve()));
  });
}
