/**
 * The app prober against real servers on 127.0.0.1: httpGet (status rule, path, headers,
 * Host, HTTPS without verification, timeouts), tcpSocket, and grpc health, as the kubelet
 * runs them; the prober answers only its configured paths; bad probe JSON is refused by name.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import {
  AppProber,
  type AppProbes,
  appHealthPath,
  ProberError,
  parseAppProbes,
} from '../../../src/proxy/prober/index.js';
import { SERVING_STATUS, startHealthServer } from '../../support/grpc-health-server.js';
import { TestCa } from '../../support/test-ca.js';

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A port nothing listens on: bound, then released. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

describe('app prober', () => {
  const seen: Seen[] = [];
  const statusFor: Record<string, number> = {
    '/healthz': 200,
    '/moved': 302,
    '/moved-to-broken': 301,
    '/away': 307,
    '/broken': 500,
  };
  const locations: Record<string, string> = {
    '/moved': '/healthz',
    '/moved-to-broken': '/broken',
    '/away': 'http://example.invalid/healthz',
  };
  const app = http.createServer((req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    if (req.url === '/hang') return; // never answers
    const location = locations[req.url ?? ''];
    res.writeHead(statusFor[req.url ?? ''] ?? 404, location ? { location } : {}).end('body');
  });
  const servers: net.Server[] = [app];
  let appPort = 0;
  let tlsPort = 0;
  let tcpPort = 0;
  let closedPort = 0;

  before(async () => {
    appPort = await listen(app);
    const ca = await TestCa.create();
    const cert = await ca.issue('spiffe://cluster.local/ns/default/sa/app');
    const secure = https.createServer({ key: cert.key, cert: cert.chain }, (_req, res) =>
      res.writeHead(204).end(),
    );
    servers.push(secure);
    tlsPort = await listen(secure);
    const tcp = net.createServer((s) => s.destroy());
    servers.push(tcp);
    tcpPort = await listen(tcp);
    closedPort = await freePort();
  });

  after(() => {
    for (const s of servers) {
      (s as http.Server).closeAllConnections?.();
      s.close();
    }
  });

  const prober = (probes: AppProbes) => new AppProber(probes, '127.0.0.1');
  const path = appHealthPath('web', 'livenessProbe');
  const run = (probe: AppProbes[string]) => prober({ [path]: probe }).run(path)!;

  it('httpGet: 200-399 pass, others fail; redirects on the same host are followed, to another host not', async () => {
    const get = (p: string) =>
      run({ httpGet: { path: p, port: appPort, scheme: 'HTTP' }, timeoutSeconds: 1 });
    assert.deepEqual(await get('/healthz'), { ok: true, detail: 'GET /healthz: HTTP 200' });
    assert.deepEqual(await get('/broken'), { ok: false, detail: 'GET /broken: HTTP 500' });
    assert.equal((await get('/missing')).ok, false);
    seen.length = 0;
    assert.deepEqual(await get('/moved'), { ok: true, detail: 'GET /moved: HTTP 200' });
    assert.deepEqual(await get('/moved-to-broken'), {
      ok: false,
      detail: 'GET /moved-to-broken: HTTP 500',
    });
    assert.deepEqual(await get('/away'), {
      ok: true,
      detail: 'GET /away: HTTP 307 to another host, not followed',
    });
    assert.deepEqual(
      seen.map((s) => s.path),
      ['/moved', '/healthz', '/moved-to-broken', '/broken', '/away'],
    );
  });

  it("httpGet: the probe's headers, its Host, and the kubelet's User-Agent and Accept", async () => {
    seen.length = 0;
    const r = await run({
      httpGet: {
        path: '/healthz',
        port: appPort,
        scheme: 'HTTP',
        httpHeaders: [
          { name: 'Host', value: 'web.example' },
          { name: 'X-Probe', value: 'liveness' },
        ],
      },
      timeoutSeconds: 1,
    });
    assert.equal(r.ok, true);
    const h = seen[0]!.headers;
    assert.equal(h.host, 'web.example');
    assert.equal(h['x-probe'], 'liveness');
    assert.match(h['user-agent'] ?? '', /^kube-probe\//);
    assert.equal(h.accept, '*/*');
    seen.length = 0;
    await run({ httpGet: { path: '/healthz', port: appPort, scheme: 'HTTP' }, timeoutSeconds: 1 });
    assert.equal(seen[0]!.headers.host, `127.0.0.1:${appPort}`);
  });

  it("httpGet over HTTPS, without checking the app's certificate (as the kubelet)", async () => {
    const r = await run({
      httpGet: { path: '/', port: tlsPort, scheme: 'HTTPS' },
      timeoutSeconds: 1,
    });
    assert.deepEqual(r, { ok: true, detail: 'GET /: HTTP 204' });
  });

  it('httpGet: an app that does not answer within timeoutSeconds fails, and so does a closed port', async () => {
    const hang = await run({
      httpGet: { path: '/hang', port: appPort, scheme: 'HTTP' },
      timeoutSeconds: 1,
    });
    assert.deepEqual(hang, { ok: false, detail: 'GET /hang: no answer within 1000 ms' });
    const closed = await run({
      httpGet: { path: '/', port: closedPort, scheme: 'HTTP' },
      timeoutSeconds: 1,
    });
    assert.deepEqual(closed, { ok: false, detail: 'GET /: ECONNREFUSED' });
  });

  it('tcpSocket: passes when the port accepts, fails when nothing listens', async () => {
    assert.deepEqual(await run({ tcpSocket: { port: tcpPort }, timeoutSeconds: 1 }), {
      ok: true,
      detail: `connect 127.0.0.1:${tcpPort}: open`,
    });
    assert.deepEqual(await run({ tcpSocket: { port: closedPort }, timeoutSeconds: 1 }), {
      ok: false,
      detail: `connect 127.0.0.1:${closedPort}: ECONNREFUSED`,
    });
  });

  it("grpc: Health/Check passes on SERVING only, with the probe's service name", async () => {
    const health = await startHealthServer();
    try {
      health.set('orders', SERVING_STATUS.NOT_SERVING);
      const check = (service?: string) =>
        run({ grpc: { port: health.port, ...(service ? { service } : {}) }, timeoutSeconds: 1 });
      assert.deepEqual(await check(), { ok: true, detail: 'Health/Check: SERVING' });
      assert.deepEqual(await check('orders'), {
        ok: false,
        detail: 'Health/Check orders: NOT_SERVING',
      });
      health.set('orders', SERVING_STATUS.SERVING);
      assert.equal((await check('orders')).ok, true);
      const unknown = await check('nope');
      assert.equal(unknown.ok, false);
      assert.match(unknown.detail, /unknown service/);
    } finally {
      await health.close();
    }
    const dead = await run({ grpc: { port: closedPort }, timeoutSeconds: 1 });
    assert.equal(dead.ok, false);
  });

  it('answers only its configured paths: 200 or 503 there, 404 on other app-health paths, others left to the server', async () => {
    const p = prober({
      [appHealthPath('web', 'livenessProbe')]: {
        httpGet: { path: '/healthz', port: appPort, scheme: 'HTTP' },
        timeoutSeconds: 1,
      },
      [appHealthPath('web', 'readinessProbe')]: {
        httpGet: { path: '/broken', port: appPort, scheme: 'HTTP' },
        timeoutSeconds: 1,
      },
    });
    const server = http.createServer((req, res) => {
      if (!p.handle(req, res)) res.writeHead(418).end('metrics');
    });
    servers.push(server);
    const port = await listen(server);
    const get = (u: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get(`http://127.0.0.1:${port}${u}`, (res) => {
            let body = '';
            res.setEncoding('utf8').on('data', (d: string) => {
              body += d;
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    assert.deepEqual(await get('/app-health/web/livez'), {
      status: 200,
      body: 'GET /healthz: HTTP 200\n',
    });
    assert.deepEqual(await get('/app-health/web/readyz'), {
      status: 503,
      body: 'GET /broken: HTTP 500\n',
    });
    // Not a way to reach other ports or paths of the pod.
    seen.length = 0;
    assert.equal((await get('/app-health/web/startupz')).status, 404);
    assert.equal((await get(`/app-health/web/livez/../../127.0.0.1:${tcpPort}`)).status, 404);
    assert.equal((await get(`/app-health/web/livez?port=${tcpPort}&path=/x`)).status, 200);
    assert.deepEqual(
      seen.map((s) => s.path),
      ['/healthz'],
    );
    assert.equal((await get('/stats/prometheus')).status, 418);
  });

  it('reads the JSON the injector writes, and names what is wrong in bad JSON', () => {
    const probes = parseAppProbes(
      JSON.stringify({
        '/app-health/web/livez': { httpGet: { path: 'healthz', port: 8080 } },
        '/app-health/web/readyz': { tcpSocket: { port: 8080 }, timeoutSeconds: 3 },
        '/app-health/grpc/startupz': { grpc: { port: 50051, service: 'orders' } },
      }),
    );
    assert.deepEqual(probes, {
      '/app-health/web/livez': {
        httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' },
        timeoutSeconds: 1,
      },
      '/app-health/web/readyz': { tcpSocket: { port: 8080 }, timeoutSeconds: 3 },
      '/app-health/grpc/startupz': {
        grpc: { port: 50051, service: 'orders' },
        timeoutSeconds: 1,
      },
    });
    assert.deepEqual(parseAppProbes(undefined), {});
    const refused = (json: string, message: RegExp) =>
      assert.throws(
        () => parseAppProbes(json),
        (e: unknown) =>
          e instanceof ProberError &&
          e.code === 'FERRY_PROBER_BAD_CONFIG' &&
          message.test(e.message),
      );
    refused('{', /FERRY_APP_PROBES.*is not JSON/);
    refused(
      '{"/stats": {"tcpSocket": {"port": 1}}}',
      /"\/stats": is not a path under \/app-health\//,
    );
    refused(
      '{"/app-health/a/livez": {"tcpSocket": {"port": "http"}}}',
      /"\/app-health\/a\/livez"\.tcpSocket\.port: "http" is not a port number/,
    );
    refused(
      '{"/app-health/a/livez": {"tcpSocket": {"port": 1}, "grpc": {"port": 2}}}',
      /exactly one of httpGet, tcpSocket, grpc/,
    );
    refused(
      '{"/app-health/a/livez": {"httpGet": {"port": 1, "scheme": "FTP"}}}',
      /scheme: "FTP" is not HTTP or HTTPS/,
    );
  });
});
