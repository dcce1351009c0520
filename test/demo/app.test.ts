/**
 * The demo apps, in process: frontend calls catalog and reviews through its "sidecar" (here
 * a fake one that routes on the Host header, as the real outbound listener does) and
 * combines their answers.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type DemoApp, startDemoApp } from '../../src/demo/index.js';

interface FakeSidecar {
  readonly url: URL;
  /** Host header -> app port; a missing service answers 503 as a sidecar with no endpoint. */
  readonly routes: Map<string, number>;
  readonly seen: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

async function fakeSidecar(): Promise<FakeSidecar> {
  const routes = new Map<string, number>();
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const port = routes.get(req.headers.host ?? '');
    if (port === undefined) {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('no healthy upstream');
      return;
    }
    const up = http.get({ port, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => {
      res.writeHead(502);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    routes,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

async function getJson(port: number, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('demo apps', () => {
  let sidecar: FakeSidecar;
  const apps: DemoApp[] = [];

  beforeEach(async () => {
    sidecar = await fakeSidecar();
  });

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await sidecar.close();
  });

  async function app(name: string, version: string, withOutbound = true): Promise<DemoApp> {
    const a = await startDemoApp({
      name,
      version,
      port: 0,
      outbound: withOutbound ? sidecar.url : undefined,
    });
    apps.push(a);
    return a;
  }

  it('reviews v1 has no stars and v2 has; catalog lists items; each names its version', async () => {
    const v1 = await getJson((await app('reviews', 'v1')).port, '/reviews');
    const v2 = await getJson((await app('reviews', 'v2')).port, '/reviews');
    const catalog = await getJson((await app('catalog', 'v1')).port, '/items');
    assert.equal(v1.body.version, 'v1');
    assert.ok((v1.body.reviews as object[]).every((r) => !('stars' in r)));
    assert.ok((v2.body.reviews as object[]).every((r) => 'stars' in r));
    assert.equal(catalog.status, 200);
    assert.equal((catalog.body.items as object[]).length, 3);
  });

  it('frontend combines catalog and reviews, called through its sidecar by service name', async () => {
    sidecar.routes.set('catalog:8080', (await app('catalog', 'v1')).port);
    sidecar.routes.set('reviews:8080', (await app('reviews', 'v2')).port);
    const frontend = await app('frontend', 'v1');
    const r = await getJson(frontend.port, '/');
    assert.equal(r.status, 200);
    assert.equal(r.body.reviewsVersion, 'v2');
    assert.equal((r.body.catalog as { service: string }).service, 'catalog');
    assert.equal((r.body.reviews as { version: string }).version, 'v2');
    assert.deepEqual(sidecar.seen.map((h) => h.host).sort(), ['catalog:8080', 'reviews:8080']);
  });

  it('frontend passes x-canary on to reviews (the mesh file routes it to v2)', async () => {
    sidecar.routes.set('catalog:8080', (await app('catalog', 'v1')).port);
    sidecar.routes.set('reviews:8080', (await app('reviews', 'v1')).port);
    const frontend = await app('frontend', 'v1');
    await getJson(frontend.port, '/', { 'x-canary': 'true' });
    const reviewsCall = sidecar.seen.find((h) => h.host === 'reviews:8080');
    const catalogCall = sidecar.seen.find((h) => h.host === 'catalog:8080');
    assert.equal(reviewsCall?.['x-canary'], 'true');
    assert.equal(catalogCall?.['x-canary'], undefined);
  });

  it('frontend answers 502 and says which call failed when reviews has no endpoint', async () => {
    sidecar.routes.set('catalog:8080', (await app('catalog', 'v1')).port);
    const frontend = await app('frontend', 'v1');
    const r = await getJson(frontend.port, '/');
    assert.equal(r.status, 502);
    assert.equal((r.body.reviews as { status: number }).status, 503);
    assert.equal(r.body.reviewsVersion, undefined);
    assert.equal((r.body.catalog as { service: string }).service, 'catalog');
  });

  it('frontend answers 502 until it knows its sidecar, and works once told', async () => {
    sidecar.routes.set('catalog:8080', (await app('catalog', 'v1')).port);
    sidecar.routes.set('reviews:8080', (await app('reviews', 'v1')).port);
    const frontend = await app('frontend', 'v1', false);
    assert.equal((await getJson(frontend.port, '/')).status, 502);
    frontend.setOutbound(sidecar.url);
    assert.equal((await getJson(frontend.port, '/')).status, 200);
  });

  it('answers 404 on an unknown path and 200 on /healthz', async () => {
    const a = await app('catalog', 'v1');
    assert.equal((await getJson(a.port, '/nope')).status, 404);
    assert.equal((await getJson(a.port, '/healthz')).status, 200);
  });
});
