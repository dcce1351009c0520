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
import { XdsClient } from '../../../src/xds-client/index.js';
import { caInDir, tempDir } from '../../identity/support.js';
import { waitFor } from '../../support/wait-for.js';
import { FuzzAdsServer, staticCluster } from '../gateway/gateway-harness.js';

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
      /^worker \d+: .*this worker refuses refused-x/,
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
