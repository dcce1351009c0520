/**
 * An upstream killed mid-load: with retries on connect-failure/reset/5xx and outlier
 * detection, idempotent requests fail over with zero client-visible errors, and the dead
 * endpoint is ejected after the configured number of consecutive failures.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { getJson, send, tally } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { sleep, waitFor } from '../../support/wait-for.js';

interface ClustersPage {
  clusters: Array<{
    name: string;
    hosts: Array<{ address: string; ejected: boolean; rqError: number; rqTotal: number }>;
  }>;
}

describe('integration: an upstream killed mid-load fails over without errors and is ejected', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  let healthy: HttpUpstream;
  let doomed: HttpUpstream;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });

  before(async () => {
    healthy = await startHttpUpstream('healthy');
    doomed = await startHttpUpstream('doomed');
    cp = await startControlPlane(
      mesh(
        service('api', 8080, 'http', [healthy.port, doomed.port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 500,
            retries: {
              attempts: 2,
              on: ['connect-failure', 'reset', '5xx'],
              retriableStatusCodes: [],
              backoffBaseMs: 5,
              backoffMaxMs: 20,
            },
            circuitBreaker: { maxRetries: 100 },
            outlierDetection: {
              consecutive5xx: 5,
              intervalMs: 1000,
              baseEjectionTimeMs: 30_000,
              maxEjectionPercent: 50,
            },
          },
        }),
      ),
    );
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, clusterName('api', 8080), 2);
  });

  after(async () => {
    agent.destroy();
    await client?.stop(0);
    await cp?.close();
    await healthy?.close();
  });

  it('zero failed requests across the kill; the dead host ejected after 5 consecutive failures', async () => {
    let stop = false;
    const results: string[] = [];
    const workers = Array.from({ length: 10 }, async () => {
      while (!stop) {
        const r = await send(client.ports.outbound, { host: 'api:8080', agent }).catch(
          (e: Error) => ({ status: 0, body: e.message }),
        );
        results.push(`${r.status} ${r.body}`);
      }
    });
    await sleep(300);
    const atKill = results.length;
    await doomed.close();
    const page = () => getJson<ClustersPage>(client.ports.admin, '/clusters?format=json');
    const deadKey = `127.0.0.1:${doomed.port}`;
    await waitFor('the dead host to be ejected', async () =>
      (await page()).clusters
        .find((c) => c.name === clusterName('api', 8080))!
        .hosts.some((h) => h.address === deadKey && h.ejected),
    );
    await sleep(300);
    stop = true;
    await Promise.all(workers);
    const hosts = (await page()).clusters.find((c) => c.name === clusterName('api', 8080))!.hosts;
    const dead = hosts.find((h) => h.address === deadKey)!;
    console.log(
      `      ${results.length} requests (${results.length - atKill} after the kill): ${JSON.stringify(tally(results.map((r) => r.split(' ')[0])))}; dead host: ${dead.rqError} failed attempts, ejected ${dead.ejected}; ejections ${client.stats.ejections}`,
    );
    assert.deepEqual(tally(results.map((r) => r.split(' ')[0])), { '200': results.length });
    assert.ok(dead.ejected);
    // Five in a row eject it; requests already in flight to it when it died add a few more.
    assert.ok(dead.rqError >= 5 && dead.rqError <= 5 + 10, `${dead.rqError} failed attempts`);
    assert.equal(client.stats.ejections, 1);
  });
});
