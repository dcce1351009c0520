/**
 * gRPC through two sidecars, every hop a real socket: a grpc-js client sends to sidecar A's
 * outbound port with :authority `echo:50051`; A balances over the endpoints of `echo`, which
 * are auto-registered sidecars (sidecar B announced itself with its app port, so the control
 * plane made B's inbound port an endpoint of echo); B's inbound listener forwards to the
 * gRPC app. Payloads, initial metadata, status codes, details and trailers must arrive as
 * the app sent them, for every call shape.
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import {
  type StreamsApp,
  type StreamsClient,
  StreamsClientConstructor,
  startStreamsApp,
} from '../../support/streams-grpc.js';

const ECHO = clusterName('echo', 50051);

/** Requests a sidecar's clusters have carried: outbound ones, or the inbound one. */
function carried(sidecar: Sidecar, direction: 'outbound' | 'inbound'): number {
  let n = 0;
  for (const c of sidecar.config?.clusters.values() ?? [])
    if (c.name.startsWith(`${direction}|`)) for (const h of c.hostSet.hosts) n += h.rqTotal;
  return n;
}

function unary(
  client: StreamsClient,
  text: string,
): Promise<{
  err: grpc.ServiceError | null;
  reply?: string;
  status: grpc.StatusObject;
  headers?: grpc.Metadata;
}> {
  return new Promise((resolve) => {
    let headers: grpc.Metadata | undefined;
    let outcome: { err: grpc.ServiceError | null; reply?: string } | undefined;
    let status: grpc.StatusObject | undefined;
    const done = () => {
      if (outcome && status) resolve({ ...outcome, status, headers });
    };
    const call = client.Unary(Buffer.from(text), new grpc.Metadata(), (err, res) => {
      outcome = { err, reply: res?.toString() };
      done();
    });
    call.on('metadata', (md: grpc.Metadata) => (headers = md));
    call.on('status', (s: grpc.StatusObject) => {
      status = s;
      done();
    });
  });
}

describe('integration: gRPC through two sidecars (client -> A outbound -> B inbound -> app)', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  let app: StreamsApp;
  let client: StreamsClient;

  before(async () => {
    app = await startStreamsApp('app-b');
    cp = await startControlPlane(mesh(service('echo', 50051, 'grpc', [])));
    b = await startSidecar(cp.xdsPort, { service: 'echo', appPort: app.port });
    a = await startSidecar(cp.xdsPort, { service: 'caller' });
    // A learns of B only through auto-registration: echo has no endpoints in the mesh file.
    await waitForHosts(a, ECHO, 1);
    assert.deepEqual(
      a.config?.clusters.get(ECHO)?.hostSet.hosts.map((h) => h.key),
      [`127.0.0.1:${b.ports.inbound}`],
    );
    client = new StreamsClientConstructor(
      `127.0.0.1:${a.ports.outbound}`,
      grpc.credentials.createInsecure(),
      { 'grpc.default_authority': 'echo:50051' },
    );
  });

  after(async () => {
    client?.close();
    await a?.stop(100);
    await b?.stop(100);
    await cp?.close();
    app?.close();
  });

  it('unary: reply, initial metadata and trailers intact; both sidecars carried it', async () => {
    const [outBefore, inBefore] = [carried(a, 'outbound'), carried(b, 'inbound')];
    const r = await unary(client, 'hello');
    console.log(
      `      reply "${r.reply}", status ${r.status.code}, x-app ${r.headers?.get('x-app')}, trailer x-served-by ${r.status.metadata.get('x-served-by')}; A carried ${carried(a, 'outbound') - outBefore}, B carried ${carried(b, 'inbound') - inBefore}`,
    );
    assert.equal(r.err, null);
    assert.equal(r.reply, 'app-b:hello');
    assert.equal(r.status.code, grpc.status.OK);
    assert.deepEqual(r.headers?.get('x-app'), ['app-b']);
    assert.deepEqual(r.status.metadata.get('x-served-by'), ['app-b']);
    assert.equal(carried(a, 'outbound') - outBefore, 1, 'A sent it out once');
    assert.equal(carried(b, 'inbound') - inBefore, 1, 'B delivered it to the app once');
  });

  it('unary error: NOT_FOUND (trailers-only) with its details and trailer metadata, answered once', async () => {
    const before = app.calls.Unary;
    const r = await unary(client, 'fail:NOT_FOUND');
    console.log(
      `      code ${r.err?.code} "${r.err?.details}", trailer x-reason ${r.err?.metadata.get('x-reason')}; app calls ${app.calls.Unary - before}`,
    );
    assert.equal(r.err?.code, grpc.status.NOT_FOUND);
    assert.equal(
      r.err?.details,
      'asked to fail: 100% sure / ünïcode',
      'percent-encoded details pass both hops as sent',
    );
    assert.deepEqual(r.err?.metadata.get('x-reason'), ['on purpose']);
    // A trailers-only error is not retried or answered twice.
    assert.equal(app.calls.Unary - before, 1);
    for (const code of ['PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE'] as const) {
      const e = await unary(client, `fail:${code}`);
      assert.equal(e.err?.code, grpc.status[code], code);
    }
  });

  it('server streaming: 500 messages in order, then the status and trailers', async () => {
    const items: string[] = [];
    let headers: grpc.Metadata | undefined;
    const status = await new Promise<grpc.StatusObject>((resolve, reject) => {
      const call = client.ServerStream(Buffer.from('500'));
      call.on('metadata', (md: grpc.Metadata) => (headers = md));
      call.on('data', (d: Buffer) => items.push(d.toString()));
      call.on('error', reject);
      call.on('status', resolve);
    });
    console.log(
      `      ${items.length} messages, status ${status.code}, trailer x-items ${status.metadata.get('x-items')}`,
    );
    assert.deepEqual(
      items,
      Array.from({ length: 500 }, (_, i) => `item-${i}`),
    );
    assert.equal(status.code, grpc.status.OK);
    assert.deepEqual(headers?.get('x-app'), ['app-b']);
    assert.deepEqual(status.metadata.get('x-items'), ['500']);
  });

  it('server streaming that fails midway: the messages sent, then ABORTED with its trailer', async () => {
    const items: string[] = [];
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const call = client.ServerStream(Buffer.from('3:ABORTED'));
      call.on('data', (d: Buffer) => items.push(d.toString()));
      call.on('error', (e: grpc.ServiceError) => resolve(e));
    });
    console.log(`      ${items.length} messages, then code ${err.code} "${err.details}"`);
    assert.deepEqual(items, ['item-0', 'item-1', 'item-2']);
    assert.equal(err.code, grpc.status.ABORTED);
    assert.equal(err.details, 'stopped after 3');
    assert.deepEqual(err.metadata.get('x-items'), ['3']);
  });

  it('client streaming: 20 messages in, one reply out', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const call = client.ClientStream(new grpc.Metadata(), (err, res) =>
        err ? reject(err) : resolve(res?.toString() ?? ''),
      );
      for (let i = 0; i < 20; i++) call.write(Buffer.from(String(i)));
      call.end();
    });
    console.log(`      reply "${reply}"`);
    assert.equal(reply, `app-b:${Array.from({ length: 20 }, (_, i) => i).join('+')}`);
  });

  it('bidirectional streaming: each reply arrives before the next message is sent; trailers at the end', async () => {
    const call = client.Bidi();
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    const replies: string[] = [];
    // Lock-step: a proxy that buffered either direction until the end would stall here.
    for (let i = 0; i < 10; i++) {
      const next = new Promise<string>((resolve) =>
        call.once('data', (d: Buffer) => resolve(d.toString())),
      );
      call.write(Buffer.from(`m${i}`));
      replies.push(await next);
    }
    call.end();
    const s = await status;
    console.log(
      `      ${replies.length} round trips, status ${s.code}, trailer x-received ${s.metadata.get('x-received')}`,
    );
    assert.deepEqual(
      replies,
      Array.from({ length: 10 }, (_, i) => `re:m${i}`),
    );
    assert.equal(s.code, grpc.status.OK);
    assert.deepEqual(s.metadata.get('x-received'), ['10']);
  });

  it('a 2 MiB message each way and 200 concurrent calls on one channel', async () => {
    const big = 'x'.repeat(2 * 1024 * 1024);
    const r = await unary(client, big);
    assert.equal(r.err, null);
    assert.equal(r.reply?.length, big.length + 'app-b:'.length);
    const all = await Promise.all(Array.from({ length: 200 }, (_, i) => unary(client, `c${i}`)));
    const ok = all.filter((x, i) => x.err === null && x.reply === `app-b:c${i}`).length;
    console.log(`      2 MiB echoed intact; ${ok}/200 concurrent calls answered correctly`);
    assert.equal(ok, 200);
  });

  // Regression: the sidecar percent-encoded grpc-message with encodeURIComponent, so grpc-js
  // (which decodes with decodeURI, as the gRPC spec allows) showed
  // "no route for nowhere%3A50051%2Fferry.test.Streams%2FUnary".
  it('a call to a service the mesh does not know: UNIMPLEMENTED with flag NR and a readable grpc-message', async () => {
    const stray = new StreamsClientConstructor(
      `127.0.0.1:${a.ports.outbound}`,
      grpc.credentials.createInsecure(),
      { 'grpc.default_authority': 'nowhere:50051' },
    );
    try {
      const noRouteBefore = a.stats.noRoute;
      const r = await unary(stray, 'hello');
      console.log(
        `      code ${r.err?.code} "${r.err?.details}", flags ${r.status.metadata.get('x-ferry-response-flags')}`,
      );
      assert.equal(r.err?.code, grpc.status.UNIMPLEMENTED);
      assert.equal(r.err?.details, 'no route for nowhere:50051/ferry.test.Streams/Unary');
      assert.deepEqual(r.status.metadata.get('x-ferry-response-flags'), ['NR']);
      assert.equal(a.stats.noRoute - noRouteBefore, 1);
    } finally {
      stray.close();
    }
  });
});
