/**
 * Both peers on every series, read back through a real Prometheus (Debian's `prometheus`)
 * scraping a mesh of six sidecars and the control plane:
 *   frontend (v1) -> reviews v1 / v2   HTTP over mTLS
 *   frontend      -> echo v1           gRPC over mTLS
 *   frontend      -> db v1             TCP over mTLS
 *   frontend      -> legacy v1         HTTP, plaintext, an endpoint without a sidecar
 *   a client without a sidecar -> frontend   HTTP, plaintext
 * Each edge's series carry exactly what README's table says; queries taken from Istio's
 * service, workload and mesh dashboards return named series; and a versioned-app graph
 * built from the series the way Kiali builds it has every edge, with the only unknown node
 * the client that has no sidecar.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { FERRY_VERSION } from '../../../src/version/index.js';
import { type EchoBackend, EchoClient, startEchoBackend } from '../../support/echo-grpc.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { versionedAppGraph } from '../../support/kiali-graph.js';
import { clusterName, endpoint, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { PrometheusServer, type PromSeries, requirePrometheus } from '../../support/prometheus.js';
import { ManualCertificates, TestCa } from '../../support/test-ca.js';
import { waitFor } from '../../support/wait-for.js';

const DASHBOARDS = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../../helm/ferry/dashboards',
);

/** Every PromQL expression of Ferry's Grafana dashboards, with its panel's title. */
function grafanaQueries(): Array<{ panel: string; expr: string }> {
  const out: Array<{ panel: string; expr: string }> = [];
  for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'))) {
    const d = JSON.parse(readFileSync(path.join(DASHBOARDS, file), 'utf8')) as {
      panels: Array<{ title: string; targets?: Array<{ expr?: string }> }>;
    };
    for (const p of d.panels) {
      for (const t of p.targets ?? [])
        if (t.expr) out.push({ panel: `${file}: ${p.title}`, expr: t.expr });
    }
  }
  return out;
}

const sa = (name: string) => `spiffe://cluster.local/ns/default/sa/${name}`;
const svc = (name: string) => `${name}.default.svc.cluster.local`;

/** The labels that name the two peers, in README's table order. */
const PEER_LABELS = [
  'source_workload',
  'source_app',
  'source_version',
  'source_principal',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_app',
  'destination_version',
  'destination_principal',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'destination_service',
  'connection_security_policy',
] as const;

type Peers = Record<(typeof PEER_LABELS)[number], string>;

const FRONTEND = {
  workload: 'frontend-v1',
  app: 'frontend',
  version: 'v1',
  principal: sa('frontend'),
  canonical_service: 'frontend',
  canonical_revision: 'v1',
  cluster: 'Kubernetes',
};
const UNKNOWN_SIDE = {
  workload: 'unknown',
  app: 'unknown',
  version: 'unknown',
  principal: 'unknown',
  canonical_service: 'unknown',
  canonical_revision: 'unknown',
  cluster: 'unknown',
};

function side(prefix: 'source' | 'destination', v: typeof FRONTEND): Record<string, string> {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [`${prefix}_${k}`, x]));
}

function workload(name: string, version: string, principal: string) {
  return {
    workload: `${name}-${version}`,
    app: name,
    version,
    principal,
    canonical_service: name,
    canonical_revision: version,
    cluster: 'Kubernetes',
  };
}

/** What each reporter says of each edge: README's table, case by case. */
function expected(
  reporter: 'source' | 'destination',
  src: typeof FRONTEND,
  dst: typeof FRONTEND,
  destinationService: string,
  policy: string,
): Peers {
  return {
    ...side('source', src),
    ...side('destination', dst),
    destination_service: destinationService,
    connection_security_policy: reporter === 'source' ? 'unknown' : policy,
  } as Peers;
}

function peersOf(s: PromSeries): Peers {
  return Object.fromEntries(PEER_LABELS.map((n) => [n, s.metric[n] ?? ''])) as Peers;
}

describe('integration: both peers on every series, scraped by a real Prometheus', function () {
  this.timeout(90_000);
  let ca: TestCa;
  let cp: ControlPlane;
  const sidecars: Sidecar[] = [];
  let frontend: Sidecar;
  let frontendApp: HttpUpstream;
  let reviewsApp: HttpUpstream;
  let legacyApp: HttpUpstream;
  let echoApp: EchoBackend;
  let dbApp: net.Server;
  let prometheus: PrometheusServer | undefined;

  before(async function () {
    requirePrometheus(this);
    ca = await TestCa.create();
    frontendApp = await startHttpUpstream('frontend-app');
    reviewsApp = await startHttpUpstream('reviews-app');
    legacyApp = await startHttpUpstream('legacy-app');
    echoApp = await startEchoBackend('echo-app');
    dbApp = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => dbApp.listen(0, '127.0.0.1', r));
    cp = await startControlPlane(
      mesh(
        service('frontend', 8000, 'http', []),
        service('reviews', 9080, 'http', []),
        service('echo', 50051, 'grpc', []),
        service('db', 5432, 'tcp', []),
        service('legacy', 8080, 'http', [], {
          endpoints: [
            endpoint('127.0.0.1', legacyApp.port, 8080, {
              labels: { app: 'legacy', version: 'v1' },
            }),
          ],
        }),
      ),
    );
    const meshed = async (name: string, version: string, appPort: number, extra = {}) => {
      const s = await startSidecar(cp.xdsPort, {
        service: name,
        // One process runs them all: each needs its own node id to be its own workload.
        id: `${name}-${version}.default`,
        serviceAccount: name,
        labels: { app: name, version },
        appPort,
        certificates: new ManualCertificates(await ca.issue(sa(name))),
        ...extra,
      });
      sidecars.push(s);
      return s;
    };
    await meshed('reviews', 'v1', reviewsApp.port);
    await meshed('reviews', 'v2', reviewsApp.port);
    await meshed('echo', 'v1', echoApp.port);
    await meshed('db', 'v1', (dbApp.address() as AddressInfo).port);
    frontend = await meshed('frontend', 'v1', frontendApp.port, {
      tcpForwards: [{ port: 0, target: 'db:5432' }],
    });
    await waitForHosts(frontend, clusterName('reviews', 9080), 2);
    await waitForHosts(frontend, clusterName('echo', 50051), 1);
    await waitForHosts(frontend, clusterName('db', 5432), 1);
    // The callees name frontend from EDS: wait until each knows frontend's endpoint.
    for (const s of sidecars) await waitForHosts(s, clusterName('frontend', 8000), 1);
    prometheus = await PrometheusServer.start(
      sidecars.map((s) => `127.0.0.1:${s.ports.metrics}`),
      [`127.0.0.1:${cp.httpPort}`],
    );
  });

  after(async () => {
    prometheus?.stop();
    await Promise.all(sidecars.map((s) => s.stop(0)));
    await cp?.close();
    await Promise.all([frontendApp?.close(), reviewsApp?.close(), legacyApp?.close()]);
    await echoApp?.close();
    dbApp?.close();
  });

  it('HTTP, gRPC and TCP over mTLS and plaintext: each series names both peers as README says', async () => {
    const prom = prometheus!;
    for (let i = 0; i < 10; i++) {
      assert.equal((await send(frontend.ports.outbound, { host: 'reviews:9080' })).status, 200);
    }
    for (let i = 0; i < 4; i++) {
      assert.equal((await send(frontend.ports.outbound, { host: 'legacy:8080' })).status, 200);
    }
    for (let i = 0; i < 5; i++) {
      // A client without a sidecar, straight to frontend's inbound port, in plaintext.
      assert.equal((await send(frontend.ports.inbound, { host: 'frontend:8000' })).status, 200);
    }
    const client = new EchoClient(
      `127.0.0.1:${frontend.ports.outbound}`,
      grpc.credentials.createInsecure(),
      { 'grpc.default_authority': 'echo:50051' },
    );
    for (let i = 0; i < 6; i++) {
      await new Promise<void>((resolve, reject) =>
        (client as unknown as { Call: (b: Buffer, cb: (e: Error | null) => void) => void }).Call(
          Buffer.from('hi'),
          (e) => (e ? reject(e) : resolve()),
        ),
      );
    }
    client.close();
    for (let i = 0; i < 3; i++) {
      const c = net.connect(frontend.tcpForwardPorts[0], '127.0.0.1');
      c.write('ping');
      await new Promise<void>((resolve) => c.once('data', () => resolve()));
      await new Promise<void>((resolve) => c.end(resolve));
      await new Promise<void>((resolve) => c.once('close', () => resolve()));
    }

    // 10 + 10 (reviews, both sides) + 4 (legacy, source) + 5 (client, destination) + 6 + 6.
    let requests: PromSeries[] = [];
    let tcp: PromSeries[] = [];
    await waitFor(
      'Prometheus to have every request and every closed TCP connection',
      async () => {
        requests = await prom.query('istio_requests_total');
        tcp = await prom.query('istio_tcp_connections_closed_total');
        const total = (xs: PromSeries[]) => xs.reduce((n, s) => n + Number(s.value[1]), 0);
        return total(requests) === 41 && total(tcp) === 6;
      },
      60_000,
      250,
    );
    const rows = [...requests, ...tcp].map((s) => ({ s, p: peersOf(s) }));
    for (const { s, p } of rows) {
      console.log(
        `      ${s.metric.__name__.replace('istio_', '')} ${s.metric.reporter}: ${p.source_workload} (${p.source_principal}) -> ${p.destination_workload} (${p.destination_principal}) ${s.metric.request_protocol ?? 'tcp'} ${p.connection_security_policy} = ${s.value[1]}`,
      );
    }
    const find = (name: string, reporter: string, dst: string, src = 'frontend-v1') =>
      rows.filter(
        ({ s, p }) =>
          s.metric.__name__ === name &&
          s.metric.reporter === reporter &&
          p.destination_workload === dst &&
          p.source_workload === src,
      );
    const one = (name: string, reporter: string, dst: string, src?: string) => {
      const found = find(name, reporter, dst, src);
      assert.equal(found.length, 1, `one ${name} ${reporter} series ${src} -> ${dst}`);
      return found[0];
    };
    const requestsTotal = 'istio_requests_total';
    const tcpClosed = 'istio_tcp_connections_closed_total';
    const reviews = (v: string) => workload('reviews', v, sa('reviews'));
    // Sidecar -> sidecar over mTLS, HTTP: both reporters name both peers.
    for (const v of ['v1', 'v2']) {
      for (const reporter of ['source', 'destination'] as const) {
        const row = one(requestsTotal, reporter, `reviews-${v}`);
        assert.deepEqual(
          row.p,
          expected(reporter, FRONTEND, reviews(v), svc('reviews'), 'mutual_tls'),
        );
        assert.equal(row.s.metric.request_protocol, 'http');
        assert.equal(row.s.value[1], '5');
      }
    }
    // gRPC, with its status.
    for (const reporter of ['source', 'destination'] as const) {
      const row = one(requestsTotal, reporter, 'echo-v1');
      assert.deepEqual(
        row.p,
        expected(reporter, FRONTEND, workload('echo', 'v1', sa('echo')), svc('echo'), 'mutual_tls'),
      );
      assert.equal(row.s.metric.request_protocol, 'grpc');
      assert.equal(row.s.metric.grpc_response_status, '0');
      assert.equal(row.s.value[1], '6');
    }
    // TCP.
    for (const reporter of ['source', 'destination'] as const) {
      const row = one(tcpClosed, reporter, 'db-v1');
      assert.deepEqual(
        row.p,
        expected(reporter, FRONTEND, workload('db', 'v1', sa('db')), svc('db'), 'mutual_tls'),
      );
      assert.equal(row.s.value[1], '3');
    }
    // Sidecar -> an endpoint without a sidecar: named from EDS, no principal (plaintext);
    // only the source reports it.
    const legacy = one(requestsTotal, 'source', 'legacy-v1');
    assert.deepEqual(
      legacy.p,
      expected(
        'source',
        { ...FRONTEND, principal: 'unknown' },
        workload('legacy', 'v1', 'unknown'),
        svc('legacy'),
        '',
      ),
    );
    assert.equal(find(requestsTotal, 'destination', 'legacy-v1').length, 0);
    // A client without a sidecar -> frontend: unknown caller, plaintext; destination only.
    const outside = one(requestsTotal, 'destination', 'frontend-v1', 'unknown');
    assert.deepEqual(
      outside.p,
      expected(
        'destination',
        UNKNOWN_SIDE,
        { ...FRONTEND, principal: 'unknown' },
        svc('frontend'),
        'none',
      ),
    );
    assert.equal(outside.s.value[1], '5');

    // Istio's dashboards (istio/istio manifests/addons/dashboards), their queries as written.
    // irate() needs two scrapes of a series: wait for as many series as the test expects.
    const named = async (title: string, promql: string, by: string[], count = 1) => {
      let result: PromSeries[] = [];
      await waitFor(
        `${title} to return ${count} series`,
        async () => {
          result = await prom.query(promql);
          return result.length >= count;
        },
        30_000,
        200,
      );
      for (const s of result) {
        for (const label of by) {
          assert.ok(
            s.metric[label] && s.metric[label] !== 'unknown',
            `${title}: ${label} is ${s.metric[label]} in ${JSON.stringify(s.metric)}`,
          );
        }
      }
      console.log(
        `      ${title}: ${result.map((s) => by.map((l) => s.metric[l]).join('/')).join(', ')}`,
      );
      return result;
    };
    // Service dashboard, "Incoming Requests By Source And Response Code" (mTLS callers).
    const bySource = await named(
      'service dashboard: incoming by source',
      `sum(irate(istio_requests_total{reporter=~"destination",connection_security_policy="mutual_tls",destination_service=~"${svc('reviews')}"}[1m])) by (source_workload, source_workload_namespace, response_code)`,
      ['source_workload', 'source_workload_namespace'],
    );
    assert.deepEqual(
      bySource.map((s) => s.metric.source_workload),
      ['frontend-v1'],
    );
    // Service dashboard, "Incoming Requests By Destination Workload And Response Code".
    const byWorkload = await named(
      'service dashboard: incoming by destination workload',
      `sum(irate(istio_requests_total{reporter=~"destination",destination_service=~"${svc('reviews')}"}[1m])) by (destination_workload, destination_workload_namespace, response_code)`,
      ['destination_workload'],
      2,
    );
    assert.deepEqual(byWorkload.map((s) => s.metric.destination_workload).sort(), [
      'reviews-v1',
      'reviews-v2',
    ]);
    // Workload dashboard, the $srcwl variable and "Outgoing Requests By Destination Workload".
    await named(
      'workload dashboard: $srcwl',
      'sum(istio_requests_total{reporter=~"destination", destination_workload="echo-v1", destination_workload_namespace=~"default"}) by (source_workload)',
      ['source_workload'],
    );
    const outgoing = await named(
      'workload dashboard: outgoing by destination workload',
      'sum(irate(istio_requests_total{reporter=~"source", source_workload="frontend-v1", source_workload_namespace=~"default"}[1m])) by (destination_workload, destination_workload_namespace, response_code)',
      ['destination_workload'],
    );
    assert.deepEqual(outgoing.map((s) => s.metric.destination_workload).sort(), [
      'echo-v1',
      'legacy-v1',
      'reviews-v1',
      'reviews-v2',
    ]);
    await named(
      'workload dashboard: TCP outgoing by destination workload',
      'sum(irate(istio_tcp_sent_bytes_total{reporter=~"source", source_workload="frontend-v1", source_workload_namespace=~"default"}[1m])) by (destination_workload, destination_service)',
      ['destination_workload'],
    );
    // Mesh dashboard: the HTTP/gRPC workloads table, and istio_build.
    await named(
      'mesh dashboard: workloads',
      'sum(rate(istio_requests_total{reporter=~"source|waypoint"}[1m])) by (destination_workload, destination_workload_namespace, destination_service)',
      ['destination_workload', 'destination_workload_namespace'],
    );
    const build = await named(
      'mesh dashboard: istio_build',
      'sum(istio_build) by (component, tag)',
      ['component', 'tag'],
      2,
    );
    assert.deepEqual(
      build.map((s) => `${s.metric.component} ${s.metric.tag} ${s.value[1]}`).sort(),
      [`pilot ${FERRY_VERSION} 1`, `proxy ${FERRY_VERSION} ${sidecars.length}`],
    );

    // Ferry's own Grafana dashboards: every panel that groups by a peer shows names. Run for
    // echo's service and workload (incoming) and frontend's workload (outgoing; frontend's
    // incoming traffic is the client without a sidecar, rightly unknown).
    const peerLabel = /^(source|destination)_(workload|app|version|canonical_\w+|principal)$/;
    const grouped = new Map<string, number>();
    for (const [service, workload] of [
      [svc('echo'), 'echo-v1'],
      [svc('reviews'), 'frontend-v1'],
    ] as const) {
      for (const { panel, expr } of grafanaQueries()) {
        const by = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) =>
          (m[1] ?? '').split(',').map((l) => l.trim()),
        );
        const peers = by.filter((l) => peerLabel.test(l));
        if (peers.length === 0) continue;
        if (
          workload === 'frontend-v1' &&
          expr.includes('reporter="destination",destination_workload')
        )
          continue;
        const promql = expr
          .replaceAll('$__rate_interval', '1m')
          .replaceAll('$service', service)
          .replaceAll('$workload', workload)
          .replaceAll('$namespace', 'default');
        // rate() needs two scrapes of a series in its window: wait for them.
        let result: PromSeries[] = [];
        await waitFor(
          `${panel} (${workload}) to return series`,
          async () => {
            result = await prom.query(promql);
            return result.length > 0;
          },
          30_000,
          250,
        );
        grouped.set(panel, (grouped.get(panel) ?? 0) + result.length);
        for (const series of result) {
          for (const label of peers) {
            assert.notEqual(
              series.metric[label],
              'unknown',
              `${panel} (${workload}): ${label} in ${JSON.stringify(series.metric)}`,
            );
          }
        }
      }
    }
    console.log(
      `      Grafana panels grouped by a peer, series with names: ${[...grouped].map(([p, n]) => `${p.replace('.json', '')} ${n}`).join('; ')}`,
    );
    for (const [panel, n] of grouped) assert.ok(n > 0, `${panel} returned no series`);

    // Kiali's versioned-app graph: every edge, nothing dropped, and the only unknown node is
    // the client without a sidecar.
    const tcpSent = await prom.query('istio_tcp_sent_bytes_total');
    const graph = versionedAppGraph([...requests, ...tcpSent], (s) =>
      s.metric.__name__.startsWith('istio_tcp') ? 'tcp' : (s.metric.request_protocol ?? ''),
    );
    console.log(`      Kiali graph: ${[...graph.edges].sort().join('; ')}`);
    assert.equal(graph.dropped, 0);
    assert.deepEqual([...graph.edges].sort(), [
      'frontend:v1 -> svc:db.default [tcp]',
      'frontend:v1 -> svc:echo.default [grpc]',
      'frontend:v1 -> svc:legacy.default [http]',
      'frontend:v1 -> svc:reviews.default [http]',
      'svc:db.default -> db:v1 [tcp]',
      'svc:echo.default -> echo:v1 [grpc]',
      'svc:frontend.default -> frontend:v1 [http]',
      'svc:legacy.default -> legacy:v1 [http]',
      'svc:reviews.default -> reviews:v1 [http]',
      'svc:reviews.default -> reviews:v2 [http]',
      'unknown -> svc:frontend.default [http]',
    ]);
  });
});
