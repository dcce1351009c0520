/**
 * `ferry control-plane` with its Kubernetes flags, as real processes against an API server
 * replaying recorded responses (and keeping the objects the control plane writes) over
 * HTTPS on 127.0.0.1:
 *  - discovery: the cluster's Services and EndpointSlices reach a real xDS client, merged
 *    with the mesh file; a watch event moves an endpoint; a watch that expires (410 Gone)
 *    is listed again and the relisted state is served;
 *  - the webhook answers a real AdmissionReview over HTTPS with a certificate that verifies,
 *    for the Service's DNS name, against the caBundle it wrote into the
 *    MutatingWebhookConfiguration;
 *  - two instances starting together against one API server end up with one CA root (the
 *    Secret's create race, and the update race on the chart's empty Secret);
 *  - a CSR with a token TokenReview approves is signed; a rejected token is UNAUTHENTICATED.
 */
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { isDeepStrictEqual } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import {
  buildCsr,
  controlPlaneCredentials,
  createIdentityClient,
} from '../../../src/identity/index.js';
import {
  applyPatch,
  CA_ROOT_ANNOTATION,
  IDENTITY_MOUNT,
  type PodTemplate,
} from '../../../src/kube/inject/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { nodeMetadataFor } from '../../../src/xds/index.js';
import { type ProxyConfig, XdsClient } from '../../../src/xds-client/index.js';
import { fixtureJson, fixtureText } from '../../kube/discovery/fixtures.js';
import {
  type RunningControlPlane,
  startControlPlaneProcess,
  writeKubeconfig,
} from '../../kube/support/control-plane-process.js';
import {
  CA_SECRET,
  chartWebhookConfig,
  FakeObjects,
  NAMESPACE,
  secretPath,
  TOKEN_REVIEWS,
  tokenReviewAuthenticated,
  tokenReviewUnauthenticated,
  WEBHOOK_CONFIG,
  webhookConfigPath,
} from '../../kube/support/fake-objects.js';
import { gate, ReplayApiServer, watchLines } from '../../kube/support/replay-api-server.js';
import { type SidecarProcess, startSidecarProcess } from '../../support/sidecar-process.js';
import { waitFor } from '../../support/wait-for.js';
import { addresses, configWhere } from '../../xds-client/support.js';

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects checked field by field.
type Obj = Record<string, any>;

const SERVICES = '/api/v1/services';
const SLICES = '/apis/discovery.k8s.io/v1/endpointslices';
const PODS = '/api/v1/pods';
const NAMESPACES = '/api/v1/namespaces';
const SERVICE_DNS = `ferry-control-plane.${NAMESPACE}.svc`;
const SPIFFE_CP = `spiffe://cluster.local/ns/${NAMESPACE}/sa/ferry-control-plane`;

const MESH = `mesh:
  trustDomain: cluster.local
  domain: cluster.local
services:
  # Declared here and discovered: the file's settings, the cluster's endpoints after its own.
  - name: web
    namespace: shop
    ports:
      - { port: 80, protocol: http }
    endpoints:
      - { address: 10.0.0.99, port: 8080 }
    policy:
      timeout: 3s
`;

/** A pod of the `shop` namespace, as the API server sends it to the webhook. */
const POD_REVIEW = {
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: '5c2f6d3e-1a4b-4c8d-9e0f-7a6b5c4d3e21',
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    namespace: 'shop',
    operation: 'CREATE',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'web-7d9f6c5b8-', namespace: 'shop', labels: { app: 'web' } },
      spec: {
        serviceAccountName: 'web',
        containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 8080 }] }],
      },
    },
  },
};

/** The CA in the Secret, the secure port on a free port. */
const CA_FLAGS = ['--ca-secret', CA_SECRET, '--namespace', NAMESPACE, '--secure-port', '0'];

const WEB = 'outbound|80||web.shop.svc.cluster.local';
const API = 'outbound|9090||api.shop.svc.cluster.local';

describe('ferry control-plane in Kubernetes (processes against a replaying API server)', function () {
  this.timeout(60_000);
  let server: ReplayApiServer;
  let objects: FakeObjects;
  let dir: string;
  let meshFile: string;
  let kubeconfig: string;
  const running: RunningControlPlane[] = [];
  const clients: XdsClient[] = [];
  const sidecars: SidecarProcess[] = [];

  beforeEach(async () => {
    server = await ReplayApiServer.start();
    objects = new FakeObjects(server);
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-kube-cp-'));
    meshFile = path.join(dir, 'mesh.yaml');
    await writeFile(meshFile, MESH);
    kubeconfig = writeKubeconfig(server, dir);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(sidecars.splice(0).map((s) => s.kill()));
    await Promise.all(running.splice(0).map((r) => r.stop()));
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(...flags: string[]): Promise<RunningControlPlane> {
    const cp = await startControlPlaneProcess([
      '--config',
      meshFile,
      '--kubeconfig',
      kubeconfig,
      '--xds-port',
      '0',
      '--http-port',
      '0',
      '--debounce',
      '10',
      '--warmup',
      '0',
      ...flags,
    ]);
    running.push(cp);
    return cp;
  }

  /** The root certificate (PEM) the CA Secret holds now. */
  function secretRoot(): string {
    const data = objects.get(secretPath(NAMESPACE, CA_SECRET))?.data;
    assert.ok(data?.['ca.crt'], 'the CA Secret holds no root');
    return Buffer.from(data['ca.crt'], 'base64').toString();
  }

  /** The statuses the API server answered `method` writes with, sorted. */
  function writeStatuses(method: string): string[] {
    return objects.writes
      .filter((w) => w.startsWith(`${method} `))
      .map((w) => w.split(' -> ')[1] ?? '')
      .sort();
  }

  function recordedLists(): void {
    server
      .list(SERVICES, { body: fixtureJson('services.list.json') })
      .list(
        SLICES,
        { body: fixtureJson('endpointslices.list.json') },
        { body: fixtureJson('endpointslices.relist.json') },
      )
      .list(PODS, { body: fixtureJson('pods.list.json') })
      .list(NAMESPACES, { body: fixtureJson('namespaces.list.json') });
  }

  function xdsClient(port: number): XdsClient {
    const client = new XdsClient({
      address: `127.0.0.1:${port}`,
      node: {
        id: 'probe.shop',
        metadata: nodeMetadataFor({
          service: 'probe',
          namespace: 'shop',
          labels: {},
          serviceAccount: 'probe',
          address: '127.0.0.9',
          inboundPort: 15006,
          outboundPort: 15001,
          appPort: 9999,
          region: '',
          zone: '',
          health: 'HEALTHY',
        }),
      },
      mode: 'delta',
      log: silentLogger(),
      backoff: { baseMs: 20, maxMs: 200 },
    });
    clients.push(client);
    client.start();
    return client;
  }

  it('--kubernetes: the cluster’s services reach an xDS client, merged with the mesh file, and follow the watches', async () => {
    recordedLists();
    const events = gate();
    const expire = gate();
    server
      .watch(SERVICES, {
        lines: watchLines(fixtureText('services.watch.jsonl')),
        gate: events.promise,
      })
      .watch(PODS, { lines: watchLines(fixtureText('pods.watch.jsonl')), gate: events.promise })
      .watch(
        SLICES,
        {
          lines: watchLines(fixtureText('endpointslices.watch.jsonl')),
          gate: events.promise,
          end: true,
        },
        // The next watch expires: the resourceVersion is too old, so the informer lists again.
        {
          lines: watchLines(fixtureText('endpointslices.watch-expired.jsonl')),
          gate: expire.promise,
          end: true,
        },
      );
    const cp = await start('--kubernetes');
    assert.match(cp.stdout(), /Kubernetes API .*kubeconfig/);
    const client = xdsClient(cp.xdsPort);

    // The recorded lists: web from the file (its static endpoint first) plus the cluster's
    // ready and draining endpoints; api only from the cluster, IPv6 endpoint included.
    const first = await configWhere(
      client,
      (c) => c.endpoints.has(API) && c.endpoints.has(WEB),
      10_000,
    );
    assert.deepEqual(addresses(first.endpoints.get(WEB)).sort(), [
      '10.0.0.99:8080',
      '10.244.1.5:8080',
      '10.244.2.7:8080',
      '10.244.2.9:8080',
    ]);
    assert.deepEqual(addresses(first.endpoints.get(API)).sort(), [
      '10.244.1.10:9090',
      '10.244.2.11:9090',
      'fd00:10:244:1::a:9090',
    ]);
    assert.ok(first.clusters.has('outbound|5432||db.shop.svc.cluster.local'));
    // The file's policy applies to the discovered service: its route times out after 3 s.
    assert.equal(routeTimeout(first, 'web.shop.svc.cluster.local'), '3s');
    assert.equal(routeTimeout(first, 'api.shop.svc.cluster.local'), undefined);

    // Watch events: db deleted, web rolled to a new pod.
    events.open();
    const rolled = await configWhere(
      client,
      (c) =>
        !c.clusters.has('outbound|5432||db.shop.svc.cluster.local') &&
        addresses(c.endpoints.get(WEB)).includes('10.244.1.14:8080'),
      10_000,
    );
    assert.ok(
      addresses(rolled.endpoints.get(WEB)).includes('10.0.0.99:8080'),
      'the file’s endpoint stays',
    );

    // The slices watch ended and the next one expires: listed again (relist fixture), and
    // what changed meanwhile is served: api lost 10.244.2.11.
    expire.open();
    const relisted = await configWhere(
      client,
      (c) => !addresses(c.endpoints.get(API)).includes('10.244.2.11:9090'),
      10_000,
    );
    assert.deepEqual(addresses(relisted.endpoints.get(API)).sort(), [
      '10.244.1.10:9090',
      'fd00:10:244:1::a:9090',
    ]);
    assert.equal(server.requestsTo(SLICES, 'list').length, 2, 'listed again after 410 Gone');
  });

  it('two replicas watching one cluster give a sidecar the same configuration', async () => {
    recordedLists();
    // Both replicas list the same slices (recordedLists() answers a second list with the relist).
    server.list(SLICES, { body: fixtureJson('endpointslices.list.json') });
    const [a, b] = await Promise.all([start('--kubernetes'), start('--kubernetes')]);
    const ready = (c: ProxyConfig) => c.endpoints.has(API) && c.endpoints.has(WEB);
    const clients = [a, b].map((cp) => xdsClient(cp.xdsPort));
    const [fromA] = await Promise.all(clients.map((c) => configWhere(c, ready, 10_000)));
    const values = (config: ProxyConfig | undefined) =>
      Object.fromEntries(
        (['listeners', 'routes', 'clusters', 'endpoints'] as const).map((kind) => [
          kind,
          [...(config?.[kind] ?? [])].map(([name, entry]) => [name, entry.value]),
        ]),
      );
    assert.ok(fromA.clusters.size > 4, 'a whole configuration');
    // Regression (Node 24 CI): one replica can publish a watch event the other has not
    // applied yet; they must converge on the same configuration, not match at one instant.
    await waitFor(
      'both replicas to serve the same configuration',
      () => isDeepStrictEqual(values(clients[0]!.current()), values(clients[1]!.current())),
      10_000,
    );
    assert.deepEqual(values(clients[1]!.current()), values(clients[0]!.current()));
  });

  it('--webhook-port: a real AdmissionReview over HTTPS, the certificate verified against the caBundle it patched in', async () => {
    recordedLists();
    objects
      .secret(NAMESPACE, CA_SECRET)
      .webhookConfig()
      .put(webhookConfigPath(WEBHOOK_CONFIG), chartWebhookConfig());
    const cp = await start(
      '--kubernetes',
      ...CA_FLAGS,
      '--webhook-port',
      '0',
      '--webhook-config',
      WEBHOOK_CONFIG,
      '--proxy-image',
      'registry.example/ferry:test',
    );
    assert.ok(cp.webhookPort, cp.stdout());
    const mwc = objects.get(webhookConfigPath(WEBHOOK_CONFIG));
    const bundles = mwc?.webhooks.map(
      (w: { clientConfig: { caBundle?: string } }) => w.clientConfig.caBundle,
    );
    assert.equal(bundles.length, 2);
    assert.ok(bundles[0] && bundles[0] === bundles[1], 'both webhooks trust the same bundle');
    const caBundle = Buffer.from(bundles[0], 'base64').toString('utf8');
    assert.equal(
      new X509Certificate(caBundle).fingerprint256,
      new X509Certificate(secretRoot()).fingerprint256,
      'the caBundle is the mesh root kept in the Secret',
    );
    const patches = server.requests.filter((r) => r.method === 'PATCH');
    assert.equal(patches.length, 1);
    assert.equal(patches[0]?.contentType, 'application/json-patch+json');

    // As the API server calls it: POST to the Service's DNS name, trusting only caBundle.
    const review = POD_REVIEW;
    const reply = await postJson(cp.webhookPort ?? 0, caBundle, SERVICE_DNS, '/inject', review);
    assert.equal(reply.status, 200, reply.body);
    const response = JSON.parse(reply.body).response;
    assert.equal(response.uid, review.request.uid);
    assert.equal(response.allowed, true);
    assert.equal(response.patchType, 'JSONPatch');
    const patch = JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as {
      path: string;
      value: { name?: string; image?: string; restartPolicy?: string }[] | { name?: string };
    }[];
    const added = patch.flatMap((op) => (Array.isArray(op.value) ? op.value : [op.value]));
    const proxy = added.find((c) => c?.name === 'ferry-proxy') as
      | { image?: string; restartPolicy?: string; args?: string[] }
      | undefined;
    assert.ok(proxy, `no ferry-proxy in ${JSON.stringify(patch)}`);
    assert.equal(proxy.image, 'registry.example/ferry:test', '--proxy-image');
    // The API server says v1.30.2: a native sidecar.
    assert.equal(proxy.restartPolicy, 'Always');
    assert.ok(proxy.args?.includes(`${SERVICE_DNS}:15012`), 'sidecars are sent to this Service');

    // The namespace label from the namespace watch: "shop" opted in, "default" did not.
    const other = structuredClone(review);
    other.request.namespace = 'default';
    const left = JSON.parse(
      (await postJson(cp.webhookPort ?? 0, caBundle, SERVICE_DNS, '/inject', other)).body,
    );
    assert.equal(left.response.allowed, true);
    assert.equal(left.response.patch, undefined, 'a pod of a namespace not opted in is left alone');

    const metrics = await (await fetch(`http://127.0.0.1:${cp.httpPort}/metrics`)).text();
    assert.match(metrics, /^ferry_injection_reviews_total\{result="injected"\} 1$/m);
    assert.match(metrics, /^ferry_injection_reviews_total\{result="skipped"\} 1$/m);

    // The certificate is not for another name, and no other root verifies it.
    await assert.rejects(
      postJson(cp.webhookPort ?? 0, caBundle, 'evil.example.com', '/inject', review),
      /does not match|altnames/i,
    );
  });

  it('an injected pod’s sidecar, run as its patch says (token and root as the kubelet projects them), gets its certificate over the secure port', async () => {
    objects.secret(NAMESPACE, CA_SECRET);
    const KUBELET_TOKEN = 'projected-token-of-web-x1mzp';
    const reviews: { spec: { token: string; audiences?: string[] } }[] = [];
    server.post(TOKEN_REVIEWS, (body) => {
      const review = body as { spec: { token: string; audiences?: string[] } };
      reviews.push(review);
      return review.spec.token === KUBELET_TOKEN && review.spec.audiences?.includes('ferry')
        ? tokenReviewAuthenticated(review, 'system:serviceaccount:shop:web', ['ferry'])
        : tokenReviewUnauthenticated(review, 'token not recognised');
    });
    const cp = await start(...CA_FLAGS, '--token-audience', 'ferry', '--webhook-port', '0');
    const rootPem = secretRoot();
    const reply = await postJson(cp.webhookPort ?? 0, rootPem, SERVICE_DNS, '/inject', POD_REVIEW);
    const { patch } = JSON.parse(reply.body).response as { patch: string };
    const pod = applyPatch(
      POD_REVIEW.request.object,
      JSON.parse(Buffer.from(patch, 'base64').toString('utf8')),
    ) as PodTemplate;

    // The kubelet's part: the projected volume's two files, and $(VAR) from the env.
    const volume = (pod.spec.volumes as { name: string; projected: { sources: Obj[] } }[]).find(
      (v) => v.name === 'ferry-identity',
    );
    assert.equal(volume?.projected.sources[0]?.serviceAccountToken.audience, 'ferry');
    const mounted = path.join(dir, 'identity');
    await mkdir(mounted);
    await writeFile(path.join(mounted, 'token'), KUBELET_TOKEN);
    await writeFile(
      path.join(mounted, 'root-cert.pem'),
      pod.metadata?.annotations?.[CA_ROOT_ANNOTATION] ?? '',
    );
    const proxy = pod.spec.initContainers?.find((c) => c.name === 'ferry-proxy') as unknown as {
      args: string[];
    };
    const env: Record<string, string> = {
      POD_NAME: 'web-7d9f6c5b8-x1mzp',
      POD_NAMESPACE: 'shop',
      POD_IP: '127.0.0.1',
    };
    const args = proxy.args
      .slice(1)
      .map((a) => a.replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? ''))
      .map((a) => a.replace(IDENTITY_MOUNT, mounted));
    // The Service's address is this machine's secure port; nothing listens beyond loopback.
    args[args.indexOf('--xds') + 1] = `127.0.0.1:${cp.securePort}`;
    args[args.indexOf('--bind') + 1] = '127.0.0.1';
    const sidecar = await startSidecarProcess(args);
    sidecars.push(sidecar);

    await waitFor('the sidecar’s certificate to be issued', async () =>
      /ferry_identity_csr_total\{result="issued"\} 1\b/.test(
        await (await fetch(`http://127.0.0.1:${cp.httpPort}/metrics`)).text(),
      ),
    );
    assert.ok(reviews.length >= 1);
    for (const r of reviews)
      assert.deepEqual(r.spec, { token: KUBELET_TOKEN, audiences: ['ferry'] });
  });

  it('two instances starting together against one API server end up with one CA root (create race)', async () => {
    objects.secret(NAMESPACE, CA_SECRET).holdReads(secretPath(NAMESPACE, CA_SECRET), 2);
    const [a, b] = await Promise.all([start(...CA_FLAGS), start(...CA_FLAGS)]);
    // Both read "not found", both created: one won, the other got 409 and read the winner's.
    assert.deepEqual(writeStatuses('POST'), ['201', '409'], objects.writes.join('\n'));
    const rootPem = secretRoot();
    for (const cp of [a, b]) await assertServesUnder(cp, rootPem);
    assert.match(`${a.stdout()}${b.stdout()}`, /another replica wrote the Secret first/);
  });

  it('the chart’s empty Secret: two instances fill it once (update race, 409 on the stale resourceVersion)', async () => {
    objects
      .secret(NAMESPACE, CA_SECRET)
      .put(secretPath(NAMESPACE, CA_SECRET), {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: CA_SECRET,
          namespace: NAMESPACE,
          annotations: { 'ferry.io/managed-by': 'control-plane' },
        },
        type: 'Opaque',
      })
      .holdReads(secretPath(NAMESPACE, CA_SECRET), 2);
    const [a, b] = await Promise.all([start(...CA_FLAGS), start(...CA_FLAGS)]);
    assert.deepEqual(writeStatuses('PUT'), ['200', '409'], objects.writes.join('\n'));
    const secret = objects.get(secretPath(NAMESPACE, CA_SECRET));
    assert.equal(
      secret?.metadata.annotations['ferry.io/managed-by'],
      'control-plane',
      'the chart’s metadata kept',
    );
    const rootPem = secretRoot();
    for (const cp of [a, b]) await assertServesUnder(cp, rootPem);

    // A restart reuses the root: no write at all.
    const before = objects.writes.length;
    const c = await start(...CA_FLAGS);
    await assertServesUnder(c, rootPem);
    assert.equal(objects.writes.length, before);
  });

  it('--ca-secret: a CSR with a token TokenReview approves is signed; a rejected token is UNAUTHENTICATED', async () => {
    objects.secret(NAMESPACE, CA_SECRET);
    const reviews: { spec: { token: string; audiences?: string[] } }[] = [];
    server.post(TOKEN_REVIEWS, (body) => {
      const review = body as { spec: { token: string; audiences?: string[] } };
      reviews.push(review);
      if (review.spec.token === 'approved-web-token')
        return tokenReviewAuthenticated(review, 'system:serviceaccount:shop:web', ['ferry']);
      if (review.spec.token === 'token-for-another-audience')
        return tokenReviewAuthenticated(review, 'system:serviceaccount:shop:web', ['vault']);
      return tokenReviewUnauthenticated(
        review,
        '[invalid bearer token, token has been invalidated]',
      );
    });
    const cp = await start(...CA_FLAGS, '--token-audience', 'ferry');
    const rootPem = secretRoot();
    const api = createIdentityClient(
      `127.0.0.1:${cp.securePort}`,
      controlPlaneCredentials(rootPem, SPIFFE_CP),
    );
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const web = 'spiffe://cluster.local/ns/shop/sa/web';
    const csr = await buildCsr(keys, web);

    const signed = await api.createCertificate({ csr, token: 'approved-web-token' });
    const leaf = new X509Certificate(signed.cert_chain[0] as string);
    assert.equal(leaf.subjectAltName, `URI:${web}`);
    assert.ok(
      leaf.verify(new X509Certificate(rootPem).publicKey),
      'signed by the root in the Secret',
    );
    assert.deepEqual(reviews[0]?.spec, { token: 'approved-web-token', audiences: ['ferry'] });

    for (const token of ['stolen-or-expired-token', 'token-for-another-audience']) {
      await assert.rejects(api.createCertificate({ csr, token }), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAUTHENTICATED, `${token}: ${err.message}`);
        assert.match(err.details, /FERRY_TOKEN_INVALID/);
        return true;
      });
    }
    assert.equal(reviews.length, 3);
  });
});

/** The timeout of the first route of the virtual host named after `host`, as "3s". */
function routeTimeout(config: ProxyConfig, host: string): string | undefined {
  for (const entry of config.routes.values()) {
    const vhosts = (entry.value.virtual_hosts ?? []) as {
      domains?: string[];
      routes?: { route?: { timeout?: { seconds?: string | number; nanos?: number } } }[];
    }[];
    const vhost = vhosts.find((v) => v.domains?.includes(host));
    if (!vhost) continue;
    const t = vhost.routes?.[0]?.route?.timeout;
    return t ? `${Number(t.seconds ?? 0) + (t.nanos ?? 0) / 1e9}s` : undefined;
  }
  throw new Error(`no virtual host for ${host}`);
}

/** The secure port's certificate chains to `rootPem` and names the Service. */
async function assertServesUnder(cp: RunningControlPlane, rootPem: string): Promise<void> {
  const peer = await new Promise<tls.PeerCertificate>((resolve, reject) => {
    const socket = tls.connect(
      {
        host: '127.0.0.1',
        port: cp.securePort ?? 0,
        ca: rootPem,
        servername: SERVICE_DNS,
        ALPNProtocols: ['h2'],
      },
      () => {
        const cert = socket.getPeerCertificate();
        socket.end();
        resolve(cert);
      },
    );
    socket.once('error', reject);
  });
  assert.match(peer.subjectaltname ?? '', new RegExp(`DNS:${SERVICE_DNS.replace(/\./g, '\\.')}`));
}

function postJson(
  port: number,
  ca: string,
  servername: string,
  urlPath: string,
  body: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: urlPath,
        method: 'POST',
        ca,
        servername,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
