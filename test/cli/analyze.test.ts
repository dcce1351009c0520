/**
 * `ferry analyze` as a process on broken files (exit codes), and against a real control
 * plane that analyzes its own mesh file with what it knows live: a service nobody
 * registered for, a STRICT service a proxyless gRPC client subscribed to. The control plane
 * also logs the file's findings at load.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { runAnalyze } from '../../src/cli/analyze.js';
import { ControlPlane } from '../../src/controlplane/index.js';
import type { DiscoveryResponse } from '../../src/xds/index.js';
import { type AdsClient, types } from '../../src/xds/index.js';
import { runCli } from '../support/cli-process.js';
import { sink } from '../support/output-sink.js';
import { waitFor } from '../support/wait-for.js';
import { adsClient, openSotw, type StreamProbe } from '../support/xds-client.js';

const FIXTURES = fileURLToPath(new URL('../../../test/mesh/analyze/fixtures/', import.meta.url));

const LIVE_MESH = `services:
  - name: api
    ports:
      - { port: 8080, protocol: grpc }
    endpoints:
      - { address: 127.0.0.1, port: 18081 }
    policy:
      mtls: STRICT
  - name: ghost
    ports:
      - { port: 8080, protocol: http }
    subsets:
      - { name: v1, labels: { version: v1 } }
`;

describe('ferry analyze', () => {
  it('exits 1 on an error, printing FILE:LINE:COL, the code and the fix', async () => {
    const r = await runCli(['analyze', '-f', `${FIXTURES}FM0101-unknown-subset.yaml`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stdout,
      /FM0101-unknown-subset\.yaml:10:23: error FM0101 UnknownSubset: service 'reviews' has no subset 'v3' \(its subsets: v1\)\n {4}fix: declare the subset/,
    );
    assert.match(r.stdout, /^1 error, 0 warnings$/m);
  });

  it('exits 0 with warnings only, and says which checks need the running mesh', async () => {
    const r = await runCli([
      'analyze',
      '-f',
      `${FIXTURES}FM0107-unused-subset.yaml`,
      '-f',
      `${FIXTURES}FM0106-weights.yaml`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /FM0107-unused-subset\.yaml:7:17: warning FM0107 UnusedSubset/);
    assert.match(r.stdout, /FM0106-weights\.yaml:11:11: warning FM0106 WeightsNotHundred/);
    assert.match(r.stdout, /^0 errors, 2 warnings$/m);
    assert.match(r.stdout, /^note: FM0103 and FM0104 need the running mesh/m);
  });

  it('says a file is clean with a check mark', async () => {
    const out = sink();
    const demo = fileURLToPath(new URL('../../../examples/demo/mesh.yaml', import.meta.url));
    assert.equal(await runAnalyze(['-f', demo], out, {}), 0);
    assert.match(out.text, /^✔ No problems found in .*mesh\.yaml$/m);
  });

  describe('against a running control plane', () => {
    let dir: string;
    let cp: ControlPlane;
    let client: AdsClient;
    let probe: StreamProbe<DiscoveryResponse>;
    const logged: Array<{ level: number; code?: string; line?: number; msg: string }> = [];

    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'ferry-analyze-'));
      const file = path.join(dir, 'mesh.yaml');
      await writeFile(file, LIVE_MESH);
      const log = pino(
        { level: 'warn' },
        { write: (line: string) => logged.push(JSON.parse(line)) },
      );
      cp = await ControlPlane.start({
        configPath: file,
        xdsPort: 0,
        httpPort: 0,
        debounceMs: 10,
        warmupMs: 0,
        log,
      });
      client = adsClient(cp.xdsPort);
      probe = openSotw(client);
      // What grpc-js-xds does for xds:///api:8080: no workload, LDS for the target name.
      probe.send({
        node: { id: 'proxyless-1' },
        type_url: types.LISTENER,
        resource_names: ['api:8080'],
      });
      await probe.latest();
    });

    after(async () => {
      probe?.close();
      client?.close();
      await cp?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('logs the file-only findings at load, with code and position', () => {
      const unused = logged.find((l) => l.code === 'FM0107');
      assert.ok(unused, JSON.stringify(logged));
      assert.equal(unused.level, 40);
      assert.equal(unused.line, 13);
      assert.match(unused.msg, /mesh\.yaml:13:17: warning FM0107 UnusedSubset/);
    });

    it('reports services with no endpoints and STRICT services proxyless clients call', async () => {
      const out = sink();
      let code = 0;
      await waitFor('the proxyless subscription to be seen', async () => {
        out.text = '';
        code = await runAnalyze(['--control-plane', `http://127.0.0.1:${cp.httpPort}`], out, {});
        return /FM0104/.test(out.text);
      });
      assert.equal(code, 1);
      assert.match(
        out.text,
        /mesh\.yaml:8:13: error FM0104 StrictWithProxylessClients: service 'api\.default' is STRICT and proxyless gRPC clients call it \(xds:\/\/\/api:8080\)/,
      );
      assert.match(
        out.text,
        /mesh\.yaml:9:11: warning FM0103 NoEndpoints: service 'ghost\.default' has no endpoints/,
      );
      assert.doesNotMatch(out.text, /FM0103 NoEndpoints: service 'api/);
      assert.doesNotMatch(out.text, /^note:/m);
    });
  });
});
