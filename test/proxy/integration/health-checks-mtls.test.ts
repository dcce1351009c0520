/**
 * Active health checks of a STRICT service's meshed endpoints: the calling sidecar checks each
 * endpoint (a sidecar's inbound port) over mutual TLS, as Envoy does over the cluster's
 * transport socket, so the check reaches the app behind it. When one app starts failing its
 * health check, its endpoint stops receiving traffic, and receives it again after recovery.
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { ManualCertificates, TestCa } from '../../support/test-ca.js';
import { waitFor } from '../../support/wait-for.js';

const CLUSTER = clusterName('api', 8080);
const WEB = 'spiffe://cluster.local/ns/default/sa/web';
const API = 'spiffe://cluster.local/ns/default/sa/api';
const PER_PHASE = 40;

describe('integration: health checks of STRICT mTLS endpoints', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  const servers: Sidecar[] = [];
  const apps: HttpUpstream[] = [];
  const failing = new Set<string>();

  before(async () => {
    const ca = await TestCa.create();
    cp = await startControlPlane(
      mesh(
        service('api', 8080, 'http', [], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 1000,
            mtls: 'STRICT',
            healthCheck: {
              kind: { type: 'http', path: '/healthz', expectedStatuses: [[200, 300]] },
              intervalMs: 50,
              timeoutMs: 1000,
              healthyThreshold: 1,
              unhealthyThreshold: 2,
            },
          },
        }),
      ),
    );
    for (const name of ['api-1', 'api-2']) {
      const app = await startHttpUpstream(name, (seen, _req, res) => {
        if (seen.url !== '/healthz') return false;
        res.statusCode = failing.has(name) ? 503 : 200;
        res.end();
        return true;
      });
      apps.push(app);
      servers.push(
        await startSidecar(cp.xdsPort, {
          service: 'api',
          id: `${name}.default`,
          serviceAccount: 'api',
          appPort: app.port,
          certificates: new ManualCertificates(await ca.issue(API)),
        }),
      );
    }
    client = await startSidecar(cp.xdsPort, {
      service: 'web',
      serviceAccount: 'web',
      certificates: new ManualCertificates(await ca.issue(WEB)),
    });
    await waitForHosts(client, CLUSTER, 2);
  });

  after(async () => {
    await Promise.all([client, ...servers].map((s) => s?.stop(0)));
    await cp?.close();
    await Promise.all(apps.map((a) => a.close()));
  });

  /** The client's host of the api sidecar in front of `app`, by its inbound port. */
  function hostOf(i: number) {
    const port = servers[i].ports.inbound;
    return client.config?.clusters.get(CLUSTER)?.hostSet.hosts.find((h) => h.port === port);
  }

  async function phase(label: string): Promise<Record<string, number>> {
    const before = apps.map((a) => a.seen.filter((s) => s.url !== '/healthz').length);
    for (let i = 0; i < PER_PHASE; i++) {
      const r = await send(client.ports.outbound, { host: 'api:8080', path: '/work' });
      assert.equal(r.status, 200, `${label}: request ${i}`);
    }
    const per: Record<string, number> = {};
    apps.forEach((a, i) => {
      per[a.name] = a.seen.filter((s) => s.url !== '/healthz').length - before[i];
    });
    console.log(`      ${label.padEnd(14)} requests per endpoint ${JSON.stringify(per)}`);
    return per;
  }

  it('checks reach the apps through their sidecars over mTLS; a failing one loses its traffic until it recovers', async () => {
    await waitFor('health checks to reach both apps through their sidecars', () =>
      apps.every((a) => a.seen.some((s) => s.url === '/healthz')),
    );
    assert.ok(hostOf(0)?.failedHealthCheck === false && hostOf(1)?.failedHealthCheck === false);
    assert.ok(client.config?.clusters.get(CLUSTER)?.hostTls?.get(hostOf(0)!), 'hosts take mTLS');
    const healthy = await phase('both healthy');
    assert.ok(healthy['api-1'] > 0 && healthy['api-2'] > 0);

    failing.add('api-2');
    await waitFor('api-2 to be marked unhealthy', () => hostOf(1)?.failedHealthCheck === true);
    const failingPhase = await phase('api-2 failing');
    assert.deepEqual(failingPhase, { 'api-1': PER_PHASE, 'api-2': 0 });

    failing.delete('api-2');
    await waitFor('api-2 to be healthy again', () => hostOf(1)?.failedHealthCheck === false);
    const recovered = await phase('api-2 back');
    assert.ok(recovered['api-1'] > 0 && recovered['api-2'] > 0);
  });
});
