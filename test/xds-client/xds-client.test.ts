/**
 * The xDS client against a real in-process control plane over gRPC on 127.0.0.1, in both
 * ADS variants.
 */
import assert from 'node:assert/strict';
import { ControlPlane } from '../../src/controlplane/index.js';
import type { Logger } from '../../src/log/index.js';
import { silentLogger } from '../../src/log/index.js';
import type { MeshConfig } from '../../src/mesh/index.js';
import { types } from '../../src/xds/index.js';
import { type ProxyConfig, XdsClient, type XdsClientOptions } from '../../src/xds-client/index.js';
import { clusterName, mesh, service } from '../support/mesh.js';
import {
  addresses,
  configWhere,
  eventually,
  recordingLogger,
  sidecarNode,
  vhostNames,
} from './support.js';

const ECHO = clusterName('echo', 50051);
const WEB = clusterName('web', 8080);
const API = clusterName('api', 7070);
const INBOUND = 'inbound|9080||';
const OUTBOUND_ROUTES = 'outbound.default';
const SELF = '127.0.0.1:15006';

function baseMesh(echoPorts = [50061, 50062]): MeshConfig {
  return mesh(service('echo', 50051, 'grpc', echoPorts), service('web', 8080, 'http', [9080]));
}

function startControlPlane(config: MeshConfig, xdsPort = 0, warmupMs = 200): Promise<ControlPlane> {
  return ControlPlane.start({
    config,
    xdsPort,
    httpPort: 0,
    debounceMs: 10,
    // A short warm-up, as in production (5 s): a reconnecting client is answered once its own
    // workload is registered again, so nothing that depends on it changes back and forth.
    warmupMs,
    log: silentLogger(),
  });
}

/** Settled: the sidecar's own registration has reached web's assignment. */
function settled(config: ProxyConfig): boolean {
  return addresses(config.endpoints.get(WEB)).includes(SELF);
}

for (const mode of ['delta', 'sotw'] as const) {
  describe(`xDS client (${mode})`, () => {
    let cp: ControlPlane;
    const clients: XdsClient[] = [];
    const servers: ControlPlane[] = [];
    let nodeCounter = 0;

    function client(extra: Partial<XdsClientOptions> = {}, log: Logger = silentLogger()) {
      const c = new XdsClient({
        address: `127.0.0.1:${cp.xdsPort}`,
        node: sidecarNode(`web-${mode}-${++nodeCounter}`),
        mode,
        log,
        backoff: { baseMs: 20, maxMs: 200 },
        ...extra,
      });
      clients.push(c);
      c.start();
      return c;
    }

    beforeEach(async () => {
      cp = await startControlPlane(baseMesh());
      servers.push(cp);
    });

    afterEach(async () => {
      for (const c of clients.splice(0)) c.close();
      await Promise.all(servers.splice(0).map((s) => s.close()));
    });

    it('emits a first complete config: listeners, their route configs, clusters and CLAs', async () => {
      const c = client();
      const config = await c.ready(5000);
      assert.equal(config.version, 1);
      assert.deepEqual([...config.listeners.keys()], ['virtualInbound', 'virtualOutbound']);
      assert.deepEqual([...config.routes.keys()].sort(), [INBOUND, OUTBOUND_ROUTES].sort());
      assert.deepEqual(vhostNames(config.routes.get(OUTBOUND_ROUTES)), [
        'echo.default.svc.cluster.local:50051',
        'web.default.svc.cluster.local:8080',
      ]);
      assert.deepEqual(
        [...config.clusters.keys()].sort(),
        [ECHO, WEB, INBOUND, 'PassthroughCluster'].sort(),
      );
      assert.deepEqual([...config.endpoints.keys()].sort(), [ECHO, WEB].sort());
      assert.deepEqual(addresses(config.endpoints.get(ECHO)), [
        '127.0.0.1:50061',
        '127.0.0.1:50062',
      ]);
      assert.ok(Object.isFrozen(config.listeners.get('virtualInbound')?.value));

      const status = c.status();
      assert.equal(status.connected, true);
      assert.equal(status.mode, mode);
      assert.equal(status.configVersion, config.version);
      const byType = new Map(status.types.map((t) => [t.type, t]));
      assert.equal(byType.get('LDS')?.names, '*');
      assert.deepEqual(byType.get('EDS')?.names, [ECHO, WEB].sort());
      assert.deepEqual(byType.get('RDS')?.names, [INBOUND, OUTBOUND_ROUTES].sort());
      assert.ok(byType.get('CDS')?.nonce);

      // The control plane sees every type ACKed and none rejected.
      const nodeId = `web-${mode}-${nodeCounter}`;
      const seen = () => cp.ads.status().find((s) => s.nodeId === nodeId);
      await eventually(
        () => seen()?.types.length === 4 && seen()!.types.every((t) => t.lastAckedVersion),
        'every type to be ACKed',
      );
      assert.equal(seen()?.mode, mode);
      for (const t of seen()?.types ?? []) assert.equal(t.lastNack, undefined, `${t.type} NACKed`);
    });

    it('turns an endpoint change into a new config where only that CLA changed', async () => {
      const c = client();
      await c.ready(5000);
      const before = await configWhere(c, settled);
      cp.registry.setMeshConfig(baseMesh([50061, 50063]));
      const after = await configWhere(c, (cfg) =>
        addresses(cfg.endpoints.get(ECHO)).includes('127.0.0.1:50063'),
      );
      assert.equal(after.version, before.version + 1);
      for (const field of ['listeners', 'routes', 'clusters'] as const) {
        assert.deepEqual([...after[field].keys()], [...before[field].keys()]);
        for (const [name, entry] of after[field])
          assert.equal(entry, before[field].get(name), `${field} ${name} is unchanged`);
      }
      assert.equal(after.endpoints.get(WEB), before.endpoints.get(WEB));
      assert.notEqual(after.endpoints.get(ECHO), before.endpoints.get(ECHO));
    });

    it('follows a new service: its cluster, CLA and virtual host arrive together', async () => {
      const c = client();
      await c.ready(5000);
      cp.registry.setMeshConfig(
        mesh(...baseMesh().services, service('api', 7070, 'http', [17070, 17071])),
      );
      const config = await configWhere(c, (cfg) => cfg.clusters.has(API));
      // A config is only emitted complete: the new cluster comes with its assignment.
      assert.deepEqual(addresses(config.endpoints.get(API)), [
        '127.0.0.1:17070',
        '127.0.0.1:17071',
      ]);
      await configWhere(c, (cfg) =>
        vhostNames(cfg.routes.get(OUTBOUND_ROUTES)).includes('api.default.svc.cluster.local:7070'),
      );
      assert.ok(
        c
          .status()
          .types.find((t) => t.type === 'EDS')
          ?.names.includes(API),
      );
    });

    it('drops a removed service and unsubscribes from its CLA', async () => {
      const c = client();
      await c.ready(5000);
      cp.registry.setMeshConfig(mesh(service('web', 8080, 'http', [9080])));
      const config = await configWhere(
        c,
        (cfg) =>
          !cfg.clusters.has(ECHO) &&
          !vhostNames(cfg.routes.get(OUTBOUND_ROUTES)).some((n) => n.startsWith('echo.')),
      );
      assert.equal(config.endpoints.has(ECHO), false);
      assert.deepEqual(c.status().types.find((t) => t.type === 'EDS')?.names, [WEB]);
    });

    it('NACKs a route the compile hook rejects and keeps the last good one', async () => {
      const c = client({
        compile: (typeUrl, name, value) =>
          typeUrl === types.ROUTE && JSON.stringify(value).includes('blocked.default')
            ? { ok: false, error: `route config ${name} routes to the blocked service` }
            : { ok: true, compiled: undefined },
      });
      const first = await c.ready(5000);
      const nodeId = `web-${mode}-${nodeCounter}`;
      cp.registry.setMeshConfig(
        mesh(...baseMesh().services, service('blocked', 7171, 'http', [1])),
      );
      let message: string | undefined;
      await eventually(() => {
        const rds = cp.ads
          .status()
          .find((s) => s.nodeId === nodeId)
          ?.types.find((t) => t.type === 'RDS');
        message = rds?.lastNack?.message;
        return message !== undefined;
      }, 'the NACK to reach the control plane');
      assert.match(
        message ?? '',
        /RDS "outbound.default": route config outbound.default routes to the blocked service/,
      );
      assert.ok(c.status().nacks >= 1, 'the NACK is counted');
      assert.ok(
        (c.status().types.find((t) => t.type === 'RDS')?.nacks ?? 0) >= 1,
        'and counted by type',
      );
      assert.match(c.status().types.find((t) => t.type === 'RDS')?.lastNack ?? '', /blocked/);
      // The cluster and its CLA were fine and are accepted; the route config stays as it was.
      const config = await configWhere(c, (cfg) => cfg.clusters.has(clusterName('blocked', 7171)));
      assert.equal(config.routes.get(OUTBOUND_ROUTES), first.routes.get(OUTBOUND_ROUTES));
      assert.equal(c.current()?.routes.get(OUTBOUND_ROUTES), first.routes.get(OUTBOUND_ROUTES));
    });

    it('regression: a client reconnecting after the warm-up is answered only once its own registration is published', async () => {
      // It used to be answered at once, from a snapshot without its own endpoint: web's
      // cluster lost its mTLS match (web had no meshed endpoint left) and got it back a
      // moment later, so the client rebuilt it twice. A loaded machine, whose reconnect
      // comes after the warm-up, saw this in the test below.
      const c = client();
      const before = await configWhere(c, settled);
      const port = cp.xdsPort;
      const webClusters: unknown[] = [];
      c.onConfig((cfg) => webClusters.push(cfg.clusters.get(WEB)));
      await cp.close();
      await eventually(() => !c.status().connected, 'the client to notice the disconnect');
      const next = await startControlPlane(baseMesh([50061, 50065]), port, 0);
      servers.push(next);
      await configWhere(
        c,
        (cfg) => settled(cfg) && addresses(cfg.endpoints.get(ECHO)).includes('127.0.0.1:50065'),
      );
      assert.ok(webClusters.length > 0);
      for (const w of webClusters)
        assert.equal(w, before.clusters.get(WEB), "web's cluster changed");
    });

    it('keeps its config while the control plane is down, and converges with a new one on the same port', async () => {
      const { log, records } = recordingLogger();
      const c = client({}, log);
      const before = await configWhere(c, settled);
      const port = cp.xdsPort;
      let emitted = 0;
      c.onConfig(() => emitted++);

      await cp.close();
      await eventually(() => !c.status().connected, 'the client to notice the disconnect');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(c.current(), before, 'the last good config stays in force');
      assert.equal(emitted, 0, 'no config is emitted on disconnect');
      const mark = records.length;

      // A new control plane on the same port, where echo's endpoints have changed.
      const next = await startControlPlane(baseMesh([50061, 50065]), port);
      servers.push(next);
      const after = await configWhere(
        c,
        (cfg) => settled(cfg) && addresses(cfg.endpoints.get(ECHO)).includes('127.0.0.1:50065'),
      );
      assert.equal(c.status().connected, true);
      assert.equal(after.listeners.get('virtualOutbound'), before.listeners.get('virtualOutbound'));
      assert.equal(after.clusters.get(WEB), before.clusters.get(WEB));
      const nodeId = `web-${mode}-${nodeCounter}`;
      await eventually(
        () => next.ads.status().some((s) => s.nodeId === nodeId && s.types.length === 4),
        'the new control plane to see every subscription again',
      );

      if (mode === 'delta') {
        // initial_resource_versions told the new server what the client has: unchanged
        // listeners, route configs and clusters were not sent again.
        const firstAccepted = (type: string) =>
          records.slice(mark).find((r) => r.msg === 'xDS response accepted' && r.type === type) as
            | { resources: number }
            | undefined;
        await eventually(
          () => ['LDS', 'RDS', 'CDS'].every((type) => firstAccepted(type)),
          'a response of every type',
        );
        for (const type of ['LDS', 'RDS', 'CDS'])
          assert.equal(firstAccepted(type)?.resources, 0, `${type} was resent`);
      }
    });
  });
}
