/**
 * Statistical outlier detection over real sockets, from the mesh file: five endpoints, one of
 * which fails every other request (503). Consecutive-error ejection cannot catch it (its
 * errors never come five in a row); success-rate ejection does, at the end of an interval in
 * which every endpoint had enough requests, and the flaky endpoint then takes no traffic.
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import { parseMesh } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

const CLUSTER = clusterName('api', 8080);

describe('integration: success-rate outlier ejection from the mesh file', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let client: Sidecar;
  const upstreams: HttpUpstream[] = [];

  before(async () => {
    for (let i = 0; i < 5; i++) {
      const flaky = i === 4;
      upstreams.push(
        await startHttpUpstream(flaky ? 'flaky' : `steady-${i}`, (seen, _req, res) => {
          if (!flaky || seen.n % 2 === 1) return false;
          res.writeHead(503).end('flaky');
          return true;
        }),
      );
    }
    const yaml = [
      'services:',
      '  - name: api',
      '    ports: [{ port: 8080, protocol: http }]',
      '    endpoints:',
      ...upstreams.map((u) => `      - { address: 127.0.0.1, port: ${u.port} }`),
      '    policy:',
      '      outlierDetection:',
      '        interval: 200ms',
      '        baseEjectionTime: 30s',
      '        maxEjectionPercent: 20',
      '        successRate: { requestVolume: 10 }',
      '',
    ].join('\n');
    const parsed = parseMesh(yaml, 'mesh.yaml');
    assert.ok(parsed.ok, parsed.ok ? '' : JSON.stringify(parsed.errors));
    cp = await startControlPlane(parsed.config);
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, CLUSTER, 5);
  });

  after(async () => {
    await client?.stop(0);
    await cp?.close();
    await Promise.all(upstreams.map((u) => u.close()));
  });

  const flakyHost = () =>
    client.config?.clusters.get(CLUSTER)?.hostSet.hosts.find((h) => h.port === upstreams[4].port);

  it('ejects the endpoint failing half its requests, which then takes no traffic', async () => {
    let sent = 0;
    let failed = 0;
    // Traffic until an interval has judged the endpoints (each needs 10 requests in it).
    await waitFor('the flaky endpoint to be ejected', async () => {
      for (let i = 0; i < 25; i++) {
        const r = await send(client.ports.outbound, { host: 'api:8080', path: '/x' });
        sent++;
        if (r.status !== 200) failed++;
      }
      return flakyHost()?.ejected === true;
    });
    const flaky = flakyHost()!;
    console.log(
      `      ejected after ${sent} requests (${failed} answered 503 by the flaky endpoint); its counters: ${flaky.rqTotal} sent, ${flaky.rqError} failed`,
    );
    const before = upstreams.map((u) => u.seen.length);
    for (let i = 0; i < 40; i++) {
      const r = await send(client.ports.outbound, { host: 'api:8080', path: '/y' });
      assert.equal(r.status, 200);
    }
    const after = upstreams.map((u, i) => u.seen.length - before[i]);
    console.log(`      then 40 requests per endpoint: ${JSON.stringify(after)}`);
    assert.equal(after[4], 0, 'the ejected endpoint takes no traffic');
    assert.ok(
      upstreams
        .slice(0, 4)
        .every(
          (u) =>
            !client.config?.clusters.get(CLUSTER)?.hostSet.hosts.find((h) => h.port === u.port)
              ?.ejected,
        ),
      'the steady endpoints stay',
    );
  });
});
