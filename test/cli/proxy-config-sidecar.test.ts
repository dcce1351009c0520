/**
 * `ferry proxy-config` and `proxy-status` against a real control plane and real sidecars:
 * istioctl's kinds and aliases, a sidecar named by prefix or service, endpoints with outlier
 * ejection and active health checks from the sidecar's own admin port, its certificates,
 * bootstrap, and its log level changed while it runs.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { pino } from 'pino';
import { UsageError } from '../../src/cli/args.js';
import { runProxyConfig } from '../../src/cli/proxy-config.js';
import { type ControlPlaneQueryError, runProxyStatus } from '../../src/cli/proxy-status.js';
import type { ControlPlane } from '../../src/controlplane/index.js';
import { Sidecar } from '../../src/proxy/index.js';
import { getJson, send } from '../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../support/http-upstream.js';
import { clusterName, mesh, service } from '../support/mesh.js';
import { startControlPlane, waitForHosts, waitForQuiet } from '../support/mesh-harness.js';
import { sink } from '../support/output-sink.js';
import { ManualCertificates, TestCa } from '../support/test-ca.js';
import { waitFor } from '../support/wait-for.js';

const WEB = 'spiffe://cluster.local/ns/default/sa/web';

describe('ferry proxy-config / proxy-status with real sidecars', function () {
  this.timeout(30_000);
  let cp: ControlPlane;
  let web: Sidecar;
  let url: string;
  let ok: HttpUpstream;
  let failing: HttpUpstream;
  let probed: HttpUpstream;
  let unhealthy: HttpUpstream;
  let leafSerial: string;
  // Level silent, and a sink: the log test turns it up to debug.
  const log = pino({ level: 'silent' }, { write: () => {} });

  before(async () => {
    ok = await startHttpUpstream('ok');
    failing = await startHttpUpstream('failing', (_s, _req, res) => {
      res.writeHead(503).end('down');
      return true;
    });
    probed = await startHttpUpstream('probed');
    unhealthy = await startHttpUpstream('unhealthy', (_s, _req, res) => {
      res.writeHead(500).end('sick');
      return true;
    });
    cp = await startControlPlane(
      mesh(
        service('api', 8080, 'http', [ok.port, failing.port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 500,
            outlierDetection: {
              consecutive5xx: 1,
              intervalMs: 1000,
              baseEjectionTimeMs: 60_000,
              maxEjectionPercent: 50,
            },
          },
        }),
        service('db', 9090, 'http', [probed.port, unhealthy.port], {
          policy: {
            loadBalancer: 'round_robin',
            connectTimeoutMs: 500,
            healthCheck: {
              kind: { type: 'http', path: '/healthz', expectedStatuses: [[200, 201]] },
              intervalMs: 100,
              timeoutMs: 1000,
              healthyThreshold: 1,
              unhealthyThreshold: 1,
            },
          },
        }),
        service('web', 8000, 'http', []),
      ),
    );
    const ca = await TestCa.create();
    const cert = await ca.issue(WEB);
    leafSerial = new X509Certificate(cert.chain).serialNumber;
    // Started here rather than by startSidecar, to keep its logger (the log level test).
    web = await Sidecar.start({
      xds: `127.0.0.1:${cp.xdsPort}`,
      service: 'web',
      id: 'web-v1-4711.default',
      appPort: ok.port,
      inboundPort: 0,
      outboundPort: 0,
      adminPort: 0,
      metricsPort: 0,
      readyPort: 0,
      certificates: new ManualCertificates(cert),
      log,
    });
    await web.waitReady(5000);
    url = `http://127.0.0.1:${cp.httpPort}`;
    await waitForHosts(web, clusterName('api', 8080), 2);
    await waitForHosts(web, clusterName('db', 9090), 2);
    // Regression: the tests compare outputs of several runs, and a run made while the
    // sidecar's own registration was still being acknowledged carried a STALE note the
    // next one did not (seen on a loaded machine).
    await waitForQuiet(cp);
  });

  after(async () => {
    await web?.stop(0);
    await cp?.close();
    for (const u of [ok, failing, probed, unhealthy]) await u?.close();
  });

  async function run(...args: string[]): Promise<string> {
    const out = sink();
    await runProxyConfig([...args, '--control-plane', url], out, {});
    return out.text;
  }

  it("accepts istioctl's kind names and aliases, in either order", async () => {
    const reference = await run('web-v1-4711.default', 'clusters');
    assert.match(reference, /^api\.default\.svc\.cluster\.local\s+8080/m);
    for (const args of [
      ['cluster', 'web-v1-4711.default'],
      ['c', 'web-v1-4711.default'],
      ['web-v1-4711.default', 'c'],
      ['clusters', 'web-v1'],
      ['cluster', 'web'],
    ]) {
      assert.equal(await run(...args), reference, args.join(' '));
    }
    const listeners = await run('listeners', 'web-v1');
    for (const alias of ['listener', 'l']) assert.equal(await run(alias, 'web-v1'), listeners);
    const routes = await run('routes', 'web-v1');
    for (const alias of ['route', 'r']) assert.equal(await run(alias, 'web-v1'), routes);
    assert.match(routes, /^outbound\.default\s/m);
  });

  it('filters clusters with --fqdn, --port, --direction and prints names with -o short', async () => {
    const text = await run('cluster', 'web-v1', '--fqdn', 'api.default');
    assert.match(text, /^api\.default\.svc\.cluster\.local\s+8080/m);
    assert.doesNotMatch(text, /^db\./m);
    assert.equal(
      await run('cluster', 'web-v1', '--fqdn', 'api.default.svc.cluster.local', '-o', 'short'),
      'outbound|8080||api.default.svc.cluster.local\n',
    );
    const inbound = await run('c', 'web-v1', '--direction', 'inbound', '-o', 'short');
    assert.equal(inbound, `inbound|${ok.port}||\n`);
    assert.doesNotMatch(inbound, /outbound/);
    assert.equal(
      await run('c', 'web-v1', '--port', '9090', '-o', 'short'),
      'outbound|9090||db.default.svc.cluster.local\n',
    );
  });

  it('prints the Envoy resources as YAML and JSON with -o', async () => {
    const yaml = await run('c', 'web-v1', '--fqdn', 'api.default', '-o', 'yaml');
    assert.match(yaml, /^- "@type": type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster$/m);
    assert.match(yaml, /^ {2}name: outbound\|8080\|\|api\.default\.svc\.cluster\.local$/m);
    const json = JSON.parse(await run('c', 'web-v1', '--fqdn', 'api.default', '-o', 'json'));
    assert.equal(json[0].name, 'outbound|8080||api.default.svc.cluster.local');
  });

  it("shows endpoints from the sidecar's own view: outlier ejection", async () => {
    const ejected = async () =>
      (
        await getJson<{
          clusters: Array<{ name: string; hosts: Array<{ address: string; ejected: boolean }> }>;
        }>(web.ports.admin, '/clusters?format=json')
      ).clusters
        .find((c) => c.name === clusterName('api', 8080))
        ?.hosts.some((h) => h.address === `127.0.0.1:${failing.port}` && h.ejected);
    await waitFor('the failing endpoint to be ejected', async () => {
      await send(web.ports.outbound, { host: 'api:8080' });
      return (await ejected()) === true;
    });
    for (const kind of ['endpoints', 'endpoint', 'ep']) {
      const text = await run(kind, 'web-v1', '--fqdn', 'api.default');
      assert.match(
        text,
        /^ENDPOINT\s+STATUS\s+HEALTH CHECK\s+OUTLIER CHECK\s+USED\s+ACTIVE\s+REQUESTS\s+ERRORS\s+ZONE\s+WEIGHT\s+CLUSTER$/m,
      );
      assert.match(
        text,
        new RegExp(
          `^127\\.0\\.0\\.1:${failing.port}\\s+HEALTHY\\s+OK\\s+EJECTED\\s+no\\s+\\d+\\s+[1-9]\\d*\\s+[1-9]\\d*\\s+-\\s+1\\s+outbound\\|8080\\|\\|api`,
          'm',
        ),
      );
      assert.match(
        text,
        new RegExp(`^127\\.0\\.0\\.1:${ok.port}\\s+HEALTHY\\s+OK\\s+OK\\s+yes\\s`, 'm'),
      );
    }
  });

  it("shows endpoints from the sidecar's own view: active health checks", async () => {
    await waitFor('the health check to fail the unhealthy endpoint', async () =>
      new RegExp(
        `^127\\.0\\.0\\.1:${unhealthy.port}\\s+HEALTHY\\s+FAILED\\s+OK\\s+no\\s`,
        'm',
      ).test(await run('ep', 'web-v1', '--fqdn', 'db')),
    );
    assert.match(
      await run('ep', 'web-v1', '--fqdn', 'db'),
      new RegExp(`^127\\.0\\.0\\.1:${probed.port}\\s+HEALTHY\\s+OK\\s+OK\\s+yes\\s`, 'm'),
    );
  });

  it("shows the sidecar's certificates: identity, serial, validity and chain", async () => {
    for (const kind of ['secret', 'secrets', 's']) {
      const text = await run(kind, 'web-v1');
      assert.match(
        text,
        new RegExp(
          `^default\\s+Cert Chain\\s+VALID\\s+${WEB.replace(/\//g, '\\/')}\\s+${leafSerial}\\s+20\\S+Z\\s+20\\S+Z\\s+CN=Ferry test root$`,
          'm',
        ),
      );
      assert.match(text, /^ROOTCA\s+CA\s+VALID\s+CN=Ferry test root\s+01\s/m);
      assert.doesNotMatch(text, /PRIVATE KEY/);
    }
  });

  it('prints every kind with all, and the bootstrap the sidecar started with', async () => {
    const all = await run('all', 'web-v1');
    for (const heading of ['CLUSTERS', 'LISTENERS', 'ROUTES', 'ENDPOINTS', 'SECRETS']) {
      assert.match(all, new RegExp(`^${heading}$`, 'm'));
    }
    // The alias prints the same sections (counters in them may move between the two calls).
    const headings = (text: string) => text.split('\n').filter((l) => /^[A-Z]+$/.test(l));
    assert.deepEqual(headings(await run('a', 'web-v1')), headings(all));
    const boot = JSON.parse(await run('bootstrap', 'web-v1', '-o', 'json'));
    assert.equal(boot.node.id, 'web-v1-4711.default');
    assert.equal(boot.xds.address, `127.0.0.1:${cp.xdsPort}`);
    assert.equal(boot.ports.admin, web.ports.admin);
    assert.equal(boot.mtls, true);
    assert.match(await run('b', 'web-v1'), /^ {2}id: web-v1-4711\.default$/m);
  });

  it("reads and changes the sidecar's log level while it runs", async () => {
    assert.equal(await run('log', 'web-v1'), 'web-v1-4711.default: log level silent\n');
    assert.equal(
      await run('log', 'web-v1', '--level', 'debug'),
      'web-v1-4711.default: log level set to debug\n',
    );
    assert.equal(log.level, 'debug');
    assert.equal(await run('log', 'web-v1'), 'web-v1-4711.default: log level debug\n');
    await assert.rejects(run('log', 'web-v1', '--level', 'loud'), /unknown log level "loud"/);
    await run('log', 'web-v1', '--level', 'error');
    assert.equal(log.level, 'error');
  });

  it('refuses filters that do not apply, and suggests the kind meant', async () => {
    await assert.rejects(
      run('listener', 'web-v1', '--fqdn', 'api'),
      /--fqdn does not apply to listeners/,
    );
    await assert.rejects(
      run('clustr', 'web-v1'),
      /unknown kind "clustr" \(did you mean cluster\?\)/,
    );
    await assert.rejects(run('cluster'), UsageError);
  });

  it('proxy-status takes a sidecar by name and shows its detail', async () => {
    const out = sink();
    await runProxyStatus(['web-v1', '--control-plane', url], out, {});
    assert.match(out.text, /^web-v1-4711\.default\s+web\.default\s+delta\s+SYNCED/m);
    assert.match(out.text, /^connected \S+ \(delta ADS, ferry \d+\.\d+\.\d+, admin port \d+\)$/m);
    assert.match(out.text, /^CDS\s+SYNCED\s+\d+\s+\d+\s/m);
    const short = sink();
    await runProxyStatus(['web', '-o', 'short', '--control-plane', url], short, {});
    assert.equal(short.text, 'web-v1-4711.default\n');
    await assert.rejects(
      runProxyStatus(['web-v2-4711.default', '--control-plane', url], sink(), {}),
      (err: ControlPlaneQueryError) =>
        err.code === 'FERRY_NOT_FOUND' && /did you mean web-v1-4711\.default\?/.test(err.message),
    );
  });
});
