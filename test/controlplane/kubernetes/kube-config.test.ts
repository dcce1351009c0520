/**
 * Reaching the API server: the in-cluster configuration (address from the environment,
 * token, CA and namespace from the service-account directory) used for real against the
 * replaying API server over HTTPS, a kubeconfig file, and each way they can be missing.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  type KubeError,
  kubeConfigFromFile,
  kubeConfigInCluster,
} from '../../../src/controlplane/index.js';
import { writeKubeconfig } from '../../kube/support/control-plane-process.js';
import { ReplayApiServer, TEST_TOKEN } from '../../kube/support/replay-api-server.js';

describe('Kubernetes API configuration', () => {
  let server: ReplayApiServer;
  let dir: string;

  beforeEach(async () => {
    server = await ReplayApiServer.start();
    server.list('/api/v1/namespaces/ferry-system/secrets', {
      body: { kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '7' }, items: [] },
    });
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-sa-'));
  });
  afterEach(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The files the kubelet mounts into a pod. */
  async function serviceAccountDir(): Promise<void> {
    await writeFile(path.join(dir, 'token'), TEST_TOKEN);
    await writeFile(path.join(dir, 'ca.crt'), server.caPem);
    await writeFile(path.join(dir, 'namespace'), 'ferry-system');
  }

  it('in cluster: KUBERNETES_SERVICE_HOST/PORT, and the token, CA and namespace files', async () => {
    await serviceAccountDir();
    const port = new URL(server.url).port;
    const loaded = kubeConfigInCluster({ host: '127.0.0.1', port, dir });
    assert.equal(loaded.namespace, 'ferry-system');
    assert.equal(loaded.source, `in-cluster (https://127.0.0.1:${port})`);
    // A real call: the API server's certificate verified with ca.crt, the token as bearer.
    const list = await loaded.kubeConfig
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace: 'ferry-system' });
    assert.equal(list.metadata?.resourceVersion, '7');
    assert.equal(server.requests[0]?.authorization, `Bearer ${TEST_TOKEN}`);
  });

  it('in cluster: an API server whose certificate ca.crt does not vouch for is refused', async () => {
    await serviceAccountDir();
    const other = await ReplayApiServer.start();
    try {
      await writeFile(path.join(dir, 'ca.crt'), other.caPem);
      const loaded = kubeConfigInCluster({
        host: '127.0.0.1',
        port: new URL(server.url).port,
        dir,
      });
      await assert.rejects(
        loaded.kubeConfig
          .makeApiClient(CoreV1Api)
          .listNamespacedSecret({ namespace: 'ferry-system' }),
        /self.signed|certificate/i,
      );
      assert.equal(server.requests.length, 0, 'no request reached the server');
    } finally {
      await other.close();
    }
  });

  it('outside a pod, or without the token files, says what is missing', async () => {
    assert.throws(
      () => kubeConfigInCluster({ host: undefined, port: undefined, dir }),
      (e: KubeError) =>
        e.code === 'FERRY_KUBE_CONFIG' &&
        /KUBERNETES_SERVICE_HOST.*--kubeconfig FILE/.test(e.message),
    );
    assert.throws(
      () => kubeConfigInCluster({ host: '10.96.0.1', port: 'https', dir }),
      /KUBERNETES_SERVICE_PORT is not a port: "https"/,
    );
    assert.throws(
      () => kubeConfigInCluster({ host: '10.96.0.1', port: '443', dir }),
      new RegExp(`${path.join(dir, 'token')} \\(the service-account token\\) does not exist`),
    );
  });

  it('a kubeconfig file: its current context; a missing or broken file is named', async () => {
    const file = writeKubeconfig(server, dir);
    const loaded = kubeConfigFromFile(file);
    assert.equal(loaded.source, file);
    await loaded.kubeConfig
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace: 'ferry-system' });
    assert.equal(server.requests.length, 1);

    assert.throws(
      () => kubeConfigFromFile(path.join(dir, 'nope')),
      /nope: the kubeconfig file does not exist/,
    );
    const broken = path.join(dir, 'broken');
    await writeFile(
      broken,
      'apiVersion: v1\nkind: Config\ncurrent-context: prod\ncontexts: []\nclusters: []\nusers: []\n',
    );
    assert.throws(
      () => kubeConfigFromFile(broken),
      /broken: its current-context "prod" is not one of its contexts/,
    );
  });
});
