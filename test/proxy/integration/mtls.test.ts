/**
 * Mutual TLS and authorization between two sidecars, over real sockets and real TLS 1.3
 * handshakes: client -> sidecar A (web) -> mTLS -> sidecar B (api, inbound) -> app.
 * Certificates come from a test CA with SPIFFE IDs; the control plane describes TLS in the
 * xDS resources (transport socket matches, inbound filter chains, RBAC filters) and the
 * sidecars act on them: STRICT refuses plaintext, PERMISSIVE takes both, the peer's identity
 * is checked both ways, a DENY rule answers 403, and a rotation under load fails nothing.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { AuthorizationRule, MeshConfig, MtlsMode } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { rawExchange as raw } from '../../support/raw-http.js';
import { ManualCertificates, TestCa } from '../../support/test-ca.js';
import { sleep, waitFor } from '../../support/wait-for.js';

const WEB = 'spiffe://cluster.local/ns/default/sa/web';
const API = 'spiffe://cluster.local/ns/default/sa/api';

function apiMesh(mode: MtlsMode, authorization: AuthorizationRule[] = []): MeshConfig {
  const m = mesh(
    service('api', 8080, 'http', [], {
      // Not 1 s: the rotation test opens 20 mTLS connections at once in this one process
      // after closing the pools; on a loaded machine their handshakes took over a second
      // and failed as connect timeouts (503 UF), which is not what the test is about.
      policy: { loadBalancer: 'round_robin', connectTimeoutMs: 10_000, mtls: mode },
      authorization,
    }),
  );
  return m;
}

const DENY_ADMIN_FROM_WEB: AuthorizationRule = {
  name: 'no-admin-for-web',
  action: 'DENY',
  from: [{ principals: [{ exact: WEB }], namespaces: [] }],
  to: [{ methods: [], paths: [{ prefix: '/admin' }], ports: [] }],
};

describe('integration: mTLS and authorization between two sidecars', function () {
  this.timeout(30_000);
  let ca: TestCa;
  let app: HttpUpstream;
  let cp: ControlPlane;
  let a: Sidecar;
  let b: Sidecar;
  let certsA: ManualCertificates;
  let certsB: ManualCertificates;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });

  before(async () => {
    ca = await TestCa.create();
    app = await startHttpUpstream('api-app');
    certsA = new ManualCertificates(await ca.issue(WEB));
    certsB = new ManualCertificates(await ca.issue(API));
    cp = await startControlPlane(apiMesh('STRICT', [DENY_ADMIN_FROM_WEB]));
    b = await startSidecar(cp.xdsPort, {
      service: 'api',
      serviceAccount: 'api',
      appPort: app.port,
      certificates: certsB,
    });
    a = await startSidecar(cp.xdsPort, {
      service: 'web',
      serviceAccount: 'web',
      certificates: certsA,
    });
    await waitForHosts(a, clusterName('api', 8080), 1);
  });

  after(async () => {
    agent.destroy();
    await Promise.all([a?.stop(0), b?.stop(0)]);
    await cp?.close();
    await app?.close();
  });

  it('STRICT: A reaches B over mTLS; B sees A’s SPIFFE ID; plaintext straight to B is refused', async () => {
    const r = await send(a.ports.outbound, { host: 'api:8080', path: '/hello', agent });
    assert.equal(r.status, 200);
    const metrics = await (
      await fetch(`http://127.0.0.1:${b.ports.metrics}/stats/prometheus`)
    ).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('istio_requests_total{reporter="destination"'));
    console.log(
      `      B reports: ${line?.match(/source_principal="[^"]*"|connection_security_policy="[^"]*"/g)?.join(' ')}`,
    );
    assert.match(line ?? '', new RegExp(`source_principal="${WEB}"`));
    assert.match(line ?? '', /connection_security_policy="mutual_tls"/);
    const plain = await raw(b.ports.inbound, 'GET /hello HTTP/1.1\r\nHost: api:8080\r\n\r\n');
    assert.equal(plain, '', 'a plaintext request gets no answer in STRICT mode');
  });

  it('a DENY rule: 403 "RBAC: access denied" for /admin from web, the rest allowed; counted', async () => {
    const deniedBefore = b.stats.denied;
    const admin = await send(a.ports.outbound, { host: 'api:8080', path: '/admin/users', agent });
    const ok = await send(a.ports.outbound, { host: 'api:8080', path: '/public', agent });
    console.log(
      `      /admin/users -> ${admin.status} ${admin.body.trim()}; /public -> ${ok.status}`,
    );
    assert.equal(admin.status, 403);
    assert.equal(admin.body, 'RBAC: access denied');
    assert.equal(ok.status, 200);
    assert.equal(b.stats.denied - deniedBefore, 1);
    const metrics = await (
      await fetch(`http://127.0.0.1:${b.ports.metrics}/stats/prometheus`)
    ).text();
    assert.match(metrics, /^ferry_proxy_rbac_denied_total 1$/m);
    assert.ok(!app.seen.some((s) => s.url.startsWith('/admin')), 'the app never saw /admin');
  });

  it('an upstream with another identity than the service allows is refused by the client', async () => {
    const impostor = await ca.issue('spiffe://cluster.local/ns/default/sa/impostor');
    const good = certsB.current()!;
    certsB.set(impostor);
    try {
      // A fresh connection is needed: a new agent-less client request over a new pool.
      const fresh = new http.Agent({ keepAlive: false });
      await a.pools.close();
      const r = await send(a.ports.outbound, { host: 'api:8080', path: '/x', agent: fresh });
      console.log(`      to an impostor: ${r.status} ${r.headers['x-ferry-response-flags'] ?? ''}`);
      assert.equal(r.status, 503);
      assert.equal(
        r.headers['x-ferry-response-flags'],
        'UF',
        'a failed handshake is a connect failure',
      );
      fresh.destroy();
    } finally {
      certsB.set(good);
      await a.pools.close();
    }
  });

  it('rotating both certificates under 20-way load fails no request; new connections use the new ones', async () => {
    let stop = false;
    const results: string[] = [];
    const workers = Array.from({ length: 20 }, async () => {
      while (!stop) {
        const r = await send(a.ports.outbound, { host: 'api:8080', path: '/load', agent }).catch(
          (e: Error) => ({ status: 0, body: e.message }),
        );
        // A failure is tallied with the start of its body (which says why).
        results.push(r.status === 200 ? '200' : `${r.status} ${String(r.body).slice(0, 80)}`);
      }
    });
    await sleep(300);
    const generation = b.tls!.generation;
    certsA.set(await ca.issue(WEB));
    certsB.set(await ca.issue(API));
    await sleep(300);
    // Force new connections after the rotation: they must handshake with the new certificates.
    await a.pools.close();
    await sleep(300);
    stop = true;
    await Promise.all(workers);
    console.log(
      `      ${results.length} requests across the rotation: ${JSON.stringify(tally(results))}`,
    );
    assert.deepEqual(tally(results), { '200': results.length });
    assert.equal(b.tls!.generation, generation + 1);
  });

  it('PERMISSIVE: plaintext straight to B and mTLS through A are both served', async () => {
    cp.registry.setMeshConfig(apiMesh('PERMISSIVE'));
    await waitFor('B to switch to PERMISSIVE', async () =>
      (
        await raw(b.ports.inbound, 'GET /p HTTP/1.1\r\nHost: api:8080\r\nConnection: close\r\n\r\n')
      ).startsWith('HTTP/1.1 200'),
    );
    const viaA = await send(a.ports.outbound, { host: 'api:8080', path: '/via-a', agent });
    assert.equal(viaA.status, 200);
  });
});
