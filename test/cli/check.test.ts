/**
 * `ferry check` against a real control plane with its CA on and real sidecars: a healthy
 * mesh passes every check; then a sidecar whose certificate is near its expiry and an xDS
 * client that never acknowledges its listeners fail theirs, each with the reason.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { caCheck, runCheck, webhookCheck } from '../../src/cli/check.js';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import type { Sidecar } from '../../src/proxy/index.js';
import { type AdsClient, nodeMetadataFor, types } from '../../src/xds/index.js';
import { runCli } from '../support/cli-process.js';
import { closedPort } from '../support/http-upstream.js';
import { mesh, service } from '../support/mesh.js';
import { startSidecar } from '../support/mesh-harness.js';
import { sink } from '../support/output-sink.js';
import { ManualCertificates, TestCa } from '../support/test-ca.js';
import { adsClient, openSotw } from '../support/xds-client.js';

describe('ferry check', function () {
  this.timeout(30_000);
  let dir: string;
  let cp: ControlPlane;
  let url: string;
  let ca: TestCa;
  const sidecars: Sidecar[] = [];

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-check-'));
    cp = await ControlPlane.start({
      config: mesh(service('web', 8080, 'http', []), service('api', 8081, 'http', [])),
      xdsPort: 0,
      httpPort: 0,
      securePort: 0,
      caDir: path.join(dir, 'ca'),
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    url = `http://127.0.0.1:${cp.httpPort}`;
    ca = await TestCa.create();
    for (const svc of ['web', 'api']) {
      sidecars.push(
        await startSidecar(cp.xdsPort, {
          service: svc,
          id: `${svc}-1.default`,
          certificates: new ManualCertificates(
            await ca.issue(`spiffe://cluster.local/ns/default/sa/${svc}`, 3_600_000),
          ),
        }),
      );
    }
  });

  after(async () => {
    for (const s of sidecars) await s.stop(0);
    await cp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('passes every check on a healthy mesh, a ✔ line each', async () => {
    const out = sink();
    assert.equal(await runCheck(['--control-plane', url], out, {}), 0, out.text);
    const lines = out.text.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `^✔ control plane reachable at http://127\\.0\\.0\\.1:${cp.httpPort} \\(ferry \\d`,
      ),
    );
    assert.match(
      lines[1] ?? '',
      /^✔ CA healthy: root of cluster\.local valid for \d+ days; the secure port's certificate for \d+ h$/,
    );
    assert.match(lines[2] ?? '', /^✔ 2 sidecars synced \(config version \d+\)$/);
    assert.equal(lines[3], '✔ no rejected configuration (NACK) outstanding');
    assert.equal(
      lines[4],
      '✔ certificates: 2 valid with more than a quarter of their lifetime left',
    );
    assert.equal(lines[6], 'All checks passed');
    assert.doesNotMatch(out.text, /✖/);
  });

  it('fails with the reason for a stale sidecar and a certificate near expiry', async () => {
    // A sidecar whose certificate has a few seconds of its minute left (rotation failed).
    const dying = await startSidecar(cp.xdsPort, {
      service: 'web',
      id: 'web-2.default',
      certificates: new ManualCertificates(
        await ca.issue('spiffe://cluster.local/ns/default/sa/web', 8_000),
      ),
    });
    sidecars.push(dying);
    // An xDS client that is sent its listeners and never acknowledges them.
    const client: AdsClient = adsClient(cp.xdsPort);
    const probe = openSotw(client);
    try {
      probe.send({
        node: {
          id: 'stuck-1.default',
          metadata: nodeMetadataFor({
            service: 'api',
            namespace: 'default',
            labels: {},
            serviceAccount: 'api',
            address: '127.0.0.1',
            inboundPort: 15006,
            outboundPort: 15001,
            region: '',
            zone: '',
            health: 'HEALTHY',
          }),
        },
        type_url: types.LISTENER,
      });
      await probe.latest();
      const out = sink();
      assert.equal(await runCheck(['--control-plane', url, '--wait', '100'], out, {}), 1);
      assert.match(
        out.text,
        /^✖ 1 of 4 sidecars not synced: stuck-1\.default \(LDS version \d+ unacknowledged since connecting\)\n {4}→ see its log/m,
      );
      assert.match(
        out.text,
        /^✖ certificates near expiry: web-2\.default \(spiffe:\/\/cluster\.local\/ns\/default\/sa\/web, serial [0-9A-F]+\) expires in \d+ s, at 20\S+Z\n {4}→ rotation has failed/m,
      );
      assert.match(out.text, /^✔ control plane reachable/m);
      assert.match(out.text, /^✔ no rejected configuration/m);
      assert.match(out.text, /^2 checks failed$/m);
    } finally {
      probe.close();
      client.close();
    }
  });

  it('says what to do when the control plane does not answer, with exit code 1', async () => {
    const port = await closedPort();
    const r = await runCli(['check', '--control-plane', `http://127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(
      r.stdout,
      /^✖ control plane not reachable: cannot reach the control plane at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n {4}→ start it \(npm start, or ferry control-plane\)/,
    );
  });
});

describe('ferry check: the CA and webhook lines', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const ca = {
    trustDomain: 'cluster.local',
    rootNotAfter: '2036-01-01T00:00:00Z',
    certTtlMs: 86_400_000,
    spiffeId: 'spiffe://cluster.local/ns/ferry-system/sa/ferry-control-plane',
    servingNotAfter: '2026-01-01T12:00:00Z',
  };

  it('fails a root near its end, and a serving certificate not issued', () => {
    const near = caCheck(
      { ca: { ...ca, rootNotAfter: '2026-01-11T00:00:00Z' }, webhook: null },
      now,
    );
    assert.equal(near.ok, false);
    assert.match(near.text, /^CA: the root of cluster\.local expires in 10 days/);
    assert.match(near.fix ?? '', /plug in a new root/);
    const unissued = caCheck({ ca: { ...ca, servingNotAfter: null }, webhook: null }, now);
    assert.equal(unissued.ok, false);
    assert.match(unissued.text, /own certificate .* is not issued/);
    assert.equal(caCheck({ ca: null, webhook: null }, now).ok, true);
  });

  it("checks the webhook's caBundle only with the webhook, and fails a stale one", () => {
    assert.equal(webhookCheck({ ca, webhook: null }), undefined);
    const webhook = {
      port: 15017,
      config: 'ferry-sidecar-injector',
      checkedAt: '2026-01-01T00:00:00Z',
    };
    assert.equal(webhookCheck({ ca, webhook: { ...webhook, caBundleCurrent: true } })?.ok, true);
    const stale = webhookCheck({ ca, webhook: { ...webhook, caBundleCurrent: false } });
    assert.equal(stale?.ok, false);
    assert.match(
      stale?.text ?? '',
      /caBundle of MutatingWebhookConfiguration ferry-sidecar-injector is not the mesh root/,
    );
  });
});
