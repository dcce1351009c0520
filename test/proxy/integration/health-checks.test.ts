/**
 * Active health checks end to end: a control plane reading a mesh file whose service has a
 * `healthCheck`, a client sidecar, and three real upstreams answering /healthz. An endpoint
 * whose check starts failing stops receiving traffic (and no request fails meanwhile); once its
 * check passes again it receives traffic again. With two endpoints in three failing, the cluster
 * is under Envoy's panic threshold and balances over all three, until the edited mesh file sets
 * `panicThreshold: 0`. The figures are requests per endpoint in each phase, as seen by the
 * upstreams themselves.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { silentLogger } from '../../../src/log/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName } from '../../support/mesh.js';
import { startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

const CLUSTER = clusterName('api', 8080);
const NAMES = ['a', 'b', 'c'] as const;
const PER_PHASE = 60;

function meshYaml(ports: readonly number[], panicThreshold?: number): string {
  return [
    'services:',
    '  - name: api',
    '    ports: [{ port: 8080, protocol: http }]',
    '    endpoints:',
    ...ports.map((p) => `      - { address: 127.0.0.1, port: ${p} }`),
    '    policy:',
    ...(panicThreshold !== undefined ? [`      panicThreshold: ${panicThreshold}`] : []),
    '      healthCheck:',
    '        http: { path: /healthz, expectedStatuses: ["200-299"] }',
    '        interval: 50ms',
    '        timeout: 1s',
    '        unhealthyThreshold: 2',
    '        healthyThreshold: 2',
    '',
  ].join('\n');
}

describe('integration: active health checks from the mesh file', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  let cp: ControlPlane;
  let client: Sidecar;
  const upstreams: HttpUpstream[] = [];
  /** Endpoints whose /healthz answers 503. */
  const failing = new Set<string>();

  before(async () => {
    for (const name of NAMES) {
      upstreams.push(
        await startHttpUpstream(name, (seen, _req, res) => {
          if (seen.url !== '/healthz') return false;
          res.statusCode = failing.has(name) ? 503 : 204;
          res.end();
          return true;
        }),
      );
    }
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-health-'));
    file = path.join(dir, 'mesh.yaml');
    await writeFile(file, meshYaml(upstreams.map((u) => u.port)));
    cp = await ControlPlane.start({
      configPath: file,
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    await waitForHosts(client, CLUSTER, 3);
  });

  after(async () => {
    await client?.stop(0);
    await cp?.close();
    await Promise.all(upstreams.map((u) => u.close()));
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Whether the client sidecar has marked the endpoint of upstream `name` unhealthy. */
  function markedUnhealthy(name: string): boolean {
    const port = upstreams[NAMES.indexOf(name as (typeof NAMES)[number])].port;
    const host = client.config?.clusters.get(CLUSTER)?.hostSet.hosts.find((h) => h.port === port);
    return host?.failedHealthCheck === true;
  }

  /** Sends PER_PHASE requests one after another; returns requests per endpoint and statuses. */
  async function phase(label: string): Promise<Record<string, number>> {
    const before = upstreams.map((u) => u.seen.filter((s) => s.url !== '/healthz').length);
    const statuses = new Map<number, number>();
    for (let i = 0; i < PER_PHASE; i++) {
      const r = await send(client.ports.outbound, { host: 'api:8080', path: '/work' });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
    const perEndpoint: Record<string, number> = {};
    upstreams.forEach((u, i) => {
      perEndpoint[u.name] = u.seen.filter((s) => s.url !== '/healthz').length - before[i];
    });
    console.log(
      `      ${label.padEnd(16)} requests per endpoint ${JSON.stringify(perEndpoint)}, statuses ${JSON.stringify(Object.fromEntries(statuses))}`,
    );
    assert.deepEqual([...statuses.keys()], [200], `${label}: every request answered 200`);
    return perEndpoint;
  }

  it('an endpoint failing its health check stops receiving traffic, and gets it again after it recovers', async () => {
    await waitFor('the first health checks of every endpoint', () =>
      upstreams.every((u) => u.seen.some((s) => s.url === '/healthz')),
    );
    const healthy = await phase('all healthy');
    for (const name of NAMES) assert.ok(healthy[name] > 0, `${name} takes traffic`);

    failing.add('b');
    const checksBefore = upstreams[1].seen.filter((s) => s.url === '/healthz').length;
    await waitFor('endpoint b to be marked unhealthy', () => markedUnhealthy('b'));
    const failedChecks =
      upstreams[1].seen.filter((s) => s.url === '/healthz').length - checksBefore;
    console.log(`      b marked unhealthy after ${failedChecks} failed check(s) (threshold 2)`);
    assert.ok(failedChecks >= 2, 'not before the unhealthy threshold');
    const whileFailing = await phase('b failing');
    assert.equal(whileFailing.b, 0, 'b takes no traffic while failing');
    assert.equal(whileFailing.a + whileFailing.c, PER_PHASE);

    failing.delete('b');
    await waitFor('endpoint b to be healthy again', () => !markedUnhealthy('b'));
    const recovered = await phase('b recovered');
    for (const name of NAMES) assert.ok(recovered[name] > 0, `${name} takes traffic again`);
  });

  it('a mostly unhealthy cluster still serves (panic threshold 50%), and does not once the file sets it to 0', async () => {
    failing.add('b');
    failing.add('c');
    await waitFor('b and c to be marked unhealthy', () =>
      ['b', 'c'].every((name) => markedUnhealthy(name)),
    );
    // One healthy endpoint in three is under Envoy's default panic threshold of 50%: the
    // balancer uses every endpoint, healthy or not.
    const panic = await phase('b, c failing');
    for (const name of NAMES) assert.ok(panic[name] > 0, `${name} takes traffic in panic`);

    await writeFile(
      file,
      meshYaml(
        upstreams.map((u) => u.port),
        0,
      ),
    );
    await waitFor('the sidecar to have panicThreshold 0 from the edited mesh file', () => {
      const c = client.config?.source.clusters.get(CLUSTER)?.value as
        | { common_lb_config?: { healthy_panic_threshold?: { value?: number } } }
        | undefined;
      return c?.common_lb_config?.healthy_panic_threshold?.value === 0;
    });
    assert.ok(markedUnhealthy('b') && markedUnhealthy('c'), 'health survives the update');
    const noPanic = await phase('panic off');
    assert.deepEqual(noPanic, { a: PER_PHASE, b: 0, c: 0 });
    failing.clear();
  });
});
