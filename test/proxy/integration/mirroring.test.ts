/**
 * Request mirroring from the mesh file, over real sockets: a client sidecar whose routes to
 * `api` mirror to a `shadow` service (100% and 50%) and to a `hanging` one that never answers.
 * The shadow upstream sees each copy with `-shadow` appended to its host and the same body (gRPC
 * calls too, over HTTP/2, with their payloads); the client's responses are the primary's,
 * unchanged; a body over the buffer limit is not copied;
 * a request a fault aborts is not copied; a shadow left unanswered ends at the route timeout;
 * a mirror that hangs neither holds back the primary requests nor gathers more than the cap of
 * shadows in flight (the rest are dropped and counted); and a stopping sidecar ends its shadows.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { parseMesh } from '../../../src/mesh/index.js';
import { DEFAULT_MAX_SHADOWS } from '../../../src/proxy/http/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { EchoClient, echoServiceDefinition } from '../../support/echo-grpc.js';
import { inParallel, send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 12);

/** An upstream that reads each body whole, keeps its digest by path, and answers with its size. */
async function bodyUpstream(name: string, digests: Map<string, string>): Promise<HttpUpstream> {
  return startHttpUpstream(name, (seen, req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      digests.set(seen.url, `${body.length}:${sha(body)}`);
      res.end(`${name} ${body.length}`);
    });
    return true;
  });
}

/** POSTs `body` to the sidecar, in `parts` writes (more than one: a chunked, streamed body). */
function post(port: number, path: string, body: Buffer, parts: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'POST', path, headers: { host: 'api:8080' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(`${res.statusCode} ${Buffer.concat(chunks)}`));
      },
    );
    req.on('error', reject);
    if (parts === 1) {
      req.end(body);
      return;
    }
    const size = Math.ceil(body.length / parts);
    let offset = 0;
    const next = () => {
      const chunk = body.subarray(offset, offset + size);
      offset += size;
      if (offset >= body.length) req.end(chunk);
      else req.write(chunk, () => setImmediate(next));
    };
    next();
  });
}

/** A gRPC echo app that answers with its name and records each call's :authority and payload. */
async function grpcApp(
  name: string,
  authorities: string[],
): Promise<{ port: number; close(): void }> {
  const server = new grpc.Server();
  server.addService(echoServiceDefinition, {
    Call: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      authorities.push(`${call.getHost()} ${call.request.toString()}`);
      cb(null, Buffer.from(`${name}:${call.request.toString()}`));
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { port, close: () => server.forceShutdown() };
}

function meshFile(
  api: number,
  shadow: number,
  hanging: number,
  echo: number,
  echoShadow: number,
): string {
  return [
    'services:',
    '  - name: api',
    '    ports: [{ port: 8080, protocol: http }]',
    `    endpoints: [{ address: 127.0.0.1, port: ${api} }]`,
    '    routes:',
    '      - name: full',
    '        match: [{ path: { prefix: /full } }]',
    '        mirror: { service: shadow }',
    '      - name: half',
    '        match: [{ path: { prefix: /half } }]',
    '        mirror: { service: shadow, percentage: 50 }',
    '      - name: hang',
    '        match: [{ path: { prefix: /hang } }]',
    '        mirror: { service: hanging }',
    '        timeout: 1h',
    '      - name: brief',
    '        match: [{ path: { prefix: /brief } }]',
    '        mirror: { service: hanging }',
    '        timeout: 300ms',
    '      - name: faulty',
    '        match: [{ path: { prefix: /faulty } }]',
    '        mirror: { service: shadow }',
    '        fault: { abort: { httpStatus: 503, percentage: 100 } }',
    '  - name: shadow',
    '    ports: [{ port: 8080, protocol: http }]',
    `    endpoints: [{ address: 127.0.0.1, port: ${shadow} }]`,
    '  - name: hanging',
    '    ports: [{ port: 8080, protocol: http }]',
    `    endpoints: [{ address: 127.0.0.1, port: ${hanging} }]`,
    '  - name: echo',
    '    ports: [{ port: 50051, protocol: grpc }]',
    `    endpoints: [{ address: 127.0.0.1, port: ${echo} }]`,
    '    routes:',
    '      - name: all',
    '        mirror: { service: echo-next }',
    '  - name: echo-next',
    '    ports: [{ port: 50051, protocol: grpc }]',
    `    endpoints: [{ address: 127.0.0.1, port: ${echoShadow} }]`,
    '',
  ].join('\n');
}

describe('integration: request mirroring', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let client: Sidecar;
  let api: HttpUpstream;
  let shadow: HttpUpstream;
  let hanging: HttpUpstream;
  const apiBodies = new Map<string, string>();
  const shadowBodies = new Map<string, string>();
  const echoAuthorities: string[] = [];
  const nextAuthorities: string[] = [];
  let echo: { port: number; close(): void };
  let echoNext: { port: number; close(): void };

  before(async () => {
    api = await bodyUpstream('api-app', apiBodies);
    shadow = await bodyUpstream('shadow-app', shadowBodies);
    // Reads the request, never answers.
    hanging = await startHttpUpstream('hanging-app', () => true);
    echo = await grpcApp('echo', echoAuthorities);
    echoNext = await grpcApp('echo-next', nextAuthorities);
    const parsed = parseMesh(
      meshFile(api.port, shadow.port, hanging.port, echo.port, echoNext.port),
      'mesh.yaml',
    );
    assert.ok(parsed.ok, parsed.ok ? '' : JSON.stringify(parsed.errors));
    cp = await startControlPlane(parsed.config);
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    for (const name of ['api', 'shadow', 'hanging']) {
      await waitForHosts(client, clusterName(name, 8080), 1);
    }
    for (const name of ['echo', 'echo-next']) {
      await waitForHosts(client, clusterName(name, 50051), 1);
    }
  });

  after(async () => {
    await client?.stop(0);
    await cp?.close();
    await Promise.all([api?.close(), shadow?.close(), hanging?.close()]);
    echo?.close();
    echoNext?.close();
  });

  const shadowsOf = (prefix: string) => shadow.seen.filter((s) => s.url.startsWith(prefix));

  it('100%: every request is copied to the mirror with a -shadow host; responses are the primary ones', async () => {
    const replies = await inParallel(50, 5, (i) =>
      send(client.ports.outbound, { host: 'api:8080', path: `/full/${i}` }),
    );
    await waitFor('50 shadows at the mirror', () => shadowsOf('/full/').length === 50);
    const copies = shadowsOf('/full/');
    console.log(
      `      primary: ${replies.filter((r) => r.status === 200 && r.body === 'api-app 0').length}/50 answered by api-app; mirror saw ${copies.length}, hosts ${[...new Set(copies.map((c) => c.host))].join(', ')}`,
    );
    for (const r of replies) {
      assert.equal(r.status, 200);
      assert.equal(r.body, 'api-app 0', 'the client gets the primary response');
    }
    assert.deepEqual(copies.map((c) => c.url).sort(), replies.map((_, i) => `/full/${i}`).sort());
    assert.ok(copies.every((c) => c.host === 'api-shadow:8080'));
    assert.ok(
      api.seen.filter((s) => s.url.startsWith('/full/')).every((s) => s.host === 'api:8080'),
      'the primary keeps its host',
    );
  });

  it('copies bodies that arrive whole or stream within the limit, not one over it', async () => {
    const small = Buffer.from('a small body');
    const streamed = Buffer.alloc(256 * 1024, 7);
    const large = Buffer.alloc(2 * 1024 * 1024 + 5, 9);
    const tooLargeBefore = client.stats.shadowsBodyTooLarge;
    const replies = [
      await post(client.ports.outbound, '/full/body-small', small, 1),
      await post(client.ports.outbound, '/full/body-streamed', streamed, 8),
      await post(client.ports.outbound, '/full/body-large', large, 16),
    ];
    console.log(`      primary replies: ${replies.join(' | ')}`);
    assert.deepEqual(replies, [
      `200 api-app ${small.length}`,
      `200 api-app ${streamed.length}`,
      `200 api-app ${large.length}`,
    ]);
    await waitFor('the two bodies within the limit at the mirror', () =>
      ['/full/body-small', '/full/body-streamed'].every((p) => shadowBodies.has(p)),
    );
    await waitFor(
      'the large body counted as too large',
      () => client.stats.shadowsBodyTooLarge === tooLargeBefore + 1,
    );
    for (const p of ['/full/body-small', '/full/body-streamed']) {
      assert.equal(shadowBodies.get(p), apiBodies.get(p), `${p}: the mirror got the same body`);
    }
    console.log(
      `      mirror bodies: small ${shadowBodies.get('/full/body-small')}, streamed ${shadowBodies.get('/full/body-streamed')}; large: not copied (body_too_large ${client.stats.shadowsBodyTooLarge})`,
    );
    assert.equal(shadowBodies.has('/full/body-large'), false);
  });

  it('50%: about half of the requests are copied', async () => {
    const total = 400;
    const replies = await inParallel(total, 8, (i) =>
      send(client.ports.outbound, { host: 'api:8080', path: `/half/${i}` }),
    );
    assert.ok(replies.every((r) => r.status === 200 && r.body === 'api-app 0'));
    await waitFor('no shadow in flight', () => client.stats.shadowsActive === 0);
    const copied = shadowsOf('/half/').length;
    console.log(
      `      ${total} requests, ${copied} copied (${((100 * copied) / total).toFixed(1)}%)`,
    );
    // Binomial(400, 0.5): the standard deviation is 10 requests; this allows 6 of them.
    assert.ok(copied >= 140 && copied <= 260, `${copied} of ${total}`);
  });

  it('copies no request that a fault aborts (the copy goes where the request goes)', async () => {
    const before = client.stats.shadows;
    const r = await send(client.ports.outbound, { host: 'api:8080', path: '/faulty' });
    assert.equal(r.status, 503);
    assert.equal(r.flags, 'FI');
    assert.equal(client.stats.shadows, before, 'no shadow was sent');
  });

  it('gRPC: each call is copied to the mirror over HTTP/2 with a -shadow authority; replies are the primary ones', async () => {
    const grpcClient = new EchoClient(
      `127.0.0.1:${client.ports.outbound}`,
      grpc.credentials.createInsecure(),
      { 'grpc.default_authority': 'echo:50051' },
    );
    const call = (i: number) =>
      new Promise<string>((resolve, reject) =>
        grpcClient.Call(Buffer.from(String(i)), (err: Error | null, reply?: Buffer) =>
          err ? reject(err) : resolve(String(reply)),
        ),
      );
    const replies: string[] = [];
    for (let i = 0; i < 10; i++) replies.push(await call(i));
    grpcClient.close();
    await waitFor('10 calls at the mirror', () => nextAuthorities.length === 10);
    console.log(
      `      replies ${replies.slice(0, 3).join(', ')}...; primary saw ${echoAuthorities.length} (${echoAuthorities[0]}), mirror ${nextAuthorities.length} (${nextAuthorities[0]})`,
    );
    assert.deepEqual(
      replies,
      Array.from({ length: 10 }, (_, i) => `echo:${i}`),
    );
    const calls = (host: string) => Array.from({ length: 10 }, (_, i) => `${host} ${i}`);
    assert.deepEqual(echoAuthorities, calls('echo:50051'));
    assert.deepEqual(
      [...nextAuthorities].sort(),
      calls('echo-shadow:50051').sort(),
      'same payloads',
    );
  });

  it('a shadow the mirror never answers ends at the route timeout, freeing its slot', async () => {
    const failedBefore = client.stats.shadowsFailed;
    const abortedBefore = hanging.aborted;
    const replies = await inParallel(5, 5, (i) =>
      send(client.ports.outbound, { host: 'api:8080', path: `/brief/${i}` }),
    );
    assert.ok(replies.every((r) => r.status === 200 && r.body === 'api-app 0'));
    await waitFor('the 5 shadows to time out', () => client.stats.shadowsActive === 0);
    await waitFor(
      'the mirror to see 5 requests cut short',
      () => hanging.aborted === abortedBefore + 5,
    );
    console.log(
      `      5 primaries answered at once; 5 shadows timed out after the route's 300ms (failed ${client.stats.shadowsFailed - failedBefore}, in flight ${client.stats.shadowsActive})`,
    );
    assert.equal(client.stats.shadowsFailed - failedBefore, 5);
  });

  it('a hanging mirror holds back no primary request, and its shadows stay capped', async () => {
    const total = 3 * DEFAULT_MAX_SHADOWS;
    const droppedBefore = client.stats.shadowsDropped;
    const replies = await inParallel(total, 8, (i) =>
      send(client.ports.outbound, { host: 'api:8080', path: `/hang/${i}` }),
    );
    const completed = replies.filter((r) => r.status === 200 && r.body === 'api-app 0').length;
    await waitFor(
      `the hanging mirror to hold ${DEFAULT_MAX_SHADOWS} shadows`,
      () => hanging.inFlight === DEFAULT_MAX_SHADOWS,
    );
    const dropped = client.stats.shadowsDropped - droppedBefore;
    console.log(
      `      ${completed}/${total} primary requests completed; hanging mirror holds ${hanging.inFlight} (cap ${DEFAULT_MAX_SHADOWS}), ${dropped} shadows dropped, ${client.stats.shadowsActive} in flight`,
    );
    assert.equal(completed, total, 'every primary request completed, answered by api-app');
    assert.equal(client.stats.shadowsActive, DEFAULT_MAX_SHADOWS);
    assert.equal(dropped, total - DEFAULT_MAX_SHADOWS);
    assert.ok(hanging.seen.every((s) => s.host === 'api-shadow:8080'));
    const metrics = await (
      await fetch(`http://127.0.0.1:${client.ports.metrics}/stats/prometheus`)
    ).text();
    const s = client.stats;
    for (const [result, value] of [
      ['sent', s.shadows],
      ['dropped', s.shadowsDropped],
      ['failed', s.shadowsFailed],
      ['body_too_large', s.shadowsBodyTooLarge],
    ] as const) {
      assert.match(
        metrics,
        new RegExp(`^ferry_proxy_mirror_requests_total\\{result="${result}"\\} ${value}$`, 'm'),
      );
    }
  });

  it('a stopping sidecar ends its shadows at once instead of waiting for them (1h route timeout)', async () => {
    const failedBefore = client.stats.shadowsFailed;
    await client.stop(0);
    await waitFor('the hanging mirror to see its shadows cut', () => hanging.inFlight === 0);
    console.log(
      `      stopped: ${client.stats.shadowsFailed - failedBefore} shadows ended, ${client.stats.shadowsActive} in flight`,
    );
    assert.equal(client.stats.shadowsFailed - failedBefore, DEFAULT_MAX_SHADOWS);
    assert.equal(client.stats.shadowsActive, 0);
  });
});
