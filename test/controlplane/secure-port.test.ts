/**
 * The control plane's secure port: xDS and the identity service over TLS with a
 * certificate from the control plane's own CA. A sidecar that expects the control plane's
 * SPIFFE ID and trusts the mesh root connects; one expecting another identity, or
 * trusting another root, does not. The serving certificate renews at half life.
 */
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { ControlPlane, type ControlPlaneOptions } from '../../src/controlplane/index.js';
import {
  bearerCredentials,
  buildCsr,
  CA_FILES,
  controlPlaneCredentials,
  controlPlaneSpiffeId,
  createIdentityClient,
  credentialFromFile,
  type IdentityApi,
  sidecarIdentity,
  uriSans,
  WorkloadIdentity,
} from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { createAdsClient, types } from '../../src/xds/index.js';
import { XdsClient } from '../../src/xds-client/index.js';
import { capturingLogger } from '../identity/support.js';
import { FakeTimers } from '../support/fake-timers.js';
import { mesh, service } from '../support/mesh.js';
import { waitFor } from '../support/wait-for.js';
import { sidecarNode } from '../xds-client/support.js';

const CP_ID = controlPlaneSpiffeId('cluster.local');
const FRONTEND = 'spiffe://cluster.local/ns/shop/sa/frontend';

function start(
  caDir: string,
  timers?: FakeTimers,
  namespace?: string,
  extra: Partial<ControlPlaneOptions> = {},
): Promise<ControlPlane> {
  return ControlPlane.start({
    ...(namespace ? { namespace } : {}),
    config: mesh(service('web', 8080, 'http', [9080])),
    xdsPort: 0,
    httpPort: 0,
    securePort: 0,
    caDir,
    debounceMs: 10,
    warmupMs: 0,
    timers,
    log: silentLogger(),
    ...extra,
  });
}

/**
 * TLS to the secure port with a token for default/web: the workload sidecarNode() announces,
 * which registration bound to identity admits.
 */
function webCredentials(cp: ControlPlane, root: string): grpc.ChannelCredentials {
  const token = cp.identity?.tokens?.issue(
    { namespace: 'default', serviceAccount: 'web' },
    3_600_000,
  );
  assert.ok(token);
  return grpc.credentials.combineChannelCredentials(
    controlPlaneCredentials(root, CP_ID),
    bearerCredentials(() => token),
  );
}

/** The leaf the secure port presents to a new TLS connection. */
function servedLeaf(port: number, root: string): Promise<tls.PeerCertificate> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      {
        host: '127.0.0.1',
        port,
        ca: root,
        ALPNProtocols: ['h2'],
        checkServerIdentity: () => undefined,
      },
      () => {
        resolve(s.getPeerCertificate());
        s.destroy();
      },
    );
    s.on('error', reject);
  });
}

/** Opens an ADS stream with these credentials; resolves with its first response or error. */
function firstAds(
  port: number,
  creds: grpc.ChannelCredentials,
  node = sidecarNode('probe'),
): Promise<{ ok: true } | { ok: false; err: grpc.ServiceError }> {
  const client = createAdsClient(`127.0.0.1:${port}`, creds);
  const call = client.StreamAggregatedResources();
  return new Promise((resolve) => {
    call.on('data', () => {
      call.cancel();
      client.close();
      resolve({ ok: true });
    });
    call.on('error', (err: grpc.ServiceError) => {
      client.close();
      if (err.code !== 1) resolve({ ok: false, err });
    });
    call.write({ node, type_url: types.CLUSTER });
  });
}

describe('control plane secure port (TLS)', () => {
  let dir: string;
  let cp: ControlPlane | undefined;
  let root: string;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-cp-ca-'));
  });
  afterEach(async () => {
    await cp?.close();
    cp = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves xDS to a sidecar that trusts the mesh root and expects the control plane identity', async () => {
    cp = await start(dir);
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    assert.ok(cp.securePort > 0 && cp.securePort !== cp.xdsPort);
    assert.equal(
      cp.identity?.spiffeId,
      'spiffe://cluster.local/ns/ferry-system/sa/ferry-control-plane',
    );
    const leaf = await servedLeaf(cp.securePort, root);
    assert.deepEqual(uriSans(leaf), [CP_ID]);
    assert.match(leaf.subjectaltname ?? '', /DNS:localhost/);
    assert.match(leaf.subjectaltname ?? '', /IP Address:127\.0\.0\.1/);

    const client = new XdsClient({
      address: `127.0.0.1:${cp.securePort}`,
      credentials: webCredentials(cp, root),
      node: sidecarNode('secure-web-1'),
      log: silentLogger(),
      backoff: { baseMs: 20, maxMs: 200 },
    });
    try {
      client.start();
      const config = await client.ready(5000);
      assert.ok(config.listeners.has('virtualInbound'));
    } finally {
      client.close();
    }
    // The plaintext port still serves configuration, to clients that do not register.
    const plain = await firstAds(cp.xdsPort, grpc.credentials.createInsecure(), {
      id: 'proxyless',
    });
    assert.ok(plain.ok);
    // It registers no one: a sidecar announcing a workload there is served, not an endpoint.
    const sidecar = await firstAds(cp.xdsPort, grpc.credentials.createInsecure());
    assert.ok(sidecar.ok);
    assert.equal(
      cp.registry.workloads().some((w) => w.id === 'probe'),
      false,
    );
    assert.equal(cp.ads.refusedRegistrations()[0]?.reason, 'no_credential');
  });

  it('regression: the secure port completes handshakes from its first certificate on, not only after a renewal', async () => {
    cp = await start(dir);
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    // grpc-js registers its watcher after asking for the certificate; a certificate handed
    // over at once was lost and every connection dropped until the first renewal.
    assert.equal(cp.identity?.serving.generation, 1);
    const leaf = await servedLeaf(cp.securePort, root);
    assert.deepEqual(uriSans(leaf), [CP_ID]);
  });

  it('a sidecar expecting another identity, or trusting another root, does not connect', async () => {
    cp = await start(dir);
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    const good = await firstAds(cp.securePort, webCredentials(cp, root));
    assert.ok(good.ok);
    const wrongId = await firstAds(
      cp.securePort,
      controlPlaneCredentials(root, 'spiffe://cluster.local/ns/shop/sa/frontend'),
    );
    assert.equal(wrongId.ok, false);
    if (!wrongId.ok) {
      assert.equal(wrongId.err.code, 14, wrongId.err.message); // UNAVAILABLE
      assert.match(
        wrongId.err.details,
        /presented spiffe:\/\/cluster\.local\/ns\/ferry-system\/sa\/ferry-control-plane, expected spiffe:\/\/cluster\.local\/ns\/shop\/sa\/frontend/,
      );
    }
    const otherDir = mkdtempSync(path.join(os.tmpdir(), 'ferry-cp-ca-other-'));
    try {
      const other = await start(otherDir);
      const otherRoot = readFileSync(path.join(otherDir, CA_FILES.root), 'utf8');
      await other.close();
      const wrongRoot = await firstAds(cp.securePort, controlPlaneCredentials(otherRoot, CP_ID));
      assert.equal(wrongRoot.ok, false);
      if (!wrongRoot.ok) assert.equal(wrongRoot.err.code, 14);
    } finally {
      rmSync(otherDir, { recursive: true, force: true });
    }
  });

  /** A CSR for shop/frontend with a valid token, to `address` (plaintext without creds). */
  async function requestCertificate(
    address: string,
    creds?: grpc.ChannelCredentials,
  ): ReturnType<IdentityApi['createCertificate']> {
    const token = cp?.identity?.tokens?.issue(
      { namespace: 'shop', serviceAccount: 'frontend' },
      3_600_000,
    );
    assert.ok(token);
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const api = createIdentityClient(address, creds);
    try {
      return await api.createCertificate({ csr: await buildCsr(keys, FRONTEND), token });
    } finally {
      api.close();
    }
  }

  it('issues workload certificates over TLS, counted on /metrics', async () => {
    cp = await start(dir);
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    const token = cp.identity?.tokens?.issue(
      { namespace: 'shop', serviceAccount: 'frontend' },
      3_600_000,
    );
    assert.ok(token);
    const w = new WorkloadIdentity({
      api: createIdentityClient(`127.0.0.1:${cp.securePort}`, controlPlaneCredentials(root, CP_ID)),
      credential: () => token,
      spiffeId: FRONTEND,
      log: silentLogger(),
    });
    try {
      const cert = await w.start();
      assert.equal(cert.spiffeId, FRONTEND);
      assert.deepEqual(cert.rootPems, [new X509Certificate(root).toString()]);
    } finally {
      w.close();
    }
    const metrics = await (await fetch(`http://127.0.0.1:${cp.httpPort}/metrics`)).text();
    assert.match(metrics, /^ferry_identity_csr_total\{result="issued"\} 1$/m);
  });

  it('regression: refuses a CSR on the plaintext port with FAILED_PRECONDITION naming the reason, and signs the same over TLS', async () => {
    cp = await start(dir);
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    await assert.rejects(
      requestCertificate(`127.0.0.1:${cp.xdsPort}`),
      (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.FAILED_PRECONDITION, err.message);
        assert.match(err.details, /^FERRY_CSR_PLAINTEXT: .*served over TLS only.*--secure-port/);
        assert.match(err.details, /--allow-plaintext-csr \(development only\)/);
        return true;
      },
    );
    const signed = await requestCertificate(
      `127.0.0.1:${cp.securePort}`,
      controlPlaneCredentials(root, CP_ID),
    );
    const leaf = new X509Certificate(signed.cert_chain[0] as string);
    assert.equal(leaf.subjectAltName, `URI:${FRONTEND}`);
    const metrics = await (await fetch(`http://127.0.0.1:${cp.httpPort}/metrics`)).text();
    assert.match(metrics, /^ferry_identity_csr_total\{result="plaintext"\} 1$/m);
    assert.match(metrics, /^ferry_identity_csr_total\{result="issued"\} 1$/m);
    // Refused before the token is checked: nothing counted as a credential failure.
    assert.match(metrics, /^ferry_identity_csr_total\{result="unauthenticated"\} 0$/m);
  });

  it('--allow-plaintext-csr: the plaintext port signs CSRs too, and says so at warn on start', async () => {
    const capture = capturingLogger();
    cp = await start(dir, undefined, undefined, { allowPlaintextCsr: true, log: capture.log });
    assert.match(capture.text(), /"level":40,.*INSECURE: --allow-plaintext-csr is on/);
    const signed = await requestCertificate(`127.0.0.1:${cp.xdsPort}`);
    const leaf = new X509Certificate(signed.cert_chain[0] as string);
    assert.equal(leaf.subjectAltName, `URI:${FRONTEND}`);
  });

  it('a sidecar wired with sidecarIdentity() gets its config and its certificate over the secure port', async () => {
    cp = await start(dir);
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    const tokenFile = path.join(dir, 'web.token');
    writeFileSync(
      tokenFile,
      `${cp.identity?.tokens?.issue({ namespace: 'default', serviceAccount: 'web' }, 3_600_000)}\n`,
    );
    const side = sidecarIdentity({
      address: `127.0.0.1:${cp.securePort}`,
      rootPem: root,
      trustDomain: 'cluster.local',
      workload: { namespace: 'default', serviceAccount: 'web' },
      credential: credentialFromFile(tokenFile),
      log: silentLogger(),
    });
    const xds = new XdsClient({
      address: `127.0.0.1:${cp.securePort}`,
      credentials: side.credentials,
      node: sidecarNode('secure-web-2'),
      log: silentLogger(),
    });
    try {
      xds.start();
      const [config, cert] = await Promise.all([xds.ready(5000), side.identity.start()]);
      assert.ok(config.clusters.size > 0);
      assert.equal(cert.spiffeId, 'spiffe://cluster.local/ns/default/sa/web');
      assert.equal(side.controlPlaneId, CP_ID);
    } finally {
      xds.close();
      side.identity.close();
    }
  });

  it('a control plane in another namespace: a sidecar told that namespace connects, one expecting ferry-system does not', async () => {
    cp = await start(dir, undefined, 'mesh-infra');
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    const token = `${cp.identity?.tokens?.issue({ namespace: 'default', serviceAccount: 'web' }, 3_600_000)}`;
    const connect = async (controlPlaneNamespace?: string) => {
      const side = sidecarIdentity({
        address: `127.0.0.1:${cp!.securePort}`,
        rootPem: root,
        trustDomain: 'cluster.local',
        ...(controlPlaneNamespace ? { controlPlaneNamespace } : {}),
        workload: { namespace: 'default', serviceAccount: 'web' },
        credential: () => token,
        log: silentLogger(),
        random: () => 0,
      });
      try {
        return await Promise.race([
          side.identity.start().then((c) => c.spiffeId),
          new Promise<string>((r) => setTimeout(r, 3000, 'no certificate within 3 s')),
        ]);
      } finally {
        side.identity.close();
      }
    };
    assert.equal(await connect('mesh-infra'), 'spiffe://cluster.local/ns/default/sa/web');
    assert.notEqual(await connect(), 'spiffe://cluster.local/ns/default/sa/web');
  });

  it('keeps its root across restarts: the new serving certificate verifies with the old root, old tokens still work', async () => {
    cp = await start(dir);
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    const token = cp.identity?.tokens?.issue({ namespace: 'a', serviceAccount: 'b' }, 3_600_000);
    await cp.close();
    cp = await start(dir);
    assert.equal(readFileSync(path.join(dir, CA_FILES.root), 'utf8'), root);
    assert.ok(
      await firstAds(cp.securePort, controlPlaneCredentials(root, CP_ID), { id: 'probe' }).then(
        (r) => r.ok,
      ),
    );
    assert.deepEqual(await cp.identity?.tokens?.verify(token ?? ''), {
      namespace: 'a',
      serviceAccount: 'b',
    });
  });

  it('renews its serving certificate at half life; new connections get the new one', async () => {
    const timers = new FakeTimers();
    timers.time = Date.now();
    cp = await start(dir, timers);
    root = readFileSync(path.join(dir, CA_FILES.root), 'utf8');
    const first = await servedLeaf(cp.securePort, root);
    const serving = cp.identity?.serving;
    assert.ok(serving);
    assert.equal(serving.generation, 1);
    timers.advance(11 * 3_600_000);
    assert.equal(serving.generation, 1, 'not before half of 24 h');
    timers.advance(3_600_000 + 60_000);
    await waitFor('the renewed serving certificate', () => serving.generation === 2);
    const second = await servedLeaf(cp.securePort, root);
    assert.notEqual(second.serialNumber, first.serialNumber);
    assert.deepEqual(uriSans(second), [CP_ID]);
    assert.ok(
      await firstAds(cp.securePort, controlPlaneCredentials(root, CP_ID), { id: 'probe' }).then(
        (r) => r.ok,
      ),
    );
  });
});
