/**
 * `ferry proxy-status` against a real control plane with real ADS streams: one sidecar in
 * sync, one with a response it has not acknowledged, one that rejected its clusters.
 */
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/args.js';
import {
  type ControlPlaneQueryError,
  runProxyStatus,
  type Syncz,
  syncState,
} from '../../src/cli/proxy-status.js';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { type AdsClient, nodeMetadataFor, types } from '../../src/xds/index.js';
import { mesh, service } from '../support/mesh.js';
import { sink } from '../support/output-sink.js';
import { waitFor } from '../support/wait-for.js';
import { adsClient, openSotw } from '../support/xds-client.js';

function workload(svc: string) {
  return nodeMetadataFor({
    service: svc,
    namespace: 'default',
    labels: { version: 'v1' },
    serviceAccount: svc,
    address: '127.0.0.1',
    inboundPort: 15006,
    outboundPort: 15001,
    appPort: 8000,
    region: '',
    zone: '',
    health: 'HEALTHY',
  });
}

describe('ferry proxy-status', () => {
  let cp: ControlPlane;
  let client: AdsClient;
  let url: string;

  before(async () => {
    cp = await ControlPlane.start({
      config: mesh(service('web', 8080, 'http', [9080]), service('api', 8081, 'http', [9081])),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      gracePeriodMs: 300,
      warmupMs: 0,
      log: silentLogger(),
    });
    client = adsClient(cp.xdsPort);
    url = `http://127.0.0.1:${cp.httpPort}`;

    // Both connect first: each connection changes the registry and so the snapshot, and a
    // response is only final once the pushes have stopped.
    const a = openSotw(client);
    const b = openSotw(client);
    a.send({ node: { id: 'web-1', metadata: workload('web') }, type_url: types.CLUSTER });
    b.send({ node: { id: 'api-1', metadata: workload('api') }, type_url: types.CLUSTER });
    const cds = await a.latest();
    const bad = await b.latest();
    // web-1: CDS acknowledged, LDS sent and not acknowledged.
    a.send({ type_url: types.CLUSTER, response_nonce: cds.nonce, version_info: cds.version_info });
    a.send({ type_url: types.LISTENER });
    await a.next();
    // api-1: rejects its clusters.
    b.send({
      type_url: types.CLUSTER,
      response_nonce: bad.nonce,
      version_info: '',
      error_detail: { code: 3, message: 'cluster outbound|8080||web: unsupported lb_policy' },
    });
    await waitFor('the NACK on /debug/syncz', async () => {
      const s = (await (await fetch(`${url}/debug/syncz`)).json()) as Syncz;
      return s.clients.some((c) => c.nodeId === 'api-1' && c.types[0]?.lastNack !== undefined);
    });
  });

  after(async () => {
    client.close();
    await cp.close();
  });

  it('lists every connected sidecar with SYNCED, STALE, NACKED and unsubscribed types', async () => {
    const out = sink();
    await runProxyStatus(['--control-plane', url], out, {});
    const lines = out.text.split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+SERVICE\s+MODE\s+CDS\s+LDS\s+EDS\s+RDS\s+SDS\s+VERSION$/);
    const api = lines.find((l) => l.startsWith('api-1')) ?? '';
    const web = lines.find((l) => l.startsWith('web-1')) ?? '';
    assert.match(api, /^api-1\s+api\.default\s+sotw\s+NACKED\s+-\s+-\s+-\s+-\s+-$/);
    assert.match(web, /^web-1\s+web\.default\s+sotw\s+SYNCED\s+STALE\s+-\s+-\s+-\s+\d+$/);
    assert.ok(lines.indexOf(api) < lines.indexOf(web), 'sorted by name');
    assert.match(
      out.text,
      /Rejected configuration[^\n]*\n\s+api-1 CDS version \d+ at [^:]+:\d\d:[\d.]+Z: cluster outbound\|8080\|\|web: unsupported lb_policy/,
    );
  });

  it('prints the same as JSON with -o json', async () => {
    const out = sink();
    await runProxyStatus(['--control-plane', url, '-o', 'json'], out, {});
    const rows = JSON.parse(out.text) as Array<{ name: string; states: Record<string, string> }>;
    assert.deepEqual(
      rows.map((r) => [r.name, r.states.CDS, r.states.LDS, r.states.EDS]),
      [
        ['api-1', 'NACKED', '-', '-'],
        ['web-1', 'SYNCED', 'STALE', '-'],
      ],
    );
  });

  it('takes the control plane from FERRY_CONTROL_PLANE when no flag is given', async () => {
    const out = sink();
    await runProxyStatus([], out, { FERRY_CONTROL_PLANE: `127.0.0.1:${cp.httpPort}` });
    assert.match(out.text, /web-1/);
  });

  it('says which control plane it cannot reach, with a FERRY_ code', async () => {
    await assert.rejects(
      runProxyStatus(['--control-plane', 'http://127.0.0.1:1'], sink(), {}),
      (err: ControlPlaneQueryError) =>
        err.code === 'FERRY_CONTROL_PLANE_UNREACHABLE' && /127\.0\.0\.1:1/.test(err.message),
    );
  });

  it('refuses a bad output format and a bad URL as usage errors', async () => {
    await assert.rejects(runProxyStatus(['-o', 'xml'], sink(), {}), UsageError);
    await assert.rejects(runProxyStatus(['--control-plane', 'ftp://x'], sink(), {}), UsageError);
  });

  it('counts a NACK only while it answers the latest response', () => {
    const base = { type: 'CDS', wildcard: true, names: [], lastAckedAt: '' };
    const nack = { nonce: '1', version: '1', message: 'bad', at: '' };
    assert.equal(
      syncState({
        ...base,
        lastSentVersion: '2',
        lastNonce: '2',
        lastAckedVersion: '2',
        lastNack: nack,
      }),
      'SYNCED',
    );
    assert.equal(
      syncState({
        ...base,
        lastSentVersion: '2',
        lastNonce: '2',
        lastAckedVersion: '',
        lastNack: nack,
      }),
      'STALE',
    );
    assert.equal(
      syncState({
        ...base,
        lastSentVersion: '1',
        lastNonce: '1',
        lastAckedVersion: '',
        lastNack: nack,
      }),
      'NACKED',
    );
    assert.equal(
      syncState({ ...base, lastSentVersion: '', lastNonce: '', lastAckedVersion: '' }),
      'NOT SENT',
    );
  });
});
