/**
 * GAMMA over real sockets: an HTTPRoute whose parentRef is the Service `api` splits the
 * traffic a client sidecar sends to `api` 80/20 between `api` and `api-v2`, as a mesh file
 * route with those weights does.
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
    metadata: { name: api-split }
    spec:
      parentRefs: [{ group: "", kind: Service, name: api, port: 8080 }]
      rules:
        - backendRefs:
            - { name: api, port: 8080, weight: 80 }
            - { name: api-v2, port: 8080, weight: 20 }
`;
}

describe('integration: GAMMA route splitting in-mesh traffic', function () {
  this.timeout(30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  let api: HttpUpstream;
  let v2: HttpUpstream;
  let cp: ControlPlane;
  let client: Sidecar;

  before(async () => {
    [api, v2] = await Promise.all([startHttpUpstream('api'), startHttpUpstream('api-v2')]);
    const parsed = parseMesh(meshText(api.port, v2.port), 'mesh.yaml');
    assert.ok(parsed.ok);
    cp = await startControlPlane(parsed.config);
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, clusterName('api', 8080), 1);
    await waitForHosts(client, clusterName('api-v2', 8080), 1);
    await waitForQuiet(cp);
  });

  after(async () => {
    agent.destroy();
    await client?.stop(100);
    await cp?.close();
    await Promise.all([api?.close(), v2?.close()]);
  });

  it('1000 requests to api split 80/20 (within 4 points; one standard deviation is 1.3)', async () => {
    const replies = await inParallel(1000, 20, () =>
      send(client.ports.outbound, { host: 'api:8080', agent }),
    );
    for (const r of replies) assert.equal(r.status, 200, `${r.status} ${r.flags} ${r.body}`);
    const got = tally(replies.map((r) => r.body));
    const share = ((got['api-v2'] ?? 0) * 100) / 1000;
    console.log(
      `      1000 requests: ${JSON.stringify(got)} = ${share.toFixed(1)}% to api-v2 (weight 20%)`,
    );
    assert.equal((got.api ?? 0) + (got['api-v2'] ?? 0), 1000);
    assert.ok(Math.abs(share - 20) <= 4, `api-v2 share ${share}%`);
  });
});
