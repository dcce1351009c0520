/**
 * gRPC through two sidecars: client -> sidecar A (outbound) -> sidecar B (inbound) -> app.
 * Unary, server-streaming and bidirectional calls; status codes and trailers intact.
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { Sidecar } from '../../src/proxy/index.js';
import { mesh, service } from '../support/mesh.js';

const id = (b: Buffer) => b;
const method = (name: string, requestStream: boolean, responseStream: boolean) => ({
  path: `/ferry.test.Streams/${name}`,
  requestStream,
  responseStream,
  requestSerialize: id,
  requestDeserialize: id,
  responseSerialize: id,
  responseDeserialize: id,
});
const definition: grpc.ServiceDefinition = {
  Unary: method('Unary', false, false),
  ServerStream: method('ServerStream', false, true),
  Bidi: method('Bidi', true, true),
};
const Client = grpc.makeGenericClientConstructor(definition, 'Streams');

interface StreamsClient extends grpc.Client {
  Unary(
    req: Buffer,
    md: grpc.Metadata,
    cb: (err: grpc.ServiceError | null, res?: Buffer) => void,
  ): grpc.ClientUnaryCall;
  ServerStream(req: Buffer): grpc.ClientReadableStream<Buffer>;
  Bidi(): grpc.ClientDuplexStream<Buffer, Buffer>;
}

function startApp(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(definition, {
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      const text = call.request.toString();
      if (text === 'missing') {
        const md = new grpc.Metadata();
        md.set('x-detail', 'no such thing');
        cb({ code: grpc.status.NOT_FOUND, details: 'not here', metadata: md });
        return;
      }
      const trailer = new grpc.Metadata();
      trailer.set('x-trailer', 'kept');
      cb(null, Buffer.from(`echo:${text}`), trailer);
    },
    ServerStream: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      const n = Number(call.request.toString());
      for (let i = 0; i < n; i++) call.write(Buffer.from(`item-${i}`));
      call.end();
    },
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (d: Buffer) => call.write(Buffer.from(`re:${d}`)));
      call.on('end', () => {
        const md = new grpc.Metadata();
        md.set('x-count', 'done');
        call.sendMetadata(new grpc.Metadata());
        call.end(md);
      });
    },
  });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve({ server, port }),
    ),
  );
}

describe('gRPC through two sidecars', function () {
  this.timeout(20_000);
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  let app: { server: grpc.Server; port: number };
  let client: StreamsClient;

  before(async () => {
    app = await startApp();
    cp = await ControlPlane.start({
      config: mesh(service('echo', 50051, 'grpc', [])),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      log: silentLogger(),
    });
    const common = {
      xds: `127.0.0.1:${cp.xdsPort}`,
      inboundPort: 0,
      outboundPort: 0,
      adminPort: 0,
      metricsPort: 0,
      readyPort: 0,
      log: silentLogger(),
    };
    b = await Sidecar.start({ ...common, service: 'echo', appPort: app.port });
    a = await Sidecar.start({ ...common, service: 'caller' });
    await Promise.all([a.waitReady(5000), b.waitReady(5000)]);
    // Wait until A knows B as an endpoint of echo.
    for (let i = 0; i < 200; i++) {
      const c = a.config?.clusters.get('outbound|50051||echo.default.svc.cluster.local');
      if (c && c.hostSet.hosts.length > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    client = new Client(`127.0.0.1:${a.ports.outbound}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'echo:50051',
    }) as unknown as StreamsClient;
  });

  after(async () => {
    client?.close();
    await a?.stop(200);
    await b?.stop(200);
    await cp?.close();
    app?.server.forceShutdown();
  });

  it('unary: reply and trailers intact', async () => {
    const trailers = await new Promise<{ reply: string; trailer: unknown }>((resolve, reject) => {
      let reply = '';
      const call = client.Unary(Buffer.from('hi'), new grpc.Metadata(), (err, res) => {
        if (err) reject(err);
        reply = res?.toString() ?? '';
      });
      call.on('status', (s: grpc.StatusObject) =>
        resolve({ reply, trailer: s.metadata.get('x-trailer')[0] }),
      );
    });
    assert.deepEqual(trailers, { reply: 'echo:hi', trailer: 'kept' });
    // Both sidecars carried it.
    const out = a.config?.clusters.get('outbound|50051||echo.default.svc.cluster.local');
    assert.ok((out?.hostSet.hosts[0].rqTotal ?? 0) >= 1);
    assert.ok(
      [...(b.config?.clusters.values() ?? [])].some(
        (c) => c.name.startsWith('inbound|') && c.hostSet.hosts[0].rqTotal >= 1,
      ),
    );
  });

  it('unary: an error status, its message and metadata arrive as sent', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.Unary(Buffer.from('missing'), new grpc.Metadata(), (e) =>
        resolve(e as grpc.ServiceError),
      ),
    );
    assert.equal(err.code, grpc.status.NOT_FOUND);
    assert.equal(err.details, 'not here');
    assert.equal(err.metadata.get('x-detail')[0], 'no such thing');
  });

  it('server streaming: every message in order', async () => {
    const items: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const call = client.ServerStream(Buffer.from('50'));
      call.on('data', (d: Buffer) => items.push(d.toString()));
      call.on('error', reject);
      call.on('end', () => resolve());
    });
    assert.equal(items.length, 50);
    assert.equal(items[49], 'item-49');
  });

  it('bidirectional streaming: replies interleave with requests, trailers at the end', async () => {
    const call = client.Bidi();
    const replies: string[] = [];
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    // Send one message at a time and wait for its reply: proves both directions stream.
    for (let i = 0; i < 5; i++) {
      const got = new Promise<string>((resolve) =>
        call.once('data', (d: Buffer) => resolve(d.toString())),
      );
      call.write(Buffer.from(`m${i}`));
      replies.push(await got);
    }
    call.end();
    const s = await status;
    assert.deepEqual(replies, ['re:m0', 're:m1', 're:m2', 're:m3', 're:m4']);
    assert.equal(s.code, grpc.status.OK);
    assert.equal(s.metadata.get('x-count')[0], 'done');
  });
});
