/**
 * An HTTPRoute's timeouts, retry and sessionPersistence with real requests: mesh file ->
 * control plane -> `ferry gateway` (a real process) -> real upstreams. After the conformance
 * scenarios HTTPRouteTimeoutRequest (a slow backend is answered 504 once timeouts.request
 * passes), HTTPRouteTimeoutBackendRequest (likewise for one try), HTTPRouteRetry (a backend
 * answering 503 twice then 200 succeeds with attempts 2, and fails with attempts 1) and
 * HTTPRouteSessionPersistenceCookie/Header (a request carrying the session goes to the
 * endpoint that set it; without it the requests spread).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { type Reply, send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { waitFor } from '../../support/wait-for.js';
import { freePort, type GatewayProcess, startGateway, waitReady } from './gateway-harness.js';

function mesh(
  httpPort: number,
  web: readonly number[],
  slow: number,
  flaky: number,
  v2: number,
): string {
  const endpoints = (ports: readonly number[]) =>
    `[${ports.map((p) => `{ address: 127.0.0.1, port: ${p} }`).join(', ')}]`;
  const rule = (path: string, backends: string, extra: string) =>
    [
      `        - matches: [{ path: { type: PathPrefix, value: ${path} } }]`,
      `          backendRefs: [${backends}]`,
      ...(extra ? [`          ${extra}`] : []),
    ].join('\n');
  const one = (name: string) => `{ name: ${name}, port: 8080 }`;
  const rules = [
    rule('/timeout-request', one('slow'), 'timeouts: { request: 500ms }'),
    rule('/timeout-backend', one('slow'), 'timeouts: { request: 10s, backendRequest: 500ms }'),
    rule('/retry-twice', one('flaky'), 'retry: { codes: [503], attempts: 2, backoff: 10ms }'),
    rule('/retry-once', one('flaky'), 'retry: { codes: [503], attempts: 1, backoff: 10ms }'),
    rule('/sticky', one('web'), 'sessionPersistence: { sessionName: sticky }'),
    rule(
      '/sticky-header',
      one('web'),
      'sessionPersistence: { sessionName: x-sticky, type: Header }',
    ),
    rule('/plain', one('web'), ''),
    rule(
      '/split',
      '{ name: web, port: 8080, weight: 50 }, { name: web-v2, port: 8080, weight: 50 }',
      'sessionPersistence: { sessionName: split }',
    ),
  ];
  return `services:
  - name: web
    ports: [{ port: 8080, protocol: http }]
    endpoints: ${endpoints(web)}
  - name: web-v2
    ports: [{ port: 8080, protocol: http }]
    endpoints: ${endpoints([v2])}
  - name: slow
    ports: [{ port: 8080, protocol: http }]
    endpoints: ${endpoints([slow])}
  - name: flaky
    ports: [{ port: 8080, protocol: http }]
    endpoints: ${endpoints([flaky])}
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: edge, namespace: default }
    spec:
      gatewayClassName: ferry
      listeners: [{ name: http, port: ${httpPort}, protocol: HTTP }]
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: policies }
    spec:
      parentRefs: [{ name: edge }]
      rules:
${rules.join('\n')}
`;
}

describe('Gateway API: timeouts, retry and sessionPersistence through ferry gateway', function () {
  this.timeout(90_000);
  let dir: string;
  let cp: ControlPlane;
  let web: HttpUpstream[];
  let v2: HttpUpstream;
  let slow: HttpUpstream;
  let flaky: HttpUpstream;
  let gateway: GatewayProcess;
  let port = 0;
  const flakyCount = new Map<string, number>();

  const get = (path: string, headers: Record<string, string> = {}): Promise<Reply> =>
    send(port, { path, headers, host: 'example.com' });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-gateway-policy-'));
    web = await Promise.all(['web-a', 'web-b', 'web-c'].map((n) => startHttpUpstream(n)));
    v2 = await startHttpUpstream('web-v2');
    // Answers long after every timeout of the routes (the process ends it sooner).
    slow = await startHttpUpstream('slow', (_s, _req, res) => {
      setTimeout(() => res.end('late'), 30_000).unref();
      return true;
    });
    // 503 to the first two requests on each path, then 200.
    flaky = await startHttpUpstream('flaky', (s, _req, res) => {
      const n = (flakyCount.get(s.url) ?? 0) + 1;
      flakyCount.set(s.url, n);
      if (n > 2) return false;
      res.statusCode = 503;
      res.end('not yet');
      return true;
    });
    port = await freePort();
    await writeFile(
      join(dir, 'mesh.yaml'),
      mesh(
        port,
        web.map((w) => w.port),
        slow.port,
        flaky.port,
        v2.port,
      ),
    );
    cp = await ControlPlane.start({
      configPath: join(dir, 'mesh.yaml'),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    gateway = await startGateway({ port: cp.xdsPort }, ['--concurrency', '1'], 'default/edge');
    await waitReady(gateway);
    await waitFor(
      'the routes to reach the upstreams',
      async () => (await get('/plain').catch(() => undefined))?.status === 200,
      20_000,
      50,
    );
  });

  after(async () => {
    gateway?.kill();
    await cp?.close();
    await Promise.all([...(web ?? []), v2, slow, flaky].map((u) => u?.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('timeouts.request: a backend slower than it gets 504 (upstream request timeout)', async () => {
    const r = await get('/timeout-request');
    assert.equal(r.status, 504, `${r.status} ${r.flags} ${r.body}`);
    assert.match(r.flags, /UT/);
    assert.equal(slow.seen.filter((s) => s.url === '/timeout-request').length, 1);
  });

  it('timeouts.backendRequest: one try slower than it gets 504, well inside the request timeout', async () => {
    const r = await get('/timeout-backend');
    assert.equal(r.status, 504, `${r.status} ${r.flags} ${r.body}`);
    assert.equal(slow.seen.filter((s) => s.url === '/timeout-backend').length, 1);
  });

  it('retry attempts 2: a backend answering 503 twice then 200 succeeds on the third try', async () => {
    const r = await get('/retry-twice');
    assert.equal(r.status, 200, `${r.status} ${r.flags} ${r.body}`);
    assert.equal(r.body, 'flaky');
    const tries = flaky.seen.filter((s) => s.url === '/retry-twice');
    assert.deepEqual(
      tries.map((s) => s.attempt),
      ['1', '2', '3'],
    );
  });

  it('retry attempts 1: the same backend’s second 503 reaches the client', async () => {
    const r = await get('/retry-once');
    assert.equal(r.status, 503, `${r.status} ${r.flags} ${r.body}`);
    assert.equal(flaky.seen.filter((s) => s.url === '/retry-once').length, 2);
  });

  it('a cookie session: 20 requests carrying the cookie reach one endpoint of three; without it they spread', async () => {
    const first = await get('/sticky');
    assert.equal(first.status, 200);
    const setCookie = String(first.headers['set-cookie'] ?? '');
    const m = /^sticky="([A-Za-z0-9+/=]+)"; Path=\/sticky; HttpOnly$/.exec(setCookie);
    assert.ok(m, `Set-Cookie: ${setCookie}`);
    // Envoy's value: the endpoint's address in base64, not in the clear.
    const address = Buffer.from(m[1]!, 'base64').toString();
    const owner = web.find((w) => address === `127.0.0.1:${w.port}`);
    assert.ok(owner, `the cookie names ${address}, not an endpoint of web`);
    assert.equal(first.body, owner.name);

    const cookie = `sticky="${m[1]}"`;
    const sticky: Reply[] = [];
    for (let i = 0; i < 20; i++) sticky.push(await get('/sticky', { cookie }));
    assert.deepEqual(tally(sticky.map((r) => r.body)), { [owner.name]: 20 });
    // The session is the one named: nothing to set again.
    assert.ok(sticky.every((r) => r.headers['set-cookie'] === undefined));

    const loose: Reply[] = [];
    for (let i = 0; i < 30; i++) loose.push(await get('/sticky'));
    const spread = tally(loose.map((r) => r.body));
    console.log(
      `      20 with the cookie: ${owner.name} x20; 30 without: ${JSON.stringify(spread)}`,
    );
    assert.ok(Object.keys(spread).length >= 2, JSON.stringify(spread));
  });

  it('a cookie naming no endpoint of the route falls back to the balancer, and is replaced', async () => {
    const stranger = Buffer.from('10.255.0.1:8080').toString('base64');
    const r = await get('/sticky', { cookie: `sticky="${stranger}"` });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['set-cookie']), /^sticky="[A-Za-z0-9+/=]+"; Path=\/sticky/);
    assert.doesNotMatch(
      String(r.headers['set-cookie']),
      new RegExp(stranger.replace(/[+/=]/g, '\\$&')),
    );
  });

  it('a header session: the response names the endpoint, and requests carrying it stay there', async () => {
    const first = await get('/sticky-header');
    const value = String(first.headers['x-sticky'] ?? '');
    assert.match(value, /^[A-Za-z0-9+/=]+$/);
    const replies: Reply[] = [];
    for (let i = 0; i < 20; i++) replies.push(await get('/sticky-header', { 'x-sticky': value }));
    assert.deepEqual(tally(replies.map((r) => r.body)), { [first.body]: 20 });
  });

  it('on a 50/50 split between two Services, a session keeps its backend (either side)', async () => {
    // A session set by each side of the split (web has three endpoints, web-v2 one), from
    // fresh requests without a cookie.
    const sides = new Map<string, { owner: string; cookie: string }>();
    for (let i = 0; i < 200 && sides.size < 2; i++) {
      const r = await get('/split');
      const m = /^split="([A-Za-z0-9+/=]+)"/.exec(String(r.headers['set-cookie'] ?? ''));
      assert.ok(m, String(r.headers['set-cookie']));
      const side = r.body === 'web-v2' ? 'web-v2' : 'web';
      if (!sides.has(side)) sides.set(side, { owner: r.body, cookie: `split="${m[1]}"` });
    }
    assert.equal(sides.size, 2, JSON.stringify([...sides]));
    for (const { owner, cookie } of sides.values()) {
      const replies: Reply[] = [];
      for (let i = 0; i < 20; i++) replies.push(await get('/split', { cookie }));
      assert.deepEqual(tally(replies.map((r) => r.body)), { [owner]: 20 }, owner);
    }
  });

  it('a route without sessionPersistence sets no cookie', async () => {
    const r = await get('/plain');
    assert.equal(r.status, 200);
    assert.equal(r.headers['set-cookie'], undefined);
  });
});
