/**
 * `ferry gateway --mode egress`: the mesh's way out. It announces FERRY_MODE egress, and
 * sends traffic only to the external hosts its configuration declares (clusters of type
 * STRICT_DNS by host name, as the control plane serves them): plaintext HTTP by Host, TLS
 * passed through by SNI; anything undeclared gets 404 NR or a closed connection.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import tls from 'node:tls';
import { structToJson, types } from '../../../src/xds/index.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { OpensslCa } from '../../support/server-certs.js';
import {
  any,
  FuzzAdsServer,
  freePort,
  type GatewayProcess,
  hcm,
  listener,
  routes,
  startGateway,
  tcpProxy,
  waitReady,
} from './gateway-harness.js';

/** A cluster reaching an external host by name, resolved by DNS (here: /etc/hosts). */
function dnsCluster(name: string, host: string, port: number) {
  return any(types.CLUSTER, {
    name,
    type: 'STRICT_DNS',
    connect_timeout: { seconds: 2 },
    load_assignment: {
      cluster_name: name,
      endpoints: [
        {
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: host, port_value: port } } } },
          ],
        },
      ],
    },
  });
}

/** A GET with this Host (fetch cannot set Host). */
function get(
  port: number,
  host: string,
  path = '/',
): Promise<{ status: number; flags: string; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers: { host }, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            flags: String(res.headers['x-ferry-response-flags'] ?? ''),
            body,
          }),
        );
      })
      .on('error', reject);
  });
}

describe('ferry gateway --mode egress', function () {
  this.timeout(60_000);
  let ca: OpensslCa;
  let ads: FuzzAdsServer;
  let external: HttpUpstream;
  let externalTls: tls.Server;
  let gateway: GatewayProcess;
  let httpPort = 0;
  let tlsPort = 0;
  const modes = new Set<string>();

  before(async () => {
    ca = OpensslCa.create();
    const cert = ca.issue('secure.external.test');
    external = await startHttpUpstream('external-api');
    externalTls = tls.createServer({ key: cert.key, cert: cert.cert }, (s) =>
      s.end('hello from outside'),
    );
    await new Promise<void>((r) => externalTls.listen(0, '127.0.0.1', r));
    httpPort = await freePort();
    tlsPort = await freePort();
    ads = new FuzzAdsServer();
    ads.onNode = (node) => modes.add(String(structToJson(node.metadata).FERRY_MODE));
    await ads.start();
    ads.set(types.CLUSTER, [
      dnsCluster('outbound|80||api.external.test', 'localhost', external.port),
      dnsCluster(
        'outbound|443||secure.external.test',
        'localhost',
        (externalTls.address() as net.AddressInfo).port,
      ),
    ]);
    ads.set(types.LISTENER, [
      listener(httpPort, [{ filters: [hcm(`gateway~${httpPort}`)] }]),
      listener(
        tlsPort,
        [
          {
            filter_chain_match: { server_names: ['secure.external.test'] },
            filters: [tcpProxy('outbound|443||secure.external.test')],
          },
        ],
        true,
      ),
    ]);
    ads.set(types.ROUTE, [
      routes(`gateway~${httpPort}`, { 'api.external.test': 'outbound|80||api.external.test' }),
    ]);
    ads.set(types.ENDPOINT, []);
    ads.set(types.SECRET, []);
    gateway = await startGateway(ads, ['--mode', 'egress', '--concurrency', '1']);
    await waitReady(gateway);
  });

  after(async () => {
    gateway?.kill();
    ads?.close();
    await external?.close();
    externalTls?.close();
    ca?.remove();
  });

  it('announces itself as an egress gateway', () => {
    assert.deepEqual([...modes], ['egress']);
  });

  it('sends HTTP for a declared host to it, by name through DNS', async () => {
    const res = await get(httpPort, 'api.external.test', '/v1/things');
    assert.equal(res.status, 200);
    assert.equal(res.body, 'external-api');
    assert.equal(external.seen.at(-1)?.host, 'api.external.test');
  });

  it('answers 404 NR for a host nobody declared, and sends nothing anywhere', async () => {
    const before = external.seen.length;
    const res = await get(httpPort, 'evil.test');
    assert.equal(res.status, 404);
    assert.equal(res.flags, 'NR');
    assert.equal(external.seen.length, before);
  });

  it('passes TLS through to a declared host by SNI; an undeclared SNI is closed', async () => {
    const ok = tls.connect({
      host: '127.0.0.1',
      port: tlsPort,
      servername: 'secure.external.test',
      ca: ca.rootPem,
    });
    const text = await new Promise<string>((resolve, reject) => {
      let got = '';
      ok.on('data', (d) => {
        got += d;
      });
      ok.once('end', () => resolve(got));
      ok.once('error', reject);
    });
    assert.equal(text, 'hello from outside');
    assert.equal(ok.getPeerCertificate().subject.CN, 'secure.external.test');
    const refused = await new Promise<boolean>((resolve) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: tlsPort,
        servername: 'evil.test',
        rejectUnauthorized: false,
      });
      s.once('secureConnect', () => resolve(false));
      s.once('error', () => resolve(true));
      s.once('close', () => resolve(true));
    });
    assert.equal(refused, true);
  });
});
