/**
 * What naming both peers adds to recording one request in Istio's metrics, in-process (no
 * sockets, so a busy machine disturbs it less than the proxy bench): the caller's side
 * (the picked host's workload) and the callee's (the verified caller looked up by SPIFFE ID
 * and address), with peer metadata on and off, nanoseconds per recorded request, median of
 * several rounds. `node dist/bench/peer-metrics.js [--requests N] [--rounds N]`
 */
import { parseArgs } from 'node:util';
import { endpointMetadata } from '../src/controlplane/translate/index.js';
import type { Endpoint, Service } from '../src/mesh/index.js';
import { MetricsRegistry } from '../src/metrics/index.js';
import { IstioMetrics, type RequestOutcome } from '../src/proxy/http/index.js';

const { values: opt } = parseArgs({
  options: {
    requests: { type: 'string', default: '2000000' },
    rounds: { type: 'string', default: '7' },
  },
});
const REQUESTS = Number(opt.requests);
const ROUNDS = Number(opt.rounds);

const MESH = { trustDomain: 'cluster.local', domain: 'cluster.local', mtls: 'PERMISSIVE' as const };

function service(name: string): Service {
  return {
    name,
    namespace: 'default',
    hostname: `${name}.default.svc.cluster.local`,
    ports: [{ port: 8080, protocol: 'http', name: 'http-8080' }],
    endpoints: [],
    policy: { loadBalancer: 'round_robin', connectTimeoutMs: 5000 },
    subsets: [],
    routes: [],
  };
}

function endpoint(address: string, version: string, account: string): Endpoint {
  return {
    address,
    ports: { 8080: 15006 },
    labels: { app: 'x', version },
    region: '',
    zone: '',
    weight: 1,
    health: 'HEALTHY',
    meshed: true,
    serviceAccount: account,
    source: 'workload:x',
  };
}

/** 50 services of 4 endpoints each: what a sidecar's EDS holds in a middling mesh. */
function clusters() {
  const out = [];
  for (let s = 0; s < 50; s++) {
    const svc = service(`svc${s}`);
    const hosts = [];
    for (let e = 0; e < 4; e++) {
      const address = `10.0.${s}.${e + 1}`;
      hosts.push({
        address,
        metadata: endpointMetadata(endpoint(address, `v${e % 2}`, `svc${s}`), svc, MESH),
      });
    }
    out.push({ hostSet: { hosts } });
  }
  return out;
}

const CALLER = 'spiffe://cluster.local/ns/default/sa/svc7';
const downstream = {
  socket: {
    encrypted: true,
    remoteAddress: '10.0.7.2',
    getPeerCertificate: () => ({ subjectaltname: `URI:${CALLER}` }),
  },
};

function run(peers: boolean, reporter: 'source' | 'destination'): number {
  const registry = new MetricsRegistry();
  const m = new IstioMetrics(registry, {
    service: 'svc3',
    namespace: 'default',
    labels: { app: 'svc3', version: 'v1' },
    principal: () => 'spiffe://cluster.local/ns/default/sa/svc3',
  });
  const all = clusters();
  m.configure(all, undefined, peers);
  const record = m.recorder(reporter);
  const hosts = all[9]!.hostSet.hosts;
  const outcomes: RequestOutcome[] = hosts.map((h) => ({
    clusterName:
      reporter === 'source' ? 'outbound|8080||svc9.default.svc.cluster.local' : 'inbound|8080||',
    status: 200,
    grpc: false,
    grpcStatus: '',
    flags: '',
    startedAt: performance.now(),
    requestBytes: 0,
    responseBytes: 100,
    downstreamSocket: downstream,
    upstreamHost: h,
    upstreamSecure: true,
  }));
  for (let i = 0; i < 10_000; i++) record(outcomes[i & 3]!);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < REQUESTS; i++) record(outcomes[i & 3]!);
  return Number(process.hrtime.bigint() - t0) / REQUESTS;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const reporter of ['source', 'destination'] as const) {
  const on: number[] = [];
  const off: number[] = [];
  // Interleaved, so that a busy moment of the machine falls on both.
  for (let r = 0; r < ROUNDS; r++) {
    on.push(run(true, reporter));
    off.push(run(false, reporter));
  }
  const a = median(on);
  const b = median(off);
  console.log(
    `${reporter.padEnd(11)} record(): peers on ${a.toFixed(0)} ns, off ${b.toFixed(0)} ns, +${(a - b).toFixed(0)} ns per request (median of ${ROUNDS} rounds of ${REQUESTS})`,
  );
}
