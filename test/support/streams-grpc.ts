/**
 * A proto-less gRPC service with every call shape (unary, server streaming, client
 * streaming, bidirectional), raw bytes in and out. The app answers with what a test can
 * check end to end: echoed payloads, an initial metadata header, trailers, and on request
 * an error status with its own trailer metadata.
 */
import * as grpc from '@grpc/grpc-js';

const identity = (b: Buffer) => b;

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/ferry.test.Streams/${name}`,
    requestStream,
    responseStream,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  };
}

export const streamsServiceDefinition: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  ServerStream: method('ServerStream', false, true),
  ClientStream: method('ClientStream', true, false),
  Bidi: method('Bidi', true, true),
};

export interface StreamsClient extends grpc.Client {
  Unary(
    req: Buffer,
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ): grpc.ClientUnaryCall;
  ServerStream(req: Buffer, md?: grpc.Metadata): grpc.ClientReadableStream<Buffer>;
  ClientStream(
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ): grpc.ClientWritableStream<Buffer>;
  Bidi(md?: grpc.Metadata): grpc.ClientDuplexStream<Buffer, Buffer>;
}

export const StreamsClientConstructor = grpc.makeGenericClientConstructor(
  streamsServiceDefinition,
  'Streams',
) as unknown as new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => StreamsClient;

export interface StreamsApp {
  readonly name: string;
  readonly port: number;
  /** Calls the app received, by method name. */
  readonly calls: Record<string, number>;
  close(): void;
}

function codeOf(name: string): grpc.status {
  return grpc.status[name as keyof typeof grpc.status];
}

function trailer(key: string, value: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set(key, value);
  return md;
}

/**
 * Unary: `fail:<CODE>` answers with that status at once (a trailers-only response), details
 * `asked to fail: 100% sure / ünïcode` and trailer `x-reason: on purpose`; anything else echoes `<name>:<text>`
 * with initial metadata `x-app: <name>` and trailer `x-served-by: <name>`.
 * ServerStream: the request is `n` or `n:<CODE>`; sends `item-0..n-1`, then ends with OK
 * (or CODE) and trailer `x-items: n`.
 * ClientStream: answers `<name>:<messages joined by +>`.
 * Bidi: answers each message `re:<message>` as it arrives; at the end, trailer
 * `x-received: <count>`. Streaming calls send initial metadata `x-app: <name>` first.
 */
export async function startStreamsApp(name: string): Promise<StreamsApp> {
  const server = new grpc.Server();
  const calls: Record<string, number> = { Unary: 0, ServerStream: 0, ClientStream: 0, Bidi: 0 };
  const initial = trailer('x-app', name);
  server.addService(streamsServiceDefinition, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      calls.Unary++;
      const text = call.request.toString();
      if (text.startsWith('fail:')) {
        cb({
          code: codeOf(text.slice(5)),
          details: 'asked to fail: 100% sure / ünïcode',
          metadata: trailer('x-reason', 'on purpose'),
        });
        return;
      }
      call.sendMetadata(initial);
      cb(null, Buffer.from(`${name}:${text}`), trailer('x-served-by', name));
    },
    ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      calls.ServerStream++;
      call.sendMetadata(initial);
      const [count, code] = call.request.toString().split(':');
      const n = Number(count);
      for (let i = 0; i < n; i++) call.write(Buffer.from(`item-${i}`));
      if (code) {
        call.emit('error', {
          code: codeOf(code),
          details: `stopped after ${n}`,
          metadata: trailer('x-items', String(n)),
        });
        return;
      }
      call.end(trailer('x-items', String(n)));
    },
    ClientStream: (
      call: grpc.ServerReadableStream<Buffer, Buffer>,
      cb: grpc.sendUnaryData<Buffer>,
    ) => {
      calls.ClientStream++;
      call.sendMetadata(initial);
      const got: string[] = [];
      call.on('data', (d: Buffer) => got.push(d.toString()));
      call.on('end', () => cb(null, Buffer.from(`${name}:${got.join('+')}`)));
    },
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      calls.Bidi++;
      call.sendMetadata(initial);
      let received = 0;
      call.on('data', (d: Buffer) => {
        received++;
        call.write(Buffer.from(`re:${d.toString()}`));
      });
      call.on('end', () => call.end(trailer('x-received', String(received))));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { name, port, calls, close: () => server.forceShutdown() };
}
