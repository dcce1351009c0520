/**
 * `ferry proxy-config` against a real control plane and a real ADS client that subscribed
 * to and acknowledged everything a sidecar asks for; secrets from a real certificate.
 */
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/args.js';
import {
  type ConfigDump,
  formatProxyConfig,
  redact,
  runProxyConfig,
} from '../../src/cli/proxy-config.js';
import type { ControlPlaneQueryError } from '../../src/cli/proxy-status.js';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import {
  type AdsClient,
  type DiscoveryResponse,
  nodeMetadataFor,
  types,
} from '../../src/xds/index.js';
import { endpoint, mesh, service } from '../support/mesh.js';
import { sink } from '../support/output-sink.js';
import { TestCa } from '../support/test-ca.js';
import { adsClient, openSotw, type StreamProbe, sotwResources } from '../support/xds-client.js';

describe('ferry proxy-config', () => {
  let cp: ControlPlane;
  let client: AdsClient;
  let url: string;
  let probe: StreamProbe<DiscoveryResponse>;

  before(async () => {
    const api = service('api', 8080, 'http', [], {
      endpoints: [
        endpoint('127.0.0.1', 18081, 8080, { labels: { version: 'v1' }, zone: 'a' }),
        endpoint('127.0.0.1', 18082, 8080, { labels: { version: 'v2' }, zone: 'b', weight: 3 }),
      ],
      subsets: [
        { name: 'v1', labels: { version: 'v1' } },
        { name: 'v2', labels: { version: 'v2' } },
      ],
      policy: {
        loadBalancer: 'round_robin',
        connectTimeoutMs: 5000,
        healthCheck: {
          kind: { type: 'http', path: '/healthz', expectedStatuses: [[200, 201]] },
          intervalMs: 5000,
          timeoutMs: 1000,
          healthyThreshold: 1,
          unhealthyThreshold: 3,
        },
      },
      routes: [
        {
          name: 'search',
          match: [{ path: { prefix: '/search' }, headers: [], queryParams: [] }],
          backends: [],
          mirror: { service: 'api', namespace: 'default', subset: 'v2', percentage: 12.5 },
        },
      ],
    });
    cp = await ControlPlane.start({
      config: mesh(api, service('web', 8000, 'http', [])),
      xdsPort: 0,
      httpPort: 0,
      debounceMs: 10,
      gracePeriodMs: 300,
      warmupMs: 0,
      log: silentLogger(),
    });
    client = adsClient(cp.xdsPort);
    url = `http://127.0.0.1:${cp.httpPort}`;
    probe = openSotw(client);
    const node = {
      id: 'web-7f9c',
      metadata: nodeMetadataFor({
        service: 'web',
        namespace: 'default',
        labels: { version: 'v1' },
        serviceAccount: 'web',
        address: '127.0.0.1',
        inboundPort: 15006,
        outboundPort: 15001,
        appPort: 8000,
        region: '',
        zone: '',
        health: 'HEALTHY',
      }),
    };
    // What a sidecar does: CDS and LDS wildcard, then EDS and RDS for what they name.
    probe.send({ node, type_url: types.CLUSTER });
    const cds = await probe.latest();
    probe.send({
      type_url: types.CLUSTER,
      response_nonce: cds.nonce,
      version_info: cds.version_info,
    });
    const edsNames = sotwResources<{ name: string; type?: string }>(cds)
      .filter((c) => c.type !== 'STATIC')
      .map((c) => c.name);
    probe.send({ type_url: types.LISTENER });
    const lds = await probe.latest();
    probe.send({
      type_url: types.LISTENER,
      response_nonce: lds.nonce,
      version_info: lds.version_info,
    });
    probe.send({ type_url: types.ENDPOINT, resource_names: edsNames });
    const eds = await probe.latest();
    probe.send({
      type_url: types.ENDPOINT,
      resource_names: edsNames,
      response_nonce: eds.nonce,
      version_info: eds.version_info,
    });
    const rdsNames = ['outbound.default', 'inbound|8000||'];
    probe.send({ type_url: types.ROUTE, resource_names: rdsNames });
    const rds = await probe.latest();
    probe.send({
      type_url: types.ROUTE,
      resource_names: rdsNames,
      response_nonce: rds.nonce,
      version_info: rds.version_info,
    });
  });

  after(async () => {
    probe.close();
    client.close();
    await cp.close();
  });

  async function run(...args: string[]): Promise<string> {
    const out = sink();
    await runProxyConfig([...args, '--control-plane', url], out, {});
    return out.text;
  }

  it('prints clusters: FQDN, port, subset, direction, discovery type, health check', async () => {
    const text = await run('web-7f9c', 'clusters');
    const lines = text.trimEnd().split('\n');
    assert.match(
      lines[0] ?? '',
      /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+LB\s+TLS\s+HEALTH CHECK$/,
    );
    assert.ok(
      lines.some((l) =>
        /^api\.default\.svc\.cluster\.local\s+8080\s+v2\s+outbound\s+EDS\s+ROUND_ROBIN\s+-\s+HTTP \/healthz every 5s$/.test(
          l,
        ),
      ),
      text,
    );
    assert.ok(
      lines.some((l) => /^api\.default\.svc\.cluster\.local\s+8080\s+-\s+outbound\s+EDS/.test(l)),
      text,
    );
    assert.ok(
      lines.some((l) => /^-\s+8000\s+-\s+inbound\s+STATIC/.test(l)),
      text,
    );
    assert.doesNotMatch(text, /^note:/m, 'everything acknowledged');
  });

  it('prints listeners with each filter chain and where it leads', async () => {
    const text = await run('web-7f9c', 'listeners');
    assert.match(
      text,
      /^virtualOutbound\s+0\.0\.0\.0\s+15001\s+OUTBOUND\s+port 15001\s+Route: outbound\.default$/m,
    );
    assert.match(
      text,
      /^virtualOutbound\s+0\.0\.0\.0\s+15001\s+OUTBOUND\s+ALL\s+Cluster: PassthroughCluster$/m,
    );
    assert.match(
      text,
      /^virtualInbound\s+0\.0\.0\.0\s+15006\s+INBOUND\s+transport tls \(TLS\)\s+Route: inbound\|8000\|\|$/m,
    );
    // The on-demand listeners of proxyless clients are not in this sidecar's subscription.
    assert.doesNotMatch(text, /^api:8080/m);
  });

  it('prints routes: virtual hosts, matches and destinations with timeouts', async () => {
    const text = await run('web-7f9c', 'routes');
    assert.match(text, /^NAME\s+VIRTUAL HOST\s+DOMAINS\s+MATCH\s+DESTINATION$/m);
    assert.match(
      text,
      /^outbound\.default\s+api\.default\.svc\.cluster\.local:8080\s+.*\/\*\s+outbound\|8080\|\|api\.default\.svc\.cluster\.local/m,
    );
    assert.match(text, /^inbound\|8000\|\|/m);
    assert.match(
      text,
      /\/search\*\s+outbound\|8080\|\|api\.default\.svc\.cluster\.local \(.*mirror outbound\|8080\|v2\|api\.default\.svc\.cluster\.local 12\.5%\)$/m,
    );
  });

  it('prints endpoints with health, locality and weight', async () => {
    const text = await run('web-7f9c', 'endpoints');
    assert.match(
      text,
      /^127\.0\.0\.1:18081\s+HEALTHY\s+a\s+1\s+outbound\|8080\|v1\|api\.default\.svc\.cluster\.local$/m,
    );
    assert.match(
      text,
      /^127\.0\.0\.1:18082\s+HEALTHY\s+b\s+3\s+outbound\|8080\|v2\|api\.default\.svc\.cluster\.local$/m,
    );
  });

  it('lists the SDS secrets the sidecar supplies itself (mTLS), without key material', async () => {
    const text = await run('web-7f9c', 'secrets');
    assert.match(text, /^ROOTCA\s+CA\s+FROM SIDECAR/m);
    assert.match(text, /^default\s+Cert Chain\s+FROM SIDECAR/m);
  });

  it('prints the Envoy resources with -o json', async () => {
    const clusters = JSON.parse(await run('web-7f9c', 'clusters', '-o', 'json')) as Array<{
      '@type': string;
      name: string;
    }>;
    assert.ok(clusters.every((c) => c['@type'] === types.CLUSTER));
    assert.ok(clusters.some((c) => c.name === 'outbound|8080|v1|api.default.svc.cluster.local'));
  });

  it('says a sidecar it does not know is not connected (FERRY_NOT_FOUND)', async () => {
    await assert.rejects(
      runProxyConfig(['nobody', 'clusters', '--control-plane', url], sink(), {}),
      (err: ControlPlaneQueryError) =>
        err.code === 'FERRY_NOT_FOUND' && /"nobody"/.test(err.message),
    );
  });

  it('refuses a missing or unknown kind as a usage error', async () => {
    await assert.rejects(runProxyConfig(['web-7f9c'], sink(), {}), UsageError);
    await assert.rejects(
      runProxyConfig(['web-7f9c', 'clustres'], sink(), {}),
      /unknown kind "clustres"/,
    );
  });

  it('shows identity, serial and expiry of an SDS secret and never its private key', async () => {
    const ca = await TestCa.create();
    const cert = await ca.issue('spiffe://cluster.local/ns/default/sa/web', 3_600_000);
    const serial = new (await import('node:crypto')).X509Certificate(cert.chain).serialNumber;
    const dump: ConfigDump = {
      node: 'web-7f9c',
      version: '1',
      sync: [
        {
          type: 'SDS',
          wildcard: false,
          names: ['default'],
          lastSentVersion: '1',
          lastNonce: '1',
          lastAckedVersion: '1',
        },
      ],
      resources: {
        SDS: [
          {
            name: 'default',
            version: '1',
            resource: {
              '@type': types.SECRET,
              name: 'default',
              tls_certificate: {
                certificate_chain: { inline_bytes: Buffer.from(cert.chain).toString('base64') },
                private_key: { inline_string: cert.key },
              },
            },
          },
        ],
      },
    };
    const text = formatProxyConfig(dump, 'secrets', new Date());
    assert.match(
      text,
      new RegExp(
        `^default\\s+Cert Chain\\s+VALID\\s+spiffe://cluster\\.local/ns/default/sa/web\\s+${serial}\\s+20`,
        'm',
      ),
    );
    assert.doesNotMatch(text, /PRIVATE KEY/);
    const later = formatProxyConfig(dump, 'secrets', new Date(Date.now() + 7_200_000));
    assert.match(later, /EXPIRED OR NOT YET VALID/);
    const json = JSON.stringify(redact(dump.resources.SDS?.map((e) => e.resource)));
    assert.doesNotMatch(json, /PRIVATE KEY/);
    assert.match(json, /"private_key":"\[redacted\]"/);
  });
});
