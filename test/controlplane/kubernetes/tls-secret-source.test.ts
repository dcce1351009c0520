/**
 * Gateway certificates from the cluster's kubernetes.io/tls Secrets, against the replay API
 * server (real HTTPS, list then watch) and a real control plane's ADS stream: only TLS
 * Secrets are asked for (field selector), a Secret is served over SDS as `<ns>/<name>`, a
 * new version of it is pushed as a new SDS version, and a Secret whose key does not belong
 * to its certificate is not published: the last good pair stays and the listener's
 * ResolvedRefs says InvalidCertificateRef; one that never had a good pair is missing.
 */
import assert from 'node:assert/strict';
import { ControlPlane } from '../../../src/controlplane/index.js';
import { TlsSecretSource } from '../../../src/controlplane/kubernetes/index.js';
import { gatewayApiState } from '../../../src/controlplane/translate/index.js';
import { silentLogger } from '../../../src/log/index.js';
import { type MeshConfig, parseMesh } from '../../../src/mesh/index.js';
import { type DiscoveryResponse, jsonToStruct, META, types } from '../../../src/xds/index.js';
import { gate, ReplayApiServer } from '../../kube/support/replay-api-server.js';
import { TestCa } from '../../support/test-ca.js';
import { waitFor } from '../../support/wait-for.js';
import { adsClient, openSotw, type StreamProbe, sotwResources } from '../../support/xds-client.js';

const MESH = `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 127.0.0.1, port: 18080 }]
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: edge, namespace: default }
    spec:
      gatewayClassName: ferry
      listeners:
        - name: web
          port: 8443
          protocol: HTTPS
          hostname: web.example.com
          tls: { certificateRefs: [{ name: web-cert }] }
        - name: bad
          port: 9443
          protocol: HTTPS
          hostname: bad.example.com
          tls: { certificateRefs: [{ name: bad-cert }] }
`;

// biome-ignore lint/suspicious/noExplicitAny: tests read deep into decoded protos and JSON.
type Loose = Record<string, any>;

function meshConfig(text: string): MeshConfig {
  const parsed = parseMesh(text, 'mesh.yaml');
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.config;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function tlsSecret(name: string, rv: string, chain: string, key: string): Loose {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'default', resourceVersion: rv },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(chain), 'tls.key': b64(key) },
  };
}

const event = (type: string, object: Loose) => JSON.stringify({ type, object });

function refsOf(cp: ControlPlane, listener: string): string {
  const state = gatewayApiState(cp.cache.config);
  const l = state.gateways[0]?.listeners.find((x) => x.listener.name === listener);
  const c = l?.conditions.find((x) => x.type === 'ResolvedRefs');
  return `${c?.status}/${c?.reason}/${l?.usable ? 'served' : 'not served'}`;
}

describe('kubernetes: Gateway certificates from kubernetes.io/tls Secrets', function () {
  this.timeout(20_000);
  let server: ReplayApiServer;
  let cp: ControlPlane;
  let source: TlsSecretSource;
  const rotate = gate();
  const breakIt = gate();
  let a: { chain: string; key: string };
  let b: { chain: string; key: string };
  let c: { chain: string; key: string };

  before(async () => {
    const ca = await TestCa.create();
    a = await ca.issue('spiffe://cluster.local/ns/default/sa/edge');
    b = await ca.issue('spiffe://cluster.local/ns/default/sa/edge');
    c = await ca.issue('spiffe://cluster.local/ns/default/sa/edge');
    server = await ReplayApiServer.start();
    server
      .list('/api/v1/secrets', {
        body: {
          apiVersion: 'v1',
          kind: 'SecretList',
          metadata: { resourceVersion: '10' },
          items: [
            tlsSecret('web-cert', '5', a.chain, a.key),
            // Never good: its key is another certificate's.
            tlsSecret('bad-cert', '6', a.chain, c.key),
          ],
        },
      })
      .watch(
        '/api/v1/secrets',
        {
          gate: rotate.promise,
          lines: [event('MODIFIED', tlsSecret('web-cert', '11', b.chain, b.key))],
          end: true,
        },
        {
          gate: breakIt.promise,
          // A new certificate with the old key: refused, the previous pair stays.
          lines: [event('MODIFIED', tlsSecret('web-cert', '12', c.chain, b.key))],
        },
      );
    cp = await ControlPlane.start({
      config: meshConfig(MESH),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    source = new TlsSecretSource({
      kubeConfig: server.kubeConfig(),
      log: silentLogger(),
      debounceMs: 10,
      onChange: (secrets) => cp.registry.setTlsSecrets('kubernetes', secrets),
    });
    await source.start();
  });

  after(async () => {
    await source?.close();
    await cp?.close();
    await server?.close();
  });

  it('lists and watches only kubernetes.io/tls Secrets', async () => {
    await waitFor(
      'the Secrets to be watched',
      () => server.requestsTo('/api/v1/secrets', 'watch').length > 0,
    );
    for (const r of [
      ...server.requestsTo('/api/v1/secrets', 'list'),
      ...server.requestsTo('/api/v1/secrets', 'watch'),
    ])
      assert.equal(r.query.get('fieldSelector'), 'type=kubernetes.io/tls');
  });

  it('serves a Secret over SDS, pushes its new version, keeps it when the next one is refused', async () => {
    const client = adsClient(cp.xdsPort);
    const s = openSotw(client);
    const node = { id: 'edge-1', metadata: jsonToStruct({ [META.gateway]: 'default/edge' }) };
    const names = ['default/web-cert', 'default/bad-cert'];
    const nextSecret = async (p: StreamProbe<DiscoveryResponse>): Promise<DiscoveryResponse> => {
      for (;;) {
        const res = await p.next(5000);
        p.send({
          type_url: res.type_url,
          resource_names: res.type_url === types.SECRET ? names : [],
          response_nonce: res.nonce,
          version_info: res.version_info,
        });
        if (res.type_url === types.SECRET) return res;
      }
    };
    const chainOf = (res: DiscoveryResponse) =>
      sotwResources<Loose>(res).map((r) => [
        r.name,
        Buffer.from(r.tls_certificate.certificate_chain.inline_bytes, 'base64').toString(),
      ]);
    try {
      await waitFor('web-cert loaded', () =>
        (cp.cache.config.tlsSecrets ?? []).some((x) => x.name === 'web-cert'),
      );
      s.send({ node, type_url: types.SECRET, resource_names: names });
      const first = await nextSecret(s);
      // The mismatched Secret is not published at all.
      assert.deepEqual(chainOf(first), [['default/web-cert', a.chain]]);
      assert.equal(refsOf(cp, 'web'), 'True/ResolvedRefs/served');
      assert.equal(refsOf(cp, 'bad'), 'False/InvalidCertificateRef/not served');

      rotate.open();
      const second = await nextSecret(s);
      assert.notEqual(second.version_info, first.version_info);
      assert.deepEqual(chainOf(second), [['default/web-cert', b.chain]]);

      breakIt.open();
      await waitFor(
        'the refused version to be marked',
        () => refsOf(cp, 'web') === 'False/InvalidCertificateRef/served',
      );
      // Still the last good pair: nothing new on the stream for it.
      const [kept] = cp.cache.config.tlsSecrets ?? [];
      assert.equal(kept?.certificateChain, b.chain);
      assert.equal(kept?.privateKey, b.key);
      assert.match(kept?.problem ?? '', /key does not belong/);
    } finally {
      s.close();
      client.close();
    }
  });
});
