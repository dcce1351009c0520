/**
 * A gRPC server with grpc.health.v1.Health/Check, for the probe tests: each service name
 * answers the status a test sets (the server itself, '', is SERVING), an unknown one
 * NOT_FOUND, as the reference health service does. The messages are encoded by hand with
 * protobufjs' wire reader and writer (no installed package ships health.proto).
 */
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
} from '@grpc/grpc-js';
import protobuf from 'protobufjs';

export const SERVING_STATUS = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2 } as const;

/** An object, not the bare string: grpc-js takes a falsy request ('') for a missing one. */
function decodeService(bytes: Buffer): { service: string } {
  const r = protobuf.Reader.create(bytes);
  let service = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === 1 && (tag & 7) === 2) service = r.string();
    else r.skipType(tag & 7);
  }
  return { service };
}

function encodeStatus(s: number): Buffer {
  return Buffer.from(protobuf.Writer.create().uint32(8).int32(s).finish());
}

export interface HealthServer {
  readonly port: number;
  /** Sets the status a service name answers with. */
  set(service: string, s: number): void;
  close(): Promise<void>;
}

export async function startHealthServer(host = '127.0.0.1', port = 0): Promise<HealthServer> {
  const statuses = new Map<string, number>([['', SERVING_STATUS.SERVING]]);
  const server = new Server();
  server.register(
    '/grpc.health.v1.Health/Check',
    (call: ServerUnaryCall<{ service: string }, number>, callback: sendUnaryData<number>) => {
      const s = statuses.get(call.request.service);
      if (s === undefined) callback({ code: status.NOT_FOUND, details: 'unknown service' });
      else callback(null, s);
    },
    encodeStatus,
    decodeService,
    'unary',
  );
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port: bound,
    set: (service, s) => statuses.set(service, s),
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}
