/**
 * A gateway node over real ADS: a control plane started on a mesh file with a Gateway, an
 * HTTPRoute and a certificate in `secrets:` serves a node announcing FERRY_GATEWAY its
 * listeners, route configurations, the mesh's clusters and the certificate over SDS; a
 * certificate file replaced on disk is pushed as a new Secret; the node never becomes an
 * endpoint.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { type DiscoveryResponse, jsonToStruct, META, types } from '../../src/xds/index.js';
import { TestCa } from '../support/test-ca.js';
import {
  adsClient,
  deltaResources,
  openDelta,
  openSotw,
  type StreamProbe,
  sotwResources,
} from '../support/xds-client.js';

const MESH = `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 127.0.0.1, port: 18080 }]
secrets:
  - { name: web-cert, certFile: web.crt, keyFile: web.key }
gatewayApi:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: edge, namespace: default }
    spec:
      gatewayClassName: ferry
      listeners:
        - { name: http, port: 8080, protocol: HTTP }
        - name: https
          port: 8443
          protocol: HTTPS
          hostname: web.example.com
          tls: { certificateRefs: [{ name: web-cert }] }
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: web }
    spec:
      parentRefs: [{ name: edge }]
      rules: [{ backendRefs: [{ name: api, port: 8080 }] }]
`;

// biome-ignore lint/suspicious/noExplicitAny: tests read deep into decoded protos.
type Loose = Record<string, any>;

function bytesText(b: unknown): string {
  return typeof b === 'string'
    ? Buffer.from(b, 'base64').toString()
    : Buffer.from(b as Uint8Array).toString();
}

async function ask(
  s: StreamProbe<DiscoveryResponse>,
  typeUrl: string,
  names: string[] = [],
  node?: object,
): Promise<{ res: DiscoveryResponse; values: Loose[] }> {
  s.send({ ...(node ? { node } : {}), type_url: typeUrl, resource_names: names });
  const res = await s.next(5000);
  assert.equal(res.type_url, typeUrl);
  s.send({
    type_url: typeUrl,
    resource_names: names,
    response_nonce: res.nonce,
    version_info: res.version_info,
  });
  return { res, values: sotwResources<Loose>(res) };
}

describe('control plane: a gateway node over ADS', function () {
  this.timeout(20_000);
  let dir: string;
  let cp: ControlPlane;
  let ca: TestCa;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-gateway-ads-'));
    ca = await TestCa.create();
    const first = await ca.issue('spiffe://cluster.local/ns/default/sa/edge');
    await writeFile(join(dir, 'web.crt'), first.chain);
    await writeFile(join(dir, 'web.key'), first.key);
    await writeFile(join(dir, 'mesh.yaml'), MESH);
    cp = await ControlPlane.start({
      configPath: join(dir, 'mesh.yaml'),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
  });

  after(async () => {
    await cp?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves LDS, RDS, CDS and SDS; a replaced certificate is pushed; no endpoint is registered', async () => {
    const client = adsClient(cp.xdsPort);
    const s = openSotw(client);
    const node = {
      id: 'edge-1',
      metadata: jsonToStruct({
        [META.gateway]: 'default/edge',
        // Even announcing a service, a gateway does not become its endpoint.
        [META.service]: 'api',
        [META.address]: '127.0.0.9',
        [META.inboundPort]: 15006,
      }),
    };
    try {
      const cds = await ask(s, types.CLUSTER, [], node);
      assert.ok(cds.values.some((c) => c.name === 'outbound|8080||api.default.svc.cluster.local'));
      const lds = await ask(s, types.LISTENER);
      assert.deepEqual(
        lds.values.map((l) => l.name),
        ['gateway~8080', 'gateway~8443'],
      );
      const https = lds.values[1];
      const tls = https.filter_chains[0].transport_socket.typed_config;
      assert.deepEqual(
        tls.common_tls_context.tls_certificate_sds_secret_configs[0].name,
        'default/web-cert',
      );
      assert.deepEqual(https.filter_chains[0].filter_chain_match.server_names, ['web.example.com']);

      const rds = await ask(s, types.ROUTE, ['gateway~8080', 'gateway~8443']);
      const byName = new Map(rds.values.map((r) => [r.name, r]));
      assert.deepEqual(byName.get('gateway~8080')?.virtual_hosts[0].domains, ['*']);
      assert.deepEqual(byName.get('gateway~8443')?.virtual_hosts[0].domains, [
        'web.example.com',
        'web.example.com:8443',
      ]);
      assert.equal(
        byName.get('gateway~8443')?.virtual_hosts[0].routes[0].route.cluster,
        'outbound|8080||api.default.svc.cluster.local',
      );

      const sds = await ask(s, types.SECRET, ['default/web-cert']);
      const [secret] = sds.values;
      const first = bytesText(secret.tls_certificate.certificate_chain.inline_bytes);
      assert.match(first, /BEGIN CERTIFICATE/);
      assert.match(bytesText(secret.tls_certificate.private_key.inline_bytes), /BEGIN PRIVATE KEY/);

      // Replace the pair on disk (key first, as a rotation tool might): one new Secret.
      const next = await ca.issue('spiffe://cluster.local/ns/default/sa/edge');
      await writeFile(join(dir, 'web.key.tmp'), next.key);
      await rename(join(dir, 'web.key.tmp'), join(dir, 'web.key'));
      await writeFile(join(dir, 'web.crt.tmp'), next.chain);
      await rename(join(dir, 'web.crt.tmp'), join(dir, 'web.crt'));
      let pushed: Loose | undefined;
      while (!pushed) {
        const res = await s.next(5000);
        s.send({
          type_url: res.type_url,
          resource_names: res.type_url === types.SECRET ? ['default/web-cert'] : [],
          response_nonce: res.nonce,
          version_info: res.version_info,
        });
        if (res.type_url === types.SECRET) pushed = sotwResources<Loose>(res)[0];
      }
      assert.equal(bytesText(pushed.tls_certificate.certificate_chain.inline_bytes), next.chain);
      assert.equal(bytesText(pushed.tls_certificate.private_key.inline_bytes), next.key);
      assert.deepEqual(cp.registry.workloads(), []);
    } finally {
      s.close();
      client.close();
    }
  });

  it('serves the same over delta xDS (as ferry gateway asks by default)', async () => {
    const client = adsClient(cp.xdsPort);
    const d = openDelta(client);
    try {
      d.send({
        node: { id: 'edge-2', metadata: jsonToStruct({ [META.gateway]: 'default/edge' }) },
        type_url: types.LISTENER,
      });
      const lds = await d.next(5000);
      assert.deepEqual(
        deltaResources(lds)
          .map((r) => r.name)
          .sort(),
        ['gateway~8080', 'gateway~8443'],
      );
      d.send({ type_url: types.LISTENER, response_nonce: lds.nonce });
      d.send({ type_url: types.SECRET, resource_names_subscribe: ['default/web-cert'] });
      const sds = await d.next(5000);
      assert.equal(sds.type_url, types.SECRET);
      const [secret] = deltaResources<Loose>(sds);
      assert.equal(secret.name, 'default/web-cert');
      assert.match(
        bytesText(secret.value.tls_certificate.certificate_chain.inline_bytes),
        /BEGIN CERTIFICATE/,
      );
    } finally {
      d.close();
      client.close();
    }
  });

  it("/debug/config_dump shows a gateway's resources, its private keys redacted", async () => {
    const client = adsClient(cp.xdsPort);
    const d = openDelta(client);
    try {
      d.send({
        node: { id: 'edge-3', metadata: jsonToStruct({ [META.gateway]: 'default/edge' }) },
        type_url: types.LISTENER,
      });
      await d.next(5000);
      const res = await fetch(`http://127.0.0.1:${cp.httpPort}/debug/config_dump?node=edge-3`);
      const text = await res.text();
      const dump = JSON.parse(text) as { resources: Record<string, Loose[]> };
      assert.deepEqual(
        // Proxyless API listeners are there too, served only when asked for by name.
        dump.resources.LDS.filter((l) => !l.on_demand).map((l) => l.name),
        ['gateway~8080', 'gateway~8443'],
      );
      const [secret] = dump.resources.SDS;
      assert.equal(secret.name, 'default/web-cert');
      assert.deepEqual(secret.resource.tls_certificate.private_key, {
        inline_string: '[redacted]',
      });
      assert.doesNotMatch(text, /PRIVATE KEY|LS0tLS1CRUdJTiBQUklWQVRF/);
    } finally {
      d.close();
      client.close();
    }
  });
});
