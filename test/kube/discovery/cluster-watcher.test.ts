/**
 * ClusterWatcher against recorded API server responses replayed over real HTTPS: it lists,
 * follows the watch streams from the lists' resourceVersion, survives the ways a watch ends
 * (410 Gone as an event and as a status, a failed list, a 500 on a watch) and reports the
 * translated services through its one callback.
 */
import assert from 'node:assert/strict';
import { CoreV1Api, DiscoveryV1Api } from '@kubernetes/client-node';
import {
  ClusterWatcher,
  type KubeEndpointSlice,
  type KubePod,
  type KubeService,
  translateCluster,
} from '../../../src/kube/discovery/index.js';
import { silentLogger } from '../../../src/log/index.js';
import type { Service } from '../../../src/mesh/index.js';
import {
  gate,
  ReplayApiServer,
  status,
  TEST_TOKEN,
  watchLines,
} from '../support/replay-api-server.js';
import { fixtureJson, fixtureText } from './fixtures.js';

const SERVICES = '/api/v1/services';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const PODS = '/api/v1/pods';
const NAMESPACES = '/api/v1/namespaces';

/** Collects what onChange reports and lets a test wait for a state. */
class Reports {
  readonly all: Service[][] = [];
  private waiters: { test: (s: Service[]) => boolean; resolve: () => void }[] = [];

  readonly onChange = (services: Service[]) => {
    this.all.push(services);
    this.waiters = this.waiters.filter((w) => {
      if (!w.test(services)) return true;
      w.resolve();
      return false;
    });
  };

  get latest(): Service[] | undefined {
    return this.all.at(-1);
  }

  /** Resolves when a report satisfies `test` (the latest one, or a later one). */
  until(what: string, test: (s: Service[]) => boolean): Promise<Service[]> {
    const latest = this.latest;
    if (latest && test(latest)) return Promise.resolve(latest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `never reported: ${what}; last report: ${JSON.stringify(this.latest?.map(summary))}`,
            ),
          ),
        10_000,
      );
      this.waiters.push({
        test,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.latest as Service[]);
        },
      });
    });
  }
}

function summary(s: Service): string {
  return `${s.name}.${s.namespace}[${s.endpoints.map((e) => `${e.address}:${e.health}`).join(',')}]`;
}

function service(services: Service[], name: string): Service | undefined {
  return services.find((s) => s.name === name);
}

function addresses(services: Service[], name: string): string[] {
  return service(services, name)?.endpoints.map((e) => e.address) ?? [];
}

function recordedServices(): Service[] {
  return translateCluster(
    {
      services: fixtureJson<{ items: KubeService[] }>('services.list.json').items,
      endpointSlices: fixtureJson<{ items: KubeEndpointSlice[] }>('endpointslices.list.json').items,
      pods: fixtureJson<{ items: KubePod[] }>('pods.list.json').items,
    },
    { domain: 'cluster.local' },
  );
}

describe('ClusterWatcher (recorded API server responses over HTTPS)', () => {
  let server: ReplayApiServer;
  let watcher: ClusterWatcher | undefined;
  let reports: Reports;

  beforeEach(async () => {
    server = await ReplayApiServer.start();
    reports = new Reports();
  });

  afterEach(async () => {
    await watcher?.close();
    watcher = undefined;
    await server.close();
  });

  function startWatcher(debounceMs = 20): Promise<void> {
    const kubeConfig = server.kubeConfig();
    watcher = new ClusterWatcher({
      kubeConfig,
      coreApi: kubeConfig.makeApiClient(CoreV1Api),
      discoveryApi: kubeConfig.makeApiClient(DiscoveryV1Api),
      domain: 'cluster.local',
      onChange: reports.onChange,
      log: silentLogger(),
      debounceMs,
      maxDelayMs: 5_000,
      retryMs: 20,
      maxRetryMs: 100,
    });
    return watcher.start();
  }

  function recordedLists(): void {
    server
      .list(SERVICES, { body: fixtureJson('services.list.json') })
      .list(SLICES, { body: fixtureJson('endpointslices.list.json') })
      .list(PODS, { body: fixtureJson('pods.list.json') })
      .list(NAMESPACES, { body: fixtureJson('namespaces.list.json') });
  }

  it('lists, reports the cluster, then follows ADDED / MODIFIED / DELETED from the lists’ resourceVersion', async () => {
    recordedLists();
    const events = gate();
    server
      .watch(SERVICES, {
        lines: watchLines(fixtureText('services.watch.jsonl')),
        gate: events.promise,
      })
      .watch(SLICES, {
        lines: watchLines(fixtureText('endpointslices.watch.jsonl')),
        gate: events.promise,
      })
      .watch(PODS, { lines: watchLines(fixtureText('pods.watch.jsonl')), gate: events.promise });
    await startWatcher();

    const first = await reports.until('the listed cluster', (s) => s.length === 4);
    assert.deepEqual(first, recordedServices(), 'the lists translate as the golden test says');
    assert.equal(reports.all.length, 1, 'one report for the three lists, not one per object');

    for (const path of [SERVICES, SLICES, PODS]) {
      const [watch] = server.requestsTo(path, 'watch');
      assert.ok(watch, `no watch of ${path}`);
      assert.equal(watch.query.get('resourceVersion'), '48213', `${path} watched from its list`);
      assert.equal(watch.authorization, `Bearer ${TEST_TOKEN}`);
    }

    events.open();
    const after = await reports.until(
      'db deleted and web rolled',
      (s) => !service(s, 'db') && addresses(s, 'web').includes('10.244.1.14'),
    );
    assert.deepEqual(
      after.map((s) => s.name),
      ['api', 'kubernetes', 'web'],
    );
    const web = service(after, 'web') as Service;
    assert.deepEqual(
      web.endpoints.map((e) => [e.address, e.health, e.meshed, e.labels.version]),
      [
        ['10.244.1.14', 'HEALTHY', true, 'v2'],
        ['10.244.1.5', 'HEALTHY', true, 'v1'],
        ['10.244.2.9', 'HEALTHY', false, 'v1'],
      ],
    );
    for (let i = 1; i < reports.all.length; i++)
      assert.notDeepEqual(reports.all[i], reports.all[i - 1], 'a report always says something new');
    assert.equal(server.requestsTo(SLICES, 'list').length, 1, 'no relist while the watch is fine');
  });

  it('410 Gone in the watch stream: lists again, watches from the new list, reports what changed meanwhile', async () => {
    recordedLists();
    server.list(
      SLICES,
      { body: fixtureJson('endpointslices.list.json') },
      { body: fixtureJson('endpointslices.relist.json') },
    );
    const expire = gate();
    server.watch(SLICES, {
      lines: watchLines(fixtureText('endpointslices.watch-expired.jsonl')),
      gate: expire.promise,
      end: true,
    });
    await startWatcher();
    await reports.until('the listed cluster', (s) => s.length === 4);
    assert.deepEqual(addresses(reports.latest as Service[], 'api'), [
      '10.244.1.10',
      '10.244.2.11',
      'fd00:10:244:1::a',
    ]);

    expire.open();
    const after = await reports.until(
      'the relisted slices',
      (s) => !addresses(s, 'api').includes('10.244.2.11'),
    );
    assert.deepEqual(addresses(after, 'api'), ['10.244.1.10', 'fd00:10:244:1::a']);
    assert.deepEqual(
      addresses(after, 'db'),
      [],
      'the slice deleted while the watch was down is gone',
    );
    assert.deepEqual(addresses(after, 'web'), ['10.244.1.14', '10.244.1.5', '10.244.2.9']);
    const lists = server.requestsTo(SLICES, 'list');
    assert.equal(lists.length, 2, 'listed again after 410');
    // The relist is reported before the next watch is opened; on a loaded machine that
    // request can still be on its way (regression: asserted at once, failed under load).
    await waitFor(() => server.requestsTo(SLICES, 'watch').length >= 2, 'a second watch');
    const watches = server.requestsTo(SLICES, 'watch');
    assert.deepEqual(
      watches.map((w) => w.query.get('resourceVersion')),
      ['48213', '48530'],
      'the second watch starts from the relist',
    );
  });

  it('410 Gone as the watch’s HTTP status: lists again', async () => {
    recordedLists();
    server.watch(SERVICES, status(410, 'Expired', 'too old resource version: 48213 (48517)'));
    await startWatcher();
    await reports.until('the listed cluster', (s) => s.length === 4);
    await waitFor(
      () => server.requestsTo(SERVICES, 'list').length === 2,
      'a second list of services',
    );
    await waitFor(
      () => server.requestsTo(SERVICES, 'watch').length === 2,
      'a second watch of services',
    );
    assert.deepEqual(reports.latest, recordedServices());
  });

  it('a failed list and a failed watch are retried; nothing is reported before every list is in', async () => {
    server
      .list(
        SERVICES,
        status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
        status(
          403,
          'Forbidden',
          'services is forbidden: User "system:serviceaccount:ferry-system:ferry-control-plane" cannot list resource "services"',
        ),
        { body: fixtureJson('services.list.json') },
      )
      .list(SLICES, { body: fixtureJson('endpointslices.list.json') })
      .list(PODS, { body: fixtureJson('pods.list.json') })
      .list(NAMESPACES, { body: fixtureJson('namespaces.list.json') })
      .watch(PODS, status(500, 'InternalError', 'etcdserver: request timed out'), {
        lines: watchLines(fixtureText('pods.watch.jsonl')),
      });
    await startWatcher();
    const first = await reports.until('the listed cluster', (s) => s.length === 4);
    assert.equal(server.requestsTo(SERVICES, 'list').length, 3, 'services listed until it worked');
    assert.deepEqual(reports.all[0], first, 'the first report is the complete cluster');

    // The pods watch failed once, was opened again from the same resourceVersion (no relist)
    // and delivered the recorded events.
    const after = await reports.until('the deleted pod no longer meshed', (s) =>
      Boolean(service(s, 'web')?.endpoints.some((e) => e.address === '10.244.2.7' && !e.meshed)),
    );
    const drained = service(after, 'web')?.endpoints.find((e) => e.address === '10.244.2.7');
    assert.deepEqual(drained?.labels, {}, 'its pod is gone, and its labels with it');
    assert.equal(server.requestsTo(PODS, 'list').length, 1);
    assert.deepEqual(
      server
        .requestsTo(PODS, 'watch')
        .slice(0, 2)
        .map((w) => w.query.get('resourceVersion')),
      ['48213', '48213'],
    );
  });

  it('a burst of 50 events (a rollout) is one report, of the final state', async () => {
    recordedLists();
    const burst = gate();
    const pod = fixtureJson<{ items: KubePod[] }>('pods.list.json').items[2];
    assert.equal(pod.metadata?.name, 'web-7d9f6c5b8-x1mzp');
    const lines = Array.from({ length: 50 }, (_, i) =>
      JSON.stringify({
        type: 'MODIFIED',
        object: {
          kind: 'Pod',
          apiVersion: 'v1',
          metadata: {
            ...pod.metadata,
            resourceVersion: String(49_000 + i),
            labels: { ...pod.metadata?.labels, revision: String(i) },
          },
          spec: { serviceAccountName: 'web' },
        },
      }),
    );
    server.watch(PODS, { lines, gate: burst.promise, burst: true });
    await startWatcher(100);
    await reports.until('the listed cluster', (s) => s.length === 4);
    burst.open();
    const after = await reports.until('the last revision', (s) =>
      Boolean(service(s, 'web')?.endpoints.some((e) => e.labels.revision === '49')),
    );
    assert.equal(reports.all.length, 2, 'the list, then one report for the whole burst');
    assert.equal(
      service(after, 'web')?.endpoints.find((e) => e.address === '10.244.1.5')?.meshed,
      true,
    );
  });

  it('keeps the namespaces’ labels for the injector, following their watch', async () => {
    recordedLists();
    const relabel = gate();
    const shop = fixtureJson<{ items: { metadata: object }[] }>('namespaces.list.json').items[3];
    server.watch(NAMESPACES, {
      lines: [
        JSON.stringify({
          type: 'MODIFIED',
          object: {
            kind: 'Namespace',
            apiVersion: 'v1',
            metadata: {
              ...shop.metadata,
              resourceVersion: '48300',
              labels: { 'kubernetes.io/metadata.name': 'shop', 'ferry-injection': 'disabled' },
            },
          },
        }),
      ],
      gate: relabel.promise,
    });
    const w = watcher;
    assert.equal(w, undefined);
    await startWatcher();
    await reports.until('the listed cluster', (s) => s.length === 4);
    const cluster = watcher as unknown as ClusterWatcher;
    assert.deepEqual(cluster.namespaceLabels('shop'), {
      'kubernetes.io/metadata.name': 'shop',
      'ferry-injection': 'enabled',
    });
    assert.equal(cluster.namespaceLabels('nowhere'), undefined);
    relabel.open();
    await waitFor(
      () => cluster.namespaceLabels('shop')?.['ferry-injection'] === 'disabled',
      'the relabelled namespace',
    );
  });

  it('setDomain: the same cluster reported again under the new DNS suffix', async () => {
    recordedLists();
    await startWatcher();
    await reports.until('the listed cluster', (s) => s.length === 4);
    const cluster = watcher as unknown as ClusterWatcher;
    cluster.setDomain('mesh.example');
    const renamed = await reports.until('the new domain', (s) =>
      s.every((x) => x.hostname.endsWith('.svc.mesh.example')),
    );
    assert.deepEqual(
      renamed.map((x) => x.hostname),
      [
        'api.shop.svc.mesh.example',
        'db.shop.svc.mesh.example',
        'kubernetes.default.svc.mesh.example',
        'web.shop.svc.mesh.example',
      ],
    );
  });

  it('close() ends the watch connections and sends no request after it', async () => {
    recordedLists();
    await startWatcher();
    await reports.until('the listed cluster', (s) => s.length === 4);
    assert.equal(server.openWatches, 4);
    await watcher?.close();
    await waitFor(() => server.openWatches === 0, 'the client closing its four watches');
    const count = server.requests.length;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(server.requests.length, count);
  });
});

async function waitFor(test: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (test()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`never happened: ${what}`);
}
