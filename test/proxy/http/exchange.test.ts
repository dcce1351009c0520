/**
 * The exchange's accounting over a live sidecar and a real upstream: a host's active count
 * comes back to zero however an exchange ends, even when it ends during a retry back-off.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { getJson } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

interface AdminClusters {
  readonly name: string;
  readonly hosts: readonly { readonly address: string; readonly active: number }[];
}

describe('exchange: host.active accounting', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let upstream: HttpUpstream;
  const cluster = clusterName('flaky', 8080);

  before(async () => {
    upstream = await startHttpUpstream('flaky', (_seen, _req, res) => {
      res.writeHead(503);
      res.end('down');
      return true;
    });
    cp = await startControlPlane(
      mesh(
        service('flaky', 8080, 'http', [upstream.port], {
          policy: {
            loadBalancer: 'least_request',
            connectTimeoutMs: 1000,
            // A long back-off, so the exchange is surely ended while it waits.
            retries: {
              attempts: 3,
              on: ['5xx'],
              retriableStatusCodes: [],
              backoffBaseMs: 10_000,
              backoffMaxMs: 10_000,
            },
          },
        }),
      ),
    );
  });

  after(async () => {
    await cp?.close();
    await upstream?.close();
  });

  for (const http1 of ['fast', 'node'] as const) {
    it(`regression (${http1}): a client gone during the retry back-off leaves host.active at 0, not -1`, async () => {
      // Before: the retried attempt's response end AND the abort during the back-off both
      // decremented the host's active count.
      let client: Sidecar | undefined;
      try {
        client = await startSidecar(cp.xdsPort, { service: 'client', http1, random: () => 0.5 });
        await waitForHosts(client, cluster, 1);
        const seenBefore = upstream.seen.length;
        const retriesBefore = client.stats.retries;
        const req = http.request({
          host: '127.0.0.1',
          port: client.ports.outbound,
          path: '/',
          headers: { host: 'flaky:8080' },
        });
        req.on('error', () => {});
        req.end();
        // The first attempt's 503 was read and a retry is waiting out its back-off.
        await waitFor('a retry scheduled', () => client!.stats.retries === retriesBefore + 1);
        assert.equal(upstream.seen.length, seenBefore + 1);
        const requestsBefore = client.stats.requests;
        req.destroy();
        await waitFor('the exchange to end', () => client!.stats.requests === requestsBefore + 1);
        const host = client.config!.clusters.get(cluster)!.hostSet.hosts[0]!;
        assert.equal(host.active, 0);
        const { clusters } = await getJson<{ clusters: AdminClusters[] }>(
          client.ports.admin,
          '/clusters?format=json',
        );
        const shown = clusters.find((c) => c.name === cluster)!.hosts[0]!;
        assert.equal(shown.active, 0);
        // No retry went out after the client left.
        assert.equal(upstream.seen.length, seenBefore + 1);
      } finally {
        await client?.stop(0);
      }
    });
  }
});
