/**
 * An endpoint's health as a real sidecar sees it, as far as the dashboard: an upstream that
 * answers 503 is ejected by outlier detection, the sidecar's /stats/prometheus says so
 * (ferry_proxy_endpoint_unhealthy{reason="outlier_ejected"}), and the dashboard's scraper
 * reads it from there (what the service detail shows as EJECTED).
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { MetricsScraper } from '../../../src/dashboard/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

describe('integration: an ejected endpoint in the sidecar metrics the dashboard reads', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  let healthy: HttpUpstream;
  let failing: HttpUpstream;
  let scraper: MetricsScraper | undefined;

  before(async () => {
    healthy = await startHttpUpstream('healthy');
    failing = await startHttpUpstream('failing', (_seen, _req, res) => {
      res.writeHead(503).end('down');
      return true;
    });
    cp = await startControlPlane(
      mesh(
        service('api', 8080, 'http', [healthy.port, failing.port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 500,
            outlierDetection: {
              consecutive5xx: 3,
              intervalMs: 1000,
              baseEjectionTimeMs: 60_000,
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
    scraper?.stop();
    await client?.stop(0);
    await cp?.close();
    await Promise.all([healthy?.close(), failing?.close()]);
  });

  it('the failing endpoint is reported outlier_ejected, and the healthy one not at all', async () => {
    const metricsUrl = `http://127.0.0.1:${client.ports.metrics}/stats/prometheus`;
    const bad = `127.0.0.1:${failing.port}`;
    const line = `ferry_proxy_endpoint_unhealthy{cluster_name="${clusterName('api', 8080)}",endpoint="${bad}",reason="outlier_ejected"} 1`;
    let text = '';
    await waitFor(
      'the failing endpoint ejected',
      async () => {
        await send(client.ports.outbound, { host: 'api:8080' });
        text = await (await fetch(metricsUrl)).text();
        return text.includes(line);
      },
      15_000,
    );
    const unhealthy = text
      .split('\n')
      .filter((l) => l.startsWith('ferry_proxy_endpoint_unhealthy{'));
    console.log(`      ${unhealthy.join('\n      ')}`);
    assert.deepEqual(unhealthy, [line]);

    scraper = new MetricsScraper({
      targets: () => [
        {
          nodeId: 'client-pod',
          workload: 'client',
          service: 'client',
          namespace: 'default',
          url: metricsUrl,
        },
      ],
      intervalMs: 100,
    });
    scraper.start();
    await waitFor(
      'the scraper to read it',
      () => (scraper?.endpointVerdicts().length ?? 0) > 0,
      15_000,
      50,
    );
    assert.deepEqual(scraper.endpointVerdicts(), [
      {
        sidecar: 'client-pod',
        cluster: clusterName('api', 8080),
        endpoint: bad,
        reason: 'outlier_ejected',
      },
    ]);
  });
});
