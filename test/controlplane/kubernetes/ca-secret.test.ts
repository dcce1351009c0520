/**
 * The CA root in a Secret, against the API server stand-in keeping the Secret: made once and
 * reused, a half-written Secret left alone, and every failure naming the Secret.
 */
import assert from 'node:assert/strict';
import { CoreV1Api } from '@kubernetes/client-node';
import {
  type KubeError,
  loadOrCreateCaSecret,
} from '../../../src/controlplane/kubernetes/index.js';
import { makeRootCa } from '../../../src/identity/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { CA_SECRET, FakeObjects, NAMESPACE, secretPath } from '../../kube/support/fake-objects.js';
import { ReplayApiServer, status } from '../../kube/support/replay-api-server.js';

const PATH = secretPath(NAMESPACE, CA_SECRET);

describe('CA root in a Secret', () => {
  let server: ReplayApiServer;
  let objects: FakeObjects;

  beforeEach(async () => {
    server = await ReplayApiServer.start();
    objects = new FakeObjects(server).secret(NAMESPACE, CA_SECRET);
  });
  afterEach(() => server.close());

  function load() {
    return loadOrCreateCaSecret({
      api: server.kubeConfig().makeApiClient(CoreV1Api),
      namespace: NAMESPACE,
      name: CA_SECRET,
      trustDomain: 'example.org',
      log: silentLogger(),
    });
  }

  function secretWith(data: Record<string, string>) {
    return {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: CA_SECRET, namespace: NAMESPACE },
      type: 'Opaque',
      data: Object.fromEntries(
        Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
      ),
    };
  }

  it('made on first start (a self-signed CA for the trust domain), reused after', async () => {
    const first = await load();
    assert.equal(first.source, 'created');
    assert.match(first.material.cert.subject, /O=example\.org/);
    assert.ok(first.material.cert.ca);
    assert.deepEqual(objects.writes, [`POST /api/v1/namespaces/${NAMESPACE}/secrets -> 201`]);
    const stored = objects.get(PATH);
    assert.equal(
      Buffer.from(stored?.data['ca.crt'], 'base64').toString(),
      first.material.cert.toString(),
    );
    const again = await load();
    assert.equal(again.source, 'reused');
    assert.equal(again.material.cert.fingerprint256, first.material.cert.fingerprint256);
    assert.equal(objects.writes.length, 1, 'nothing written the second time');
  });

  it('a Secret holding half a root is refused and left as it is', async () => {
    const root = await makeRootCa('example.org');
    objects.put(PATH, secretWith({ 'ca.crt': root.certPem }));
    await assert.rejects(
      load(),
      (e: KubeError) =>
        e.code === 'FERRY_CA_SECRET' &&
        /Secret ferry-system\/ferry-ca-root holds ca\.crt but not ca\.key; it is left as it is/.test(
          e.message,
        ),
    );
    assert.deepEqual(objects.writes, []);
  });

  it('a key that is not the certificate’s is named by its Secret key', async () => {
    const [a, b] = await Promise.all([makeRootCa('example.org'), makeRootCa('example.org')]);
    objects.put(PATH, secretWith({ 'ca.crt': a.certPem, 'ca.key': b.keyPem }));
    await assert.rejects(
      load(),
      /the key in Secret ferry-system\/ferry-ca-root key ca\.key does not belong to the certificate in Secret ferry-system\/ferry-ca-root key ca\.crt/,
    );
  });

  it('RBAC refusing the read: the Secret and the reason, no write attempted', async () => {
    server.route('GET', PATH, () =>
      status(
        403,
        'Forbidden',
        'secrets "ferry-ca-root" is forbidden: User "system:serviceaccount:ferry-system:default" cannot get resource "secrets"',
      ),
    );
    await assert.rejects(
      load(),
      /cannot read Secret ferry-system\/ferry-ca-root: HTTP 403: secrets "ferry-ca-root" is forbidden: .* \(the control plane's RBAC does not allow it\)/,
    );
    assert.deepEqual(objects.writes, []);
  });
});
