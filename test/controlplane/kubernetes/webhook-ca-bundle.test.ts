/**
 * The injector's caBundle kept by JSON Patch, against the API server stand-in keeping the
 * MutatingWebhookConfiguration: written into every webhook, not rewritten when equal, and
 * re-read and re-applied when the configuration changed between the read and the patch.
 */
import assert from 'node:assert/strict';
import { AdmissionregistrationV1Api } from '@kubernetes/client-node';
import { patchWebhookCaBundle } from '../../../src/controlplane/kubernetes/index.js';
import { makeRootCa } from '../../../src/identity/index.js';
import { silentLogger } from '../../../src/log/index.js';
import {
  chartWebhookConfig,
  FakeObjects,
  WEBHOOK_CONFIG,
  webhookConfigPath,
} from '../../kube/support/fake-objects.js';
import { ReplayApiServer } from '../../kube/support/replay-api-server.js';

const PATH = webhookConfigPath(WEBHOOK_CONFIG);

describe('webhook caBundle', () => {
  let server: ReplayApiServer;
  let objects: FakeObjects;
  let root: string;

  before(async () => {
    root = (await makeRootCa('cluster.local')).certPem;
  });
  beforeEach(async () => {
    server = await ReplayApiServer.start();
    objects = new FakeObjects(server).webhookConfig().put(PATH, chartWebhookConfig());
  });
  afterEach(() => server.close());

  function patch(name = WEBHOOK_CONFIG): Promise<number> {
    return patchWebhookCaBundle({
      api: server.kubeConfig().makeApiClient(AdmissionregistrationV1Api),
      name,
      caBundle: root,
      log: silentLogger(),
    });
  }

  function bundles(): string[] {
    return (objects.get(PATH)?.webhooks ?? []).map((w: { clientConfig: { caBundle?: string } }) =>
      Buffer.from(w.clientConfig.caBundle ?? '', 'base64').toString(),
    );
  }

  it('writes the root into every webhook once; an equal bundle is not written again', async () => {
    assert.equal(await patch(), 2);
    assert.deepEqual(bundles(), [root, root]);
    assert.equal(await patch(), 0);
    assert.deepEqual(objects.writes, [`PATCH ${PATH} -> 200`]);
  });

  it('a configuration changed between read and patch (helm upgrade, another replica) is read again', async () => {
    let reads = 0;
    server.route('GET', PATH, () => {
      const seen = objects.get(PATH);
      if (reads++ === 0)
        objects.put(PATH, {
          ...seen,
          metadata: { ...seen?.metadata, labels: { edited: 'meanwhile' } },
        });
      return { body: seen };
    });
    assert.equal(await patch(), 2);
    assert.deepEqual(objects.writes, [`PATCH ${PATH} -> 422`, `PATCH ${PATH} -> 200`]);
    assert.deepEqual(
      objects.get(PATH)?.metadata.labels,
      { edited: 'meanwhile' },
      'the edit is kept',
    );
    assert.deepEqual(bundles(), [root, root]);
  });

  it('a missing configuration is named, with what usually causes it', async () => {
    await assert.rejects(
      patch('nope'),
      /cannot read MutatingWebhookConfiguration nope: HTTP 404: .*\(is the chart installed with webhook\.enabled\?\)/,
    );
  });
});
