import assert from 'node:assert/strict';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { type AdsClient, nodeMetadataFor, types } from '../../src/xds/index.js';
import { clusterName, mesh, service } from '../support/mesh.js';
import {
  adsClient,
  type ClaLike,
  claAddresses,
  deltaResources,
  openDelta,
  openSotw,
  sotwResources,
} from '../support/xds-client.js';

const ECHO = clusterName('echo', 50051);
const WEB = clusterName('web', 8080);

function baseMesh() {
  return mesh(
    service('echo', 50051, 'grpc', [50061, 50062, 50063]),
    service('web', 8080, 'http', [9080]),
  );
}

describe('ADS server', () => {
  let cp: ControlPlane;
  let client: AdsClient;

  beforeEach(async () => {
    cp = await ControlPlane.start({
      config: baseMesh(),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      gracePeriodMs: 300,
      warmupMs: 0,
      log: silentLogger(),
    });
    client = adsClient(cp.xdsPort);
  });

  afterEach(async () => {
    client.close();
    await cp.close();
  });

  describe('state of the world', () => {
    it('sends every cluster to a wildcard CDS subscriber, and only the named CLAs for EDS', async () => {
      const s = openSotw(client);
      s.send({ node: { id: 'sotw-1' }, type_url: types.CLUSTER });
      const cds = await s.next();
      assert.equal(cds.type_url, types.CLUSTER);
      const names = sotwResources<{ name: string }>(cds).map((c) => c.name);
      assert.ok(names.includes(ECHO) && names.includes(WEB), names.join());
      s.send({
        type_url: types.CLUSTER,
        response_nonce: cds.nonce,
        version_info: cds.version_info,
      });
      s.send({ type_url: types.ENDPOINT, resource_names: [ECHO] });
      const eds = await s.next();
      const clas = sotwResources<ClaLike>(eds);
      assert.deepEqual(
        clas.map((c) => c.cluster_name),
        [ECHO],
      );
      assert.deepEqual(claAddresses(clas[0]), [
        '127.0.0.1:50061',
        '127.0.0.1:50062',
        '127.0.0.1:50063',
      ]);
      s.close();
    });

    it('pushes only the changed type after an endpoint change, and an ACK gets no reply', async () => {
      const s = openSotw(client);
      s.send({ node: { id: 'sotw-2' }, type_url: types.CLUSTER });
      const cds = await s.next();
      s.send({
        type_url: types.CLUSTER,
        response_nonce: cds.nonce,
        version_info: cds.version_info,
      });
      s.send({ type_url: types.ENDPOINT, resource_names: [ECHO] });
      const eds = await s.next();
      s.send({
        type_url: types.ENDPOINT,
        resource_names: [ECHO],
        response_nonce: eds.nonce,
        version_info: eds.version_info,
      });
      assert.ok(await s.silentFor(150), 'an ACK must not be answered');

      cp.registry.setMeshConfig(
        mesh(service('echo', 50051, 'grpc', [50061, 50062]), service('web', 8080, 'http', [9080])),
      );
      const pushed = await s.next();
      assert.equal(pushed.type_url, types.ENDPOINT, 'only EDS changed');
      assert.notEqual(pushed.version_info, eds.version_info);
      assert.deepEqual(claAddresses(sotwResources<ClaLike>(pushed)[0]), [
        '127.0.0.1:50061',
        '127.0.0.1:50062',
      ]);
      assert.ok(await s.silentFor(150), 'CDS did not change, so it is not re-sent');
      s.close();
    });

    it('answers a change of subscribed names even when nothing else changed', async () => {
      const s = openSotw(client);
      s.send({ node: { id: 'sotw-3' }, type_url: types.ENDPOINT, resource_names: [ECHO] });
      const first = await s.next();
      s.send({
        type_url: types.ENDPOINT,
        resource_names: [ECHO, WEB],
        response_nonce: first.nonce,
        version_info: first.version_info,
      });
      const second = await s.next();
      assert.deepEqual(
        sotwResources<ClaLike>(second)
          .map((c) => c.cluster_name)
          .sort(),
        [ECHO, WEB].sort(),
      );
      s.close();
    });

    it('records a NACK, shows it on /debug/syncz and does not resend the rejected config', async () => {
      const s = openSotw(client);
      s.send({ node: { id: 'nacker' }, type_url: types.CLUSTER });
      const cds = await s.next();
      s.send({
        type_url: types.CLUSTER,
        response_nonce: cds.nonce,
        version_info: '',
        error_detail: { code: 3, message: 'cluster echo: unsupported lb_policy' },
      });
      assert.ok(await s.silentFor(200), 'a NACK must not loop');
      const syncz = (await (await fetch(`http://127.0.0.1:${cp.httpPort}/debug/syncz`)).json()) as {
        clients: Array<{
          nodeId: string;
          types: Array<{ type: string; lastNack?: { message: string } }>;
        }>;
      };
      const me = syncz.clients.find((c) => c.nodeId === 'nacker');
      assert.equal(
        me?.types.find((t) => t.type === 'CDS')?.lastNack?.message,
        'cluster echo: unsupported lb_policy',
      );
      const metrics = await (await fetch(`http://127.0.0.1:${cp.httpPort}/metrics`)).text();
      assert.match(metrics, /ferry_xds_nacks_total\{type="CDS"\} 1/);
      s.close();
    });

    it('ignores a request whose nonce is stale', async () => {
      const s = openSotw(client);
      s.send({ node: { id: 'stale' }, type_url: types.ENDPOINT, resource_names: [ECHO] });
      const first = await s.next();
      s.send({
        type_url: types.ENDPOINT,
        resource_names: [ECHO, WEB],
        response_nonce: 'not-a-nonce',
      });
      assert.ok(await s.silentFor(150), 'stale request ignored');
      s.send({
        type_url: types.ENDPOINT,
        resource_names: [ECHO],
        response_nonce: first.nonce,
        version_info: first.version_info,
      });
      assert.ok(await s.silentFor(100));
      s.close();
    });
  });

  describe('delta', () => {
    it('sends only changed resources, and removed_resources for deleted ones', async () => {
      const d = openDelta(client);
      d.send({ node: { id: 'delta-1' }, type_url: types.CLUSTER });
      const cds = await d.next();
      assert.deepEqual(
        deltaResources(cds)
          .map((r) => r.name)
          .sort(),
        [ECHO, WEB].sort(),
      );
      d.send({ type_url: types.CLUSTER, response_nonce: cds.nonce });
      d.send({ type_url: types.ENDPOINT, resource_names_subscribe: [ECHO, WEB] });
      const eds = await d.next();
      assert.equal(eds.resources?.length, 2);
      d.send({ type_url: types.ENDPOINT, response_nonce: eds.nonce });

      // One endpoint of echo changes: only echo's CLA is sent.
      cp.registry.setMeshConfig(
        mesh(service('echo', 50051, 'grpc', [50061, 50064]), service('web', 8080, 'http', [9080])),
      );
      const upd = await d.next();
      assert.equal(upd.type_url, types.ENDPOINT);
      const changed = deltaResources<ClaLike>(upd);
      assert.deepEqual(
        changed.map((r) => r.name),
        [ECHO],
      );
      assert.deepEqual(claAddresses(changed[0].value), ['127.0.0.1:50061', '127.0.0.1:50064']);
      d.send({ type_url: types.ENDPOINT, response_nonce: upd.nonce });
      assert.ok(await d.silentFor(150));

      // web is deleted: CDS and EDS both say so in removed_resources.
      cp.registry.setMeshConfig(mesh(service('echo', 50051, 'grpc', [50061, 50064])));
      const got = [await d.next(), await d.next()];
      const byType = new Map(got.map((r) => [r.type_url, r]));
      assert.deepEqual(byType.get(types.CLUSTER)?.removed_resources, [WEB]);
      assert.deepEqual(byType.get(types.CLUSTER)?.resources ?? [], []);
      assert.deepEqual(byType.get(types.ENDPOINT)?.removed_resources, [WEB]);
      d.close();
    });

    it('says a subscribed resource does not exist, and skips what the client already has', async () => {
      const d = openDelta(client);
      d.send({
        node: { id: 'delta-2' },
        type_url: types.ENDPOINT,
        resource_names_subscribe: [ECHO, 'outbound|1||nope'],
      });
      const first = await d.next();
      assert.deepEqual(
        deltaResources(first).map((r) => r.name),
        [ECHO],
      );
      assert.deepEqual(first.removed_resources, ['outbound|1||nope']);
      const echoVersion = deltaResources(first)[0].version;
      d.close();

      // A reconnecting client that already has echo's current version gets nothing for it.
      const again = openDelta(client);
      again.send({
        node: { id: 'delta-2' },
        type_url: types.ENDPOINT,
        resource_names_subscribe: [ECHO, WEB],
        initial_resource_versions: { [ECHO]: echoVersion },
      });
      const res = await again.next();
      assert.deepEqual(
        deltaResources(res).map((r) => r.name),
        [WEB],
      );
      again.close();
    });

    it('records a delta NACK without resending', async () => {
      const d = openDelta(client);
      d.send({ node: { id: 'delta-nack' }, type_url: types.CLUSTER });
      const cds = await d.next();
      d.send({
        type_url: types.CLUSTER,
        response_nonce: cds.nonce,
        error_detail: { code: 3, message: 'bad cluster' },
      });
      assert.ok(await d.silentFor(200));
      const status = cp.ads.status().find((s) => s.nodeId === 'delta-nack');
      assert.equal(status?.types[0].lastNack?.message, 'bad cluster');
      d.close();
    });

    it('unsubscribing stops updates for that resource', async () => {
      const d = openDelta(client);
      d.send({
        node: { id: 'delta-3' },
        type_url: types.ENDPOINT,
        resource_names_subscribe: [ECHO],
      });
      const first = await d.next();
      d.send({
        type_url: types.ENDPOINT,
        response_nonce: first.nonce,
        resource_names_unsubscribe: [ECHO],
      });
      cp.registry.setMeshConfig(
        mesh(service('echo', 50051, 'grpc', [50070]), service('web', 8080, 'http', [9080])),
      );
      assert.ok(await d.silentFor(200));
      d.close();
    });
  });

  describe('warm-up after a start', () => {
    let warm: ControlPlane;
    let warmClient: AdsClient;
    beforeEach(async () => {
      warm = await ControlPlane.start({
        config: baseMesh(),
        xdsPort: 0,
        httpPort: 0,
        debounceMs: 10,
        warmupMs: 600,
        log: silentLogger(),
      });
      warmClient = adsClient(warm.xdsPort);
    });
    afterEach(async () => {
      warmClient.close();
      await warm.close();
    });

    it('answers a new client at once, and a reconnecting one (it has resources) only after the warm-up, with the config then', async () => {
      const t0 = performance.now();
      const fresh = openDelta(warmClient);
      fresh.send({
        node: { id: 'new' },
        type_url: types.ENDPOINT,
        resource_names_subscribe: [ECHO],
      });
      await fresh.next();
      const freshMs = performance.now() - t0;

      const back = openDelta(warmClient);
      back.send({
        node: { id: 'back' },
        type_url: types.ENDPOINT,
        resource_names_subscribe: [ECHO, WEB],
        initial_resource_versions: { [ECHO]: 'old', [WEB]: 'old' },
      });
      // Meanwhile the mesh changes: the held client gets the state after the warm-up.
      warm.registry.setMeshConfig(
        mesh(service('echo', 50051, 'grpc', [50099]), service('web', 8080, 'http', [9080])),
      );
      const res = await back.next();
      const backMs = performance.now() - t0;
      const echo = deltaResources<ClaLike>(res).find((r) => r.name === ECHO);
      console.log(
        `      new client answered after ${freshMs.toFixed(0)} ms, reconnecting one after ${backMs.toFixed(0)} ms (warm-up 600 ms)`,
      );
      assert.ok(freshMs < 500, `new client waited ${freshMs} ms`);
      assert.ok(backMs >= 550, `reconnecting client answered after ${backMs} ms`);
      assert.deepEqual(claAddresses(echo!.value), ['127.0.0.1:50099']);

      // A SotW client saying which version it has is held the same way.
      const sotw = openSotw(warmClient);
      sotw.send({ node: { id: 'sotw-back' }, type_url: types.CLUSTER, version_info: 'v-old' });
      await sotw.next();
      assert.ok(performance.now() - t0 >= 550);
      fresh.close();
      back.close();
      sotw.close();
    });
  });

  describe('auto-registration', () => {
    const workload = {
      service: 'echo',
      namespace: 'default',
      labels: { version: 'v9' },
      serviceAccount: 'echo-sa',
      address: '127.0.0.5',
      inboundPort: 15006,
      outboundPort: 15001,
      appPort: 50099,
      region: '',
      zone: 'b',
      health: 'HEALTHY' as const,
    };

    it('adds an announcing workload to its service EDS, and removes it after the grace period', async () => {
      const watcher = openDelta(client);
      watcher.send({
        node: { id: 'watcher' },
        type_url: types.ENDPOINT,
        resource_names_subscribe: [ECHO],
      });
      const before = await watcher.next();
      assert.equal(claAddresses(deltaResources<ClaLike>(before)[0].value).length, 3);
      watcher.send({ type_url: types.ENDPOINT, response_nonce: before.nonce });

      const sidecar = openDelta(adsClient(cp.xdsPort));
      sidecar.send({
        node: { id: 'echo-pod-1', metadata: nodeMetadataFor(workload) },
        type_url: types.CLUSTER,
      });
      await sidecar.next();
      const added = await watcher.next();
      assert.deepEqual(claAddresses(deltaResources<ClaLike>(added)[0].value), [
        '127.0.0.1:50061',
        '127.0.0.1:50062',
        '127.0.0.1:50063',
        '127.0.0.5:15006',
      ]);
      watcher.send({ type_url: types.ENDPOINT, response_nonce: added.nonce });

      const closedAt = Date.now();
      sidecar.close();
      assert.ok(await watcher.silentFor(150), 'still registered during the grace period');
      const removed = await watcher.next(2000);
      assert.ok(Date.now() - closedAt >= 280, 'removed only after the grace period');
      assert.equal(claAddresses(deltaResources<ClaLike>(removed)[0].value).length, 3);
      watcher.close();
    });

    it('gives a sidecar its own inbound listener and an outbound listener', async () => {
      const sidecar = openSotw(client);
      sidecar.send({
        node: { id: 'echo-pod-2', metadata: nodeMetadataFor(workload) },
        type_url: types.LISTENER,
      });
      const lds = await sidecar.next();
      const names = sotwResources<{ name: string }>(lds)
        .map((l) => l.name)
        .sort();
      assert.deepEqual(names, ['virtualInbound', 'virtualOutbound']);
      const dump = (await (
        await fetch(`http://127.0.0.1:${cp.httpPort}/debug/config_dump?node=echo-pod-2`)
      ).json()) as { resources: { CDS: Array<{ name: string }> } };
      assert.ok(dump.resources.CDS.some((c) => c.name === 'inbound|50099||'));
      sidecar.close();
    });

    it('refuses a stream whose node metadata is invalid, naming the key', async () => {
      const s = openSotw(client);
      s.send({
        node: { id: 'bad', metadata: nodeMetadataFor({ ...workload, address: 'not-an-ip' }) },
        type_url: types.CLUSTER,
      });
      const err = await s.failure();
      assert.equal(err.code, 3);
      assert.match(err.details, /FERRY_ADDRESS must be an IP literal/);
    });
  });

  describe('debug HTTP', () => {
    it('serves /healthz, /metrics and 404s for unknown nodes', async () => {
      const base = `http://127.0.0.1:${cp.httpPort}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /# TYPE ferry_xds_connected_clients gauge/);
      assert.match(metrics, /# TYPE ferry_xds_push_convergence_seconds histogram/);
      const missing = await fetch(`${base}/debug/config_dump?node=ghost`);
      assert.equal(missing.status, 404);
      assert.match(((await missing.json()) as { error: string }).error, /ghost/);
      const shared = (await (await fetch(`${base}/debug/config_dump`)).json()) as {
        resources: { EDS: Array<{ name: string }> };
      };
      assert.ok(shared.resources.EDS.some((r) => r.name === ECHO));
    });
  });
});
