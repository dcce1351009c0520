/** The control plane's gRPC servers (xDS, identity): their options, binding and shutdown. */
import type * as grpc from '@grpc/grpc-js';
import { assertPortFree, portError } from './port-probe.js';

export const GRPC_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': 16 * 1024 * 1024,
  'grpc.keepalive_time_ms': 30_000,
};

/** Binds `server` at `host:port` (0 picks a port); resolves with the port bound. */
export async function bindGrpc(
  server: grpc.Server,
  what: string,
  host: string,
  port: number,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  if (port !== 0) await assertPortFree(what, host, port);
  return new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${port}`, credentials, (err, bound) =>
      err ? reject(portError(what, host, port, err)) : resolve(bound),
    );
  });
}

/** Closes a gRPC server: gracefully, then by force after a second. */
export function shutdownGrpc(server: grpc.Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.tryShutdown(() => resolve());
    setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, 1000).unref();
  });
}
