/**
 * A primary's xDS client and its workers (real worker processes, a real ADS server): a
 * response is ACKed only once every worker applied the configuration it completed, and a
 * worker that refuses it makes it a NACK with that worker's reason, the response undone
 * (the resources before it come back to every worker).
 */
import assert from 'node:assert/strict';
import cluster from 'node:cluster';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IssuedCertificate } from '../../../src/identity/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { WorkerPool } from '../../../src/proxy/workers/index.js';
import { types } from '../../../src/xds/index.js';
import { type CompileHook, XdsClient } from '../../../src/xds-client/index.js';
import { caInDir, tempDir } from '../../identity/support.js';
import { waitFor } from '../../support/wait-for.js';
import { any, FuzzAdsServer, staticCluster } from '../gateway/gateway-harness.js';

const WORKER = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  'fixtures/refusing-worker.js',
);

describe('WorkerPool: the primary ACKs what every worker applied', function () {
  this.timeout(30_000);
  let ads: FuzzAdsServer;
  let pool: WorkerPool;
  let xds: XdsClient;

  before(async () => {
    ads = new FuzzAdsServer();
    await ads.start();
    ads.set(types.LISTENER, []);
    ads.set(types.CLUSTER, [staticCluster('app', 1)]);
    ads.set(types.ROUTE, []);
    ads.set(types.ENDPOINT, []);
    cluster.setupPrimary({ exec: WORKER, silent: false });
    pool = new WorkerPool({ workers: 2, log: silentLogger() });
    pool.start();
    xds = new XdsClient({
      address: `127.0.0.1:${ads.port}`,
      node: { id: 'primary-1.default' },
      mode: 'sotw',
      log: silentLogger(),
      compile: () => ({ ok: true, compiled: undefined }),
      confirm: pool.confirm,
    });
    xds.onConfig((config) => pool.configure(config));
    xds.start();
    const first = await xds.ready(20_000);
    await pool.whenApplied(first.version, 20_000);
  });

  after(async () => {
    xds?.close();
    await pool?.stop(0);
    ads?.close();
    cluster.setupPrimary({ exec: process.argv[1] });
  });

  const clusters = () => [...(xds.current()?.clusters.keys() ?? [])].sort();

  it('ACKs a response only once both workers run its configuration', async () => {
    const [nonce] = ads.push(types.CLUSTER, [staticCluster('app', 1), staticCluster('app2', 2)]);
    assert.deepEqual(await ads.reply(nonce, 10_000), { ack: true });
    // The ACK was sent after the workers' reports: by the time it arrives, both applied it.
    const version = xds.current()!.version;
    assert.deepEqual(clusters(), ['app', 'app2']);
    for (const w of pool.applied()) assert.ok(w.applied >= version, JSON.stringify(w));
  });

  it('NACKs with the refusing worker’s reason, and every worker goes back to the last good resources', async () => {
    const before = xds.current()!.version;
    const [nonce] = ads.push(types.CLUSTER, [
      staticCluster('app', 1),
      staticCluster('refused-x', 3),
    ]);
    const reply = await ads.reply(nonce, 10_000);
    assert.equal(reply.ack, false);
    assert.match(
      (reply as { error: string }).error,
      /^worker \d+: CDS "refused-x": this worker refuses refused-x$/,
    );
    // Undone: the primary's configuration is the one before, emitted again for the workers.
    assert.deepEqual(clusters(), ['app', 'app2']);
    const restored = xds.current()!.version;
    assert.ok(restored > before + 1, `${restored} after ${before}`);
    await waitFor(
      'both workers on the restored configuration',
      () => pool.allApplied(restored),
      10_000,
    );
    assert.equal(xds.status().nacks, 1);
  });

  it('ACKs the next good response again', async () => {
    const [nonce] = ads.push(types.CLUSTER, [staticCluster('app3', 4)]);
    assert.deepEqual(await ads.reply(nonce, 10_000), { ack: true });
    assert.deepEqual(clusters(), ['app3']);
  });
});

/** A cluster whose endpoints come over EDS (ADS). */
function edsCluster(name: string) {
  return any(types.CLUSTER, {
    name,
    type: 'EDS',
    connect_timeout: { seconds: 1 },
    eds_cluster_config: { eds_config: { ads: {} } },
  });
}

function assignment(name: string, port: number) {
  return any(types.ENDPOINT, {
    cluster_name: name,
    endpoints: [
      {
        lb_endpoints: [
          { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } },
        ],
      },
    ],
  });
}

/**
 * Regression: a response that completed no configuration (a cluster whose endpoints had not
 * come yet) was ACKed by the primary at once, before any worker had compiled it; the worker's
 * refusal then NACKed whichever later response completed the configuration. The same
 * sequence of responses is now answered by a primary with real workers exactly as by a
 * single process whose compiler refuses what one worker's refuses: the same response ACKed
 * or NACKed, for the same reason.
 */
describe('WorkerPool: the primary answers each response as a single process does', function () {
  this.timeout(60_000);
  // Each side has its own ADS server, given the same pushes.
  const single = { ads: new FuzzAdsServer(), xds: undefined as XdsClient | undefined };
  const primary = { ads: new FuzzAdsServer(), xds: undefined as XdsClient | undefined };
  let pool: WorkerPool;
  // The refusing worker's compiler, run in this one process.
  const refusing: CompileHook = (_typeUrl, name) =>
    name.startsWith('refused-')
      ? { ok: false, error: `this worker refuses ${name}` }
      : { ok: true, compiled: undefined };

  const client = (ads: FuzzAdsServer, more: object) =>
    new XdsClient({
      address: `127.0.0.1:${ads.port}`,
      node: { id: 'p-1.default' },
      mode: 'sotw',
      log: silentLogger(),
      // Nothing asked for and unanswered is taken to be empty while a test runs.
      resourceTimeoutMs: 600_000,
      compile: () => ({ ok: true, compiled: undefined }),
      ...more,
    });

  before(async () => {
    for (const side of [single, primary]) {
      await side.ads.start();
      side.ads.set(types.LISTENER, []);
      side.ads.set(types.CLUSTER, [staticCluster('app', 1)]);
      // No ENDPOINT set: an EDS cluster's assignment does not come until a test pushes it.
    }
    cluster.setupPrimary({ exec: WORKER, silent: false });
    pool = new WorkerPool({ workers: 2, log: silentLogger() });
    pool.start();
    single.xds = client(single.ads, { compile: refusing });
    primary.xds = client(primary.ads, { confirm: pool.confirm });
    primary.xds.onConfig((config) => pool.configure(config));
    single.xds.start();
    primary.xds.start();
    await single.xds.ready(20_000);
    const first = await primary.xds.ready(20_000);
    await pool.whenApplied(first.version, 20_000);
  });

  after(async () => {
    single.xds?.close();
    primary.xds?.close();
    await pool?.stop(0);
    single.ads.close();
    primary.ads.close();
    cluster.setupPrimary({ exec: process.argv[1] });
  });

  /** Pushes to both sides; resolves with each side's answer. */
  async function push(typeUrl: string, resources: ReturnType<typeof any>[]) {
    const [s] = single.ads.push(typeUrl, resources);
    const [p] = primary.ads.push(typeUrl, resources);
    return {
      single: await single.ads.reply(s, 15_000),
      primary: await primary.ads.reply(p, 15_000),
    };
  }

  /** The same answer: both ACK, or both NACK with the single process's reason. */
  function same(r: Awaited<ReturnType<typeof push>>, ack: boolean): void {
    assert.equal(r.single.ack, ack, JSON.stringify(r));
    assert.equal(r.primary.ack, ack, JSON.stringify(r));
    if (!r.single.ack && !r.primary.ack) {
      // The primary names the worker that refused, then the single process's reason.
      const m = /^worker \d+: (.*)$/s.exec(r.primary.error);
      assert.ok(m, r.primary.error);
      assert.equal(m[1], r.single.error);
    }
  }

  it('NACKs a cluster one worker refuses although its endpoints have not come (no configuration completed)', async () => {
    const versionBefore = primary.xds!.current()!.version;
    const r = await push(types.CLUSTER, [staticCluster('app', 1), edsCluster('refused-eds')]);
    same(r, false);
    assert.equal(
      (r.single as { error: string }).error,
      'CDS "refused-eds": this worker refuses refused-eds',
    );
    // Undone: the primary's clusters are those before; no worker runs anything new.
    assert.deepEqual([...primary.xds!.current()!.clusters.keys()], ['app']);
    assert.ok(pool.allApplied(versionBefore));
  });

  it('ACKs a cluster every worker compiles, before its endpoints come, then the endpoints', async () => {
    same(await push(types.CLUSTER, [staticCluster('app', 1), edsCluster('orders')]), true);
    // Incomplete: nothing was emitted for it yet (the single process has no new one either).
    assert.deepEqual([...primary.xds!.current()!.clusters.keys()], ['app']);
    same(await push(types.ENDPOINT, [assignment('orders', 2)]), true);
    const version = primary.xds!.current()!.version;
    assert.deepEqual([...primary.xds!.current()!.clusters.keys()], ['app', 'orders']);
    assert.ok(pool.allApplied(version), JSON.stringify(pool.applied()));
  });

  it('NACKs a refused cluster in a response that completes a configuration, and ACKs the next good one', async () => {
    same(
      await push(types.CLUSTER, [
        staticCluster('app', 1),
        edsCluster('orders'),
        staticCluster('refused-static', 3),
      ]),
      false,
    );
    same(await push(types.CLUSTER, [staticCluster('app', 1), edsCluster('orders')]), true);
    assert.equal(primary.xds!.status().nacks, single.xds!.status().nacks);
    assert.equal(primary.xds!.status().nacks, 2);
  });
});

describe('WorkerPool: the workload certificate reaches the workers', function () {
  this.timeout(30_000);

  it('regression: workers get a key that loads (IPC sent the certificate as JSON, its key redacted)', async () => {
    const tmp = tempDir();
    cluster.setupPrimary({ exec: WORKER, silent: false });
    const { ca } = await caInDir(tmp.dir);
    const issued = await ca.issueLocal('spiffe://cluster.local/ns/default/sa/w', 3_600_000, {});
    const certificate = new IssuedCertificate(issued.key, issued.chain, issued.roots);
    // What an identity client hands out: JSON of it never shows the key.
    assert.match(JSON.stringify(certificate), /"key":"\[redacted\]"/);
    const pool = new WorkerPool({
      workers: 2,
      log: silentLogger(),
      certificates: { current: () => certificate, onChange: () => () => undefined },
    });
    try {
      pool.start();
      await waitFor(
        'both workers to hold a certificate whose key loads',
        async () => {
          const { perWorker } = await pool.metrics();
          return (
            perWorker.length === 2 && perWorker.every((w) => w.stats.certificateKeyLoads === 1)
          );
        },
        20_000,
        50,
      );
    } finally {
      await pool.stop(0);
      cluster.setupPrimary({ exec: process.argv[1] });
      tmp.remove();
    }
  });
});
