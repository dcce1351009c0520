/**
 * GAMMA consumer routes over real sockets, after the conformance scenario MeshConsumerRoute:
 * the Service `api` (namespace default) has a producer route, and namespace `team-b` a
 * consumer route that splits api 50/50 with api-v2. A client sidecar in team-b gets the
 * split and not the producer route; a client sidecar in team-a still gets the producer route.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { parseMesh } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { inParallel, send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName } from '../../support/mesh.js';
import {
  startControlPlane,
  startSidecar,
  waitForHosts,
  waitForQuiet,
} from '../../support/mesh-harness.js';

function meshText(apiPort: number, v2Port: number): string {
  return `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 127.0.0.1, port: ${apiPort} }]
  - name: api-v2
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 127.0.0.1, port: ${v2Port} }]
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: api-producer, namespace: default }
    spec:
      parentRefs: [{ group: "", kind: Service, name: api, port: 8080 }]
      rules:
        - filters: [{ type: ResponseHeaderModifier, responseHeaderModifier: { set: [{ name: x-route, value: producer }] } }]
          backendRefs: [{ name: api, port: 8080 }]
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: api-canary, namespace: team-b }
    spec:
      parentRefs: [{ group: "", kind: Service, name: api, namespace: default, port: 8080 }]
      rules:
        - filters: [{ type: ResponseHeaderModifier, responseHeaderModifier: { set: [{ name: x-route, value: consumer }] } }]
          backendRefs:
            - { name: api, namespace: default, port: 8080, weight: 50 }
            - { name: api-v2, namespace: default, port: 8080, weight: 50 }
`;
}

describe('integration: a GAMMA consumer route applies to its namespace only', function () {
  this.timeout(30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  let api: HttpUpstream;
  let v2: HttpUpstream;
  let cp: ControlPlane;
  let teamA: Sidecar;
  let teamB: Sidecar;

  before(async () => {
    [api, v2] = await Promise.all([startHttpUpstream('api'), startHttpUpstream('api-v2')]);
    const parsed = parseMesh(meshText(api.port, v2.port), 'mesh.yaml');
    assert.ok(parsed.ok);
    cp = await startControlPlane(parsed.config);
    [teamA, teamB] = await Promise.all([
      startSidecar(cp.xdsPort, { service: 'client-a', namespace: 'team-a' }),
      startSidecar(cp.xdsPort, { service: 'client-b', namespace: 'team-b' }),
    ]);
    for (const s of [teamA, teamB]) {
      await waitForHosts(s, clusterName('api', 8080), 1);
      await waitForHosts(s, clusterName('api-v2', 8080), 1);
    }
    await waitForQuiet(cp);
  });

  after(async () => {
    agent.destroy();
    await Promise.all([teamA?.stop(100), teamB?.stop(100)]);
    await cp?.close();
    await Promise.all([api?.close(), v2?.close()]);
  });

  async function fourHundred(client: Sidecar) {
    const replies = await inParallel(400, 20, () =>
      send(client.ports.outbound, { host: 'api.default:8080', agent }),
    );
    for (const r of replies) assert.equal(r.status, 200, `${r.status} ${r.flags} ${r.body}`);
    return {
      backends: tally(replies.map((r) => r.body)),
      routes: tally(replies.map((r) => String(r.headers['x-route']))),
    };
  }

  it('a client in team-b: the consumer split (50/50 within 10 points; one standard deviation is 2.5)', async () => {
    const { backends, routes } = await fourHundred(teamB);
    const share = ((backends['api-v2'] ?? 0) * 100) / 400;
    console.log(
      `      team-b, 400 requests: ${JSON.stringify(backends)} by ${JSON.stringify(routes)}`,
    );
    assert.deepEqual(routes, { consumer: 400 });
    assert.ok(Math.abs(share - 50) <= 10, `api-v2 share ${share}%`);
  });

  it('a client in team-a: the producer route, every request to api', async () => {
    const { backends, routes } = await fourHundred(teamA);
    console.log(
      `      team-a, 400 requests: ${JSON.stringify(backends)} by ${JSON.stringify(routes)}`,
    );
    assert.deepEqual(routes, { producer: 400 });
    assert.deepEqual(backends, { api: 400 });
  });
});
