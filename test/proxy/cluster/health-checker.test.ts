/**
 * Active health checks against real servers on 127.0.0.1: HTTP (a path and its status),
 * TCP (connect) and gRPC (grpc.health.v1): a failing host stops being picked after the
 * unhealthy threshold, and is picked again once it passes.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import {
  buildCluster,
  type ClusterResource,
  parseHealthCheck,
  type RuntimeCluster,
} from '../../../src/proxy/cluster/index.js';
import { NO_HASH } from '../../../src/proxy/lb/index.js';
import { spiffeVerifier, type WorkloadCertificate } from '../../../src/proxy/tls/index.js';
import type { UpstreamTls } from '../../../src/proxy/upstream/index.js';
import { TestCa } from '../../support/test-ca.js';
import { waitFor } from '../../support/wait-for.js';

const MS = (n: number) => ({ seconds: 0, nanos: n * 1e6 });

function resource(ports: number[], check: object): ClusterResource {
  return {
    name: 'outbound|80||svc.default.svc.cluster.local',
    type: 'STATIC',
    load_assignment: {
      cluster_name: 'svc',
      endpoints: [
        {
          lb_endpoints: ports.map((port) => ({
            endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
          })),
        },
      ],
    },
    health_checks: [
      {
        timeout: MS(200),
        interval: MS(40),
        unhealthy_threshold: { value: 2 },
        healthy_threshold: { value: 1 },
        ...check,
      },
    ],
  } as unknown as ClusterResource;
}

function picks(c: RuntimeCluster, n = 60): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const h = c.balancer.pick(NO_HASH);
    const k = h ? String(h.port) : 'none';
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** A gRPC server answering grpc.health.v1.Health/Check with `status()`; its port. */
async function healthServer(
  credentials: grpc.ServerCredentials,
  status: () => number,
  cleanups: Array<() => void>,
): Promise<number> {
  const server = new grpc.Server();
  server.addService(
    {
      Check: {
        path: '/grpc.health.v1.Health/Check',
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Check: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        cb(null, Buffer.from([0x08, status()])),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (e, p) => (e ? reject(e) : resolve(p))),
  );
  cleanups.push(() => server.forceShutdown());
  return port;
}

/** The mTLS a sidecar would use to a host whose identity must be `peer`. */
function sidecarTls(client: WorkloadCertificate, peer: string): UpstreamTls {
  const context = tls.createSecureContext({
    key: client.key,
    cert: client.chain,
    ca: client.roots,
  });
  return {
    context: () => context,
    verify: spiffeVerifier([peer]),
    servername: 'outbound_.80_._.svc.default.svc.cluster.local',
  };
}

describe('proxy/cluster: active health checks', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });

  it('refuses a health check without a kind, an interval or a timeout, naming the field', () => {
    assert.throws(
      () => parseHealthCheck({ health_checks: [{ interval: MS(10), timeout: MS(10) }] }),
      /one of http_health_check/,
    );
    assert.throws(
      () => parseHealthCheck({ health_checks: [{ timeout: MS(10), tcp_health_check: {} }] }),
      /interval must be > 0/,
    );
  });

  it('HTTP: a host answering 503 on its check path is taken out after 2 failures and back after 1 success', async () => {
    let sick = true;
    const servers = await Promise.all(
      [0, 1].map(async (i) => {
        const s = http.createServer((req, res) => {
          if (req.url === '/healthz') res.writeHead(i === 1 && sick ? 503 : 200).end();
          else res.end();
        });
        await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
        cleanups.push(() => s.close());
        return (s.address() as AddressInfo).port;
      }),
    );
    const built = buildCluster(
      resource(servers, { http_health_check: { path: '/healthz' } }),
      undefined,
      undefined,
      () => 0.3,
    );
    assert.ok(built.ok);
    const cluster = built.cluster;
    cleanups.push(() => cluster.healthChecker?.stop());
    await waitFor(
      'the sick host to be taken out',
      () => cluster.hostSet.hosts[1].failedHealthCheck,
    );
    assert.deepEqual(picks(cluster), { [servers[0]]: 60 });
    sick = false;
    await waitFor('the host to come back', () => !cluster.hostSet.hosts[1].failedHealthCheck);
    assert.deepEqual(picks(cluster), { [servers[0]]: 30, [servers[1]]: 30 });
  });

  it('TCP: a port nothing listens on fails; gRPC: NOT_SERVING fails, SERVING passes', async () => {
    const alive = net.createServer((s) => s.end());
    await new Promise<void>((r) => alive.listen(0, '127.0.0.1', r));
    cleanups.push(() => alive.close());
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const dead = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const tcp = buildCluster(
      resource([(alive.address() as AddressInfo).port, dead], { tcp_health_check: {} }),
      undefined,
      undefined,
      () => 0.3,
    );
    assert.ok(tcp.ok);
    cleanups.push(() => tcp.cluster.healthChecker?.stop());
    await waitFor(
      'the dead port to be taken out',
      () => tcp.cluster.hostSet.hosts[1].failedHealthCheck,
    );
    assert.equal(tcp.cluster.hostSet.hosts[0].failedHealthCheck, false);

    let serving = 2; // NOT_SERVING
    const port = await healthServer(
      grpc.ServerCredentials.createInsecure(),
      () => serving,
      cleanups,
    );
    const g = buildCluster(
      resource([port], { grpc_health_check: { service_name: 'echo' } }),
      undefined,
      undefined,
      () => 0.3,
    );
    assert.ok(g.ok);
    cleanups.push(() => g.cluster.healthChecker?.stop());
    await waitFor(
      'NOT_SERVING to fail the host',
      () => g.cluster.hostSet.hosts[0].failedHealthCheck,
    );
    serving = 1;
    await waitFor('SERVING to bring it back', () => !g.cluster.hostSet.hosts[0].failedHealthCheck);
  });

  it('mTLS: a host that runs a sidecar is checked over mutual TLS, its identity verified (HTTP, gRPC)', async () => {
    const ca = await TestCa.create();
    const api = 'spiffe://cluster.local/ns/default/sa/api';
    const serverCert = await ca.issue(api);
    const clientCert = await ca.issue('spiffe://cluster.local/ns/default/sa/web');
    const peers: string[] = [];
    const server = https.createServer(
      {
        key: serverCert.key,
        cert: serverCert.chain,
        ca: serverCert.roots,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as tls.TLSSocket).getPeerCertificate();
        peers.push(String(peer.subjectaltname));
        res.writeHead(req.url === '/healthz' ? 200 : 404).end();
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    /** A cluster checking the server by HTTP, its host's mTLS expecting `peer` (or plaintext). */
    const checked = (peer: string | undefined) => {
      const built = buildCluster(
        resource([port], { http_health_check: { path: '/healthz' } }),
        undefined,
        undefined,
        () => 0.3,
      );
      assert.ok(built.ok);
      const host = built.cluster.hostSet.hosts[0];
      // As the runtime does once the cluster is built, from its transport_socket_matches.
      if (peer)
        Object.assign(built.cluster, { hostTls: new Map([[host, sidecarTls(clientCert, peer)]]) });
      cleanups.push(() => built.cluster.healthChecker?.stop());
      return host;
    };
    const good = checked(api);
    const impostor = checked('spiffe://cluster.local/ns/default/sa/other');
    const plain = checked(undefined);
    await waitFor('the plaintext and wrong-identity checks to fail', () =>
      Boolean(plain.failedHealthCheck && impostor.failedHealthCheck),
    );
    await waitFor('the server to see checks with the client certificate', () =>
      peers.some((p) => p.includes('sa/web')),
    );
    assert.equal(good.failedHealthCheck, false);

    const grpcPort = await healthServer(
      grpc.ServerCredentials.createSsl(
        Buffer.from(serverCert.roots),
        [{ private_key: Buffer.from(serverCert.key), cert_chain: Buffer.from(serverCert.chain) }],
        true,
      ),
      () => 2, // NOT_SERVING: the check must get through TLS to see it
      cleanups,
    );
    const g = buildCluster(
      resource([grpcPort], { grpc_health_check: { service_name: 'api' } }),
      undefined,
      undefined,
      () => 0.3,
    );
    assert.ok(g.ok);
    const grpcHost = g.cluster.hostSet.hosts[0];
    Object.assign(g.cluster, { hostTls: new Map([[grpcHost, sidecarTls(clientCert, api)]]) });
    cleanups.push(() => g.cluster.healthChecker?.stop());
    await waitFor('NOT_SERVING over mTLS to fail the host', () => grpcHost.failedHealthCheck);
  });
});
