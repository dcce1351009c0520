/**
 * The control plane's mesh file mounted from a ConfigMap, as the kubelet writes it: an edit
 * swaps the `..data` link and must reach the sidecars (regression: no event named the file,
 * so `ferry_config_reloads_total{result="applied"}` stayed 0 and edits never applied).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { types } from '../../src/xds/index.js';
import { send } from '../support/http-client.js';
import { KubeletVolume } from '../support/kubelet-volume.js';
import { clusterName } from '../support/mesh.js';
import { waitFor } from '../support/wait-for.js';
import { adsClient, openSotw, sotwResources } from '../support/xds-client.js';

const meshYaml = (service: string): string =>
  `services:\n  - { name: ${service}, ports: [{ port: 8080, protocol: http }], endpoints: [{ address: 127.0.0.1, port: 9080 }] }\n`;

async function appliedReloads(httpPort: number): Promise<number> {
  const { body } = await send(httpPort, { path: '/metrics' });
  const m = /^ferry_config_reloads_total\{result="applied"\} (\d+)$/m.exec(body);
  return m ? Number(m[1]) : 0;
}

describe('control plane: mesh file from a ConfigMap volume', () => {
  let dir: string;
  let cp: ControlPlane | undefined;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-configmap-'));
  });
  after(async () => {
    await cp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('applies an edit the kubelet makes by swapping ..data within a second, and serves it', async () => {
    const volume = new KubeletVolume(path.join(dir, 'etc-ferry'), 'mesh.yaml');
    await volume.write(meshYaml('reviews'));
    cp = await ControlPlane.start({
      configPath: volume.file,
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    const client = adsClient(cp.xdsPort);
    const stream = openSotw(client);
    try {
      stream.send({ node: { id: 'reload-probe' }, type_url: types.CLUSTER });
      let cds = await stream.next();
      const clusters = () => sotwResources<{ name: string }>(cds).map((c) => c.name);
      assert.deepEqual(clusters(), [clusterName('reviews', 8080)]);
      assert.equal(await appliedReloads(cp.httpPort), 0);

      const port = cp.httpPort;
      // The first swap, then a second one (the first timestamped directory is gone by then).
      for (const [n, service] of [
        [1, 'ratings'],
        [2, 'details'],
      ] as const) {
        await volume.write(meshYaml(service));
        await waitFor(
          `ferry_config_reloads_total{result="applied"} ${n}`,
          async () => (await appliedReloads(port)) === n,
          1000,
        );
        // The new file is what sidecars get.
        stream.send({
          type_url: types.CLUSTER,
          response_nonce: cds.nonce,
          version_info: cds.version_info,
        });
        cds = await stream.next();
        assert.deepEqual(clusters(), [clusterName(service, 8080)]);
      }
    } finally {
      stream.close();
      client.close();
    }
  });
});
