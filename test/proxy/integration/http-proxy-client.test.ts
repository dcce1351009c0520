/**
 * An app that honours HTTP_PROXY reaches a service by name through its sidecar: with the
 * outbound port as its proxy, a client sends absolute-form requests
 * (`GET http://api:8080/x HTTP/1.1`) and the sidecar routes on that authority. Two sidecars:
 * client -> sidecar A (outbound) -> sidecar B (inbound) -> the HTTP app, which B registered
 * as an endpoint of `api`. Clients: undici's EnvHttpProxyAgent, node's http with an
 * absolute-form path, and curl as a real process with http_proxy in its environment.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { EnvHttpProxyAgent, ProxyAgent, request } from 'undici';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { rawExchange as raw } from '../../support/raw-http.js';

/** Runs curl with only http_proxy set; resolves undefined when curl is not installed. */
function curl(
  args: string[],
  proxy: string,
): Promise<{ code: number; stdout: string; stderr: string } | undefined> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      args,
      { env: { PATH: process.env.PATH, http_proxy: proxy }, timeout: 10_000 },
      (err, stdout, stderr) => {
        if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') resolve(undefined);
        else resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('integration: an HTTP/1.1 client honouring HTTP_PROXY reaches a service by name', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  let app: HttpUpstream;
  let proxy: string;

  before(async () => {
    app = await startHttpUpstream('api-app', (_seen, req, res) => {
      // Echo what arrived: method, target, Host and body length.
      const chunks: Buffer[] = [];
      req.on('data', (d: Buffer) => chunks.push(d));
      req.on('end', () =>
        res.end(
          `${req.method} ${req.url} host=${req.headers.host} body=${Buffer.concat(chunks).length}`,
        ),
      );
      return true;
    });
    cp = await startControlPlane(mesh(service('api', 8080, 'http', [])));
    b = await startSidecar(cp.xdsPort, { service: 'api', appPort: app.port });
    a = await startSidecar(cp.xdsPort, { service: 'web' });
    await waitForHosts(a, clusterName('api', 8080), 1);
    proxy = `http://127.0.0.1:${a.ports.outbound}`;
  });

  after(async () => {
    await a?.stop(100);
    await b?.stop(100);
    await cp?.close();
    await app?.close();
  });

  it("undici's EnvHttpProxyAgent (absolute form): every name of the service, GET and POST", async () => {
    const dispatcher = new EnvHttpProxyAgent({ httpProxy: proxy, proxyTunnel: false });
    try {
      const names = ['api:8080', 'api.default:8080', 'api.default.svc.cluster.local:8080'];
      for (const name of names) {
        const r = await request(`http://${name}/hello?q=1`, { dispatcher });
        const body = await r.body.text();
        console.log(`      GET http://${name}/hello?q=1 -> ${r.statusCode} "${body}"`);
        assert.equal(r.statusCode, 200);
        assert.equal(body, `GET /hello?q=1 host=${name} body=0`);
      }
      const post = await request('http://api:8080/items', {
        dispatcher,
        method: 'POST',
        body: 'x'.repeat(100_000),
      });
      assert.equal(post.statusCode, 200);
      assert.equal(await post.body.text(), 'POST /items host=api:8080 body=100000');
    } finally {
      await dispatcher.close();
    }
  });

  it("node's http with an absolute-form target, as Go's and Python's clients send it", async () => {
    const agent = new http.Agent({ keepAlive: true });
    try {
      const r = await send(a.ports.outbound, {
        agent,
        host: 'api:8080',
        path: 'http://api:8080/v1/things?page=2',
      });
      console.log(`      GET http://api:8080/v1/things?page=2 -> ${r.status} "${r.body}"`);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'GET /v1/things?page=2 host=api:8080 body=0');
      // The authority in the target wins over a Host header that says something else.
      const r2 = await send(a.ports.outbound, {
        agent,
        host: 'elsewhere',
        path: 'http://api:8080/x',
      });
      assert.equal(r2.body, 'GET /x host=api:8080 body=0');
    } finally {
      agent.destroy();
    }
  });

  // Regression: a request with `Expect: 100-continue` (curl sends one with large bodies, and
  // before 8.x with any over 1 KiB) was answered 100 Continue and then 503 UC: the Expect
  // header was passed on to the upstream client, which refuses it. The proxy answers the
  // expectation itself.
  it('curl with http_proxy in its environment: GET, and a POST that sends Expect: 100-continue', async function () {
    const get = await curl(['-sS', 'http://api:8080/from-curl'], proxy);
    if (!get) this.skip();
    console.log(`      curl GET -> exit ${get.code} "${get.stdout}"`);
    assert.equal(get.stdout, 'GET /from-curl host=api:8080 body=0');
    const post = await curl(
      [
        '-sS',
        '-i',
        '-H',
        'Expect: 100-continue',
        '--data-binary',
        'y'.repeat(4096),
        'http://api:8080/upload',
      ],
      proxy,
    );
    const statuses = post!.stdout.match(/^HTTP\/1\.1 \d+/gm);
    console.log(`      curl POST 4 KiB -> statuses ${JSON.stringify(statuses)}`);
    assert.deepEqual(statuses, ['HTTP/1.1 100', 'HTTP/1.1 200']);
    assert.match(post!.stdout, /POST \/upload host=api:8080 body=4096$/);
  });

  // Regression: a CONNECT request (undici's ProxyAgent tunnels even plain http:// by
  // default) was dropped without a reply. One without a route gets 404 NR once.
  it('a CONNECT tunnel to an unknown authority is answered 404 NR once, not dropped', async () => {
    const reply = await raw(
      a.ports.outbound,
      'CONNECT nowhere:9 HTTP/1.1\r\nHost: nowhere:9\r\n\r\n',
    );
    console.log(`      CONNECT nowhere:9 -> ${JSON.stringify(reply.split('\r\n')[0])}`);
    assert.equal(reply.match(/HTTP\/1\.1 \d+/g)?.length, 1, reply);
    assert.match(reply, /^HTTP\/1\.1 404 /);
    assert.match(reply, /x-ferry-response-flags: NR/i);
  });

  it("a CONNECT tunnel to a service: undici's tunnelling ProxyAgent reaches the app through it", async () => {
    const tunnelling = new ProxyAgent({ uri: proxy });
    try {
      const r = await request('http://api:8080/through-tunnel', { dispatcher: tunnelling });
      const body = await r.body.text();
      console.log(`      CONNECT api:8080 then GET /through-tunnel -> ${r.statusCode} ${body}`);
      assert.equal(r.statusCode, 200);
      assert.match(body, /^GET \/through-tunnel host=api:8080/);
    } finally {
      await tunnelling.close();
    }
    // Still serving.
    assert.equal((await send(a.ports.outbound, { host: 'api:8080' })).status, 200);
  });
});
