/**
 * A tiny gRPC echo service without a proto: one unary method whose request and reply are
 * raw bytes. Backends answer with their own name, so a test sees who served a call.
 */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

export const echoServiceDefinition: grpc.ServiceDefinition = {
  Call: {
    path: '/ferry.test.Echo/Call',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

export const EchoClient = grpc.makeGenericClientConstructor(echoServiceDefinition, 'Echo');

export interface EchoBackend {
  readonly name: string;
  readonly port: number;
  calls: number;
  close(): Promise<void>;
}

export async function startEchoBackend(name: string): Promise<EchoBackend> {
  const server = new grpc.Server();
  const backend = {
    name,
    port: 0,
    calls: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.forceShutdown();
        resolve();
      }),
  };
  server.addService(echoServiceDefinition, {
    Call: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      backend.calls++;
      cb(null, Buffer.from(name));
    },
  });
  backend.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  return backend;
}
