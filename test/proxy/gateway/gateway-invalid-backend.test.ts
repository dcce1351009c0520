/**
 * The Gateway API's HTTPBackendRef rule, with real requests: in a weighted split, a backend
 * that is invalid (a Service that does not exist, another namespace's without a
 * ReferenceGrant) keeps its weight and the requests that would have gone to it are answered
 * 500; the rest reach the valid backend. Mesh file -> control plane -> `ferry gateway` (a
 * real process) -> the app.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { waitFor } from '../../support/wait-for.js';
import { freePort, type GatewayProcess, startGateway, waitReady } from './gateway-harness.js';

function mesh(httpPort: number, appPort: number): string {
  return `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 127.0.0.1, port: ${appPort} }]
  - name: billing
    namespace: other
    ports: [{ port: 9090, protocol: http }]
    endpoints: [{ address: 127.0.0.1, port: ${appPort} }]
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: edge, namespace: default }
    spec:
      gatewayClassName: ferry
      listeners: [{ name: http, port: ${httpPort}, protocol: HTTP }]
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: split }
    spec:
      parentRefs: [{ name: edge }]
      rules:
        - backendRefs:
            - { name: api, port: 8080, weight: 2 }
            - { name: gone, port: 8080, weight: 1 }
            - { name: billing, namespace: other, port: 9090, weight: 1 }
`;
}

describe('Gateway API: a weighted split with invalid backends, through ferry gateway', function () {
  this.timeout(90_000);
  let dir: string;
  let cp: ControlPlane;
  let app: HttpUpstream;
  let gateway: GatewayProcess;
  let httpPort = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-gateway-invalid-'));
    app = await startHttpUpstream('api', (_s, _req, res) => {
      res.end('api');
      return true;
    });
    httpPort = await freePort();
    await writeFile(join(dir, 'mesh.yaml'), mesh(httpPort, app.port));
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
  });

  after(async () => {
    gateway?.kill();
    await cp?.close();
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers 500 for the invalid backends’ share (half here) and sends the rest to the valid one', async () => {
    const url = `http://127.0.0.1:${httpPort}/split`;
    await waitFor(
      'the route to reach the app',
      async () => (await fetch(url).catch(() => undefined))?.status === 200,
      20_000,
      50,
    );
    const n = 400;
    const counts = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      const res = await fetch(url);
      const key = `${res.status} ${await res.text()}`.trim();
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const ok = counts.get('200 api') ?? 0;
    const errors = [...counts].filter(([k]) => k.startsWith('500 ')).reduce((a, [, c]) => a + c, 0);
    console.log(
      `      ${n} requests: ${ok} x 200 from api, ${errors} x 500 (${JSON.stringify([...counts])})`,
    );
    // Nothing else: every request is either the valid backend's or the spec's 500.
    assert.equal(ok + errors, n, JSON.stringify([...counts]));
    // Weights 2:(1+1): half are 500. 400 draws: sd 10, so 140..260 is six sd either side
    // (the old behaviour, invalid backends left out of the split, gives 0).
    assert.ok(errors >= 140 && errors <= 260, `500s: ${errors} of ${n}`);
  });
});
