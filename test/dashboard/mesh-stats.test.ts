/**
 * The dashboard's numbers from sidecar counters: deltas between scrapes (counter resets,
 * new series), quantiles from buckets (missing buckets, +Inf), and edges and services
 * counted once although two sidecars report each request.
 */
import assert from 'node:assert/strict';
import {
  computeMeshStats,
  delta,
  histogramQuantile,
  parsePrometheusText,
  toReading,
} from '../../src/dashboard/index.js';
import { type Call, FakeSidecarMetrics, type Peer, type TcpCall } from './fake-sidecar-metrics.js';

const frontend: Peer = { workload: 'frontend-v1', app: 'frontend', version: 'v1' };
const reviews: Peer = { workload: 'reviews-v1', app: 'reviews', version: 'v1' };
const db: Peer = { workload: 'db-v1', app: 'db', version: 'v1', namespace: 'data' };

function reading(m: FakeSidecarMetrics, at: number) {
  return toReading(parsePrometheusText(m.text()), at);
}

describe('series deltas', () => {
  it('counts what happened between two scrapes', () => {
    const m = new FakeSidecarMetrics();
    m.record({ reporter: 'source', source: frontend, destination: reviews, ms: 3, count: 10 });
    const a = reading(m, 1000);
    m.record({ reporter: 'source', source: frontend, destination: reviews, ms: 3, count: 5 });
    const d = delta(a, reading(m, 6000));
    assert.equal(d.requests.length, 1);
    assert.equal(d.requests[0]?.value, 5);
    assert.deepEqual([d.from, d.to], [1000, 6000]);
  });

  it('takes a counter that went down as a restart: the new value is the increment', () => {
    const m = new FakeSidecarMetrics();
    m.record({ reporter: 'source', source: frontend, destination: reviews, ms: 3, count: 100 });
    const a = reading(m, 1000);
    m.reset();
    m.record({ reporter: 'source', source: frontend, destination: reviews, ms: 3, count: 7 });
    const d = delta(a, reading(m, 6000));
    assert.equal(d.requests[0]?.value, 7);
    // Buckets reset too: 7 in every bucket from 5 ms up, 0 below.
    assert.deepEqual(
      d.buckets.filter(
        (b) => b.value !== (Number(b.labels.le === '+Inf' ? 1e9 : b.labels.le) >= 5 ? 7 : 0),
      ),
      [],
    );
  });

  it('counts a series that appeared since the last scrape from zero', () => {
    const m = new FakeSidecarMetrics();
    const a = reading(m, 1000);
    m.record({
      reporter: 'source',
      source: frontend,
      destination: reviews,
      code: 503,
      ms: 3,
      count: 4,
    });
    const d = delta(a, reading(m, 2000));
    assert.equal(d.requests[0]?.value, 4);
    assert.equal(d.requests[0]?.labels.response_code, '503');
  });
});

describe('histogramQuantile', () => {
  it('interpolates inside the bucket the rank falls in', () => {
    // 100 requests: 50 at <= 10 ms, 40 more at <= 20 ms, 10 more at <= 100 ms.
    const b = new Map([
      [10, 50],
      [20, 90],
      [100, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    assert.equal(histogramQuantile(0.5, b), 10);
    assert.equal(histogramQuantile(0.7, b), 15);
    assert.ok(Math.abs((histogramQuantile(0.99, b) ?? 0) - 92) < 1e-9);
  });

  it('answers the highest finite bound for ranks in +Inf, and nothing without samples', () => {
    const b = new Map([
      [5, 1],
      [Number.POSITIVE_INFINITY, 10],
    ]);
    assert.equal(histogramQuantile(0.99, b), 5);
    assert.equal(histogramQuantile(0.5, new Map([[5, 0]])), undefined);
    assert.equal(histogramQuantile(0.5, new Map()), undefined);
  });

  it('copes with missing buckets and with sums that are not monotonic', () => {
    // A sidecar that exposes only some bounds; another sidecar's sum dips at 50.
    const b = new Map([
      [25, 8],
      [50, 6],
      [1000, 10],
    ]);
    const p50 = histogramQuantile(0.5, b) ?? -1;
    assert.ok(p50 > 0 && p50 <= 25, String(p50));
    assert.ok((histogramQuantile(0.99, b) ?? 0) > 50);
  });
});

describe('computeMeshStats', () => {
  /** What sidecars counted in `seconds`: requests, and TCP connections. */
  function window(calls: Call[], seconds: number, tcp: TcpCall[] = []) {
    const m = new FakeSidecarMetrics();
    const before = reading(m, 0);
    for (const c of calls) m.record(c);
    for (const c of tcp) m.recordTcp(c);
    return delta(before, reading(m, seconds * 1000));
  }

  it('counts each request once per edge and service, from the preferred reporter', () => {
    // Both sidecars report the same 90 OK + 10 failed requests.
    const calls: Call[] = [];
    for (const reporter of ['source', 'destination'] as const) {
      calls.push({
        reporter,
        source: frontend,
        destination: reviews,
        ms: 4,
        count: 90,
        mtls: true,
      });
      calls.push({
        reporter,
        source: frontend,
        destination: reviews,
        code: 503,
        flags: 'UF',
        ms: 40,
        count: 10,
        mtls: true,
      });
    }
    const stats = computeMeshStats([window(calls, 10)], 10, 10_000);
    assert.equal(stats.edges.length, 1);
    const e = stats.edges[0];
    assert.equal(e?.source, 'frontend.default');
    assert.equal(e?.destination, 'reviews.default');
    assert.equal(e?.requests, 100);
    assert.equal(e?.rps, 10);
    assert.equal(e?.successRate, 0.9);
    // Rank 50 falls in (1, 5]: 1 + 4 * 50/90; rank 99 in (25, 50]: 25 + 25 * 9/10.
    assert.ok(Math.abs((e?.p50 ?? 0) - (1 + (4 * 50) / 90)) < 1e-9, String(e?.p50));
    assert.ok(Math.abs((e?.p99 ?? 0) - 47.5) < 1e-9, String(e?.p99));
    // The caller's series name the callee's SPIFFE ID only over mTLS: that is its mTLS mark.
    assert.equal(e?.mtlsShare, 1, 'mTLS share from the source reporter');
    const svc = stats.services.find((s) => s.id === 'reviews.default');
    assert.equal(svc?.requests, 100);
    assert.deepEqual(svc?.responseFlags, { UF: 10 });
    assert.deepEqual(svc?.versions, { v1: 100 });
    assert.deepEqual(svc?.hosts, ['reviews.default.svc.cluster.local']);
  });

  it('keeps empty buckets as bounds, so a quantile is not interpolated from zero (regression)', () => {
    const d = window(
      [{ reporter: 'source', source: frontend, destination: reviews, ms: 4, count: 10 }],
      5,
    );
    const les = d.buckets.map((b) => b.labels.le);
    assert.ok(les.includes('0.5') && les.includes('1'), les.join());
    const p50 = computeMeshStats([d], 5, 5000).edges[0]?.p50 ?? 0;
    assert.ok(p50 > 1 && p50 <= 5, String(p50));
  });

  it('uses the callee when the caller has no sidecar, and separates the services', () => {
    const stats = computeMeshStats(
      [
        window(
          [
            { reporter: 'destination', source: undefined, destination: frontend, ms: 2, count: 30 },
            { reporter: 'source', source: frontend, destination: reviews, ms: 2, count: 20 },
            { reporter: 'destination', source: frontend, destination: reviews, ms: 2, count: 20 },
          ],
          10,
        ),
      ],
      10,
      10_000,
    );
    assert.deepEqual(
      stats.edges.map((e) => [e.source, e.destination, e.requests]),
      [
        ['frontend.default', 'reviews.default', 20],
        ['unknown', 'frontend.default', 30],
      ],
    );
    assert.deepEqual(
      stats.services.map((s) => [s.id, s.rps]),
      [
        ['frontend.default', 3],
        ['reviews.default', 2],
      ],
    );
  });

  it('makes TCP edges from istio_tcp_* counters: bytes each way and connections, counted once', () => {
    // Both sidecars count the same 4 connections: 4000 bytes in, 10000 back, 3 of them closed.
    const calls = (['source', 'destination'] as const).map(
      (reporter): TcpCall => ({
        reporter,
        source: reviews,
        destination: db,
        received: 4000,
        sent: 10_000,
        opened: 4,
        closed: 3,
        mtls: true,
      }),
    );
    const stats = computeMeshStats([window([], 10, calls)], 10, 10_000);
    assert.deepEqual(
      stats.edges.map((e) => [e.source, e.destination, e.requests, e.rps]),
      [['reviews.default', 'db.data', 0, 0]],
    );
    assert.deepEqual(stats.edges[0]?.tcp, {
      receivedBytesPerSecond: 400,
      sentBytesPerSecond: 1000,
      connectionsOpenedPerSecond: 0.4,
      connectionsClosedPerSecond: 0.3,
      connectionsOpened: 4,
      connectionsClosed: 3,
    });
    // TCP adds no HTTP service numbers.
    assert.deepEqual(stats.services, []);
  });

  it('an edge with both HTTP and TCP carries both; a TCP caller without a sidecar is "unknown"', () => {
    const http = window(
      [{ reporter: 'source', source: frontend, destination: reviews, ms: 2, count: 50 }],
      10,
    );
    const tcp = window([], 10, [
      { reporter: 'source', source: frontend, destination: reviews, received: 100, sent: 200 },
      {
        reporter: 'destination',
        source: undefined,
        destination: db,
        received: 50,
        sent: 0,
        opened: 1,
      },
    ]);
    const stats = computeMeshStats([http, tcp], 10, 10_000);
    assert.deepEqual(
      stats.edges.map((e) => [e.source, e.destination, e.rps, e.tcp?.receivedBytesPerSecond]),
      [
        ['frontend.default', 'reviews.default', 5, 10],
        ['unknown', 'db.data', 0, 5],
      ],
    );
    assert.equal(stats.edges[0]?.tcp?.sentBytesPerSecond, 20);
    assert.equal(stats.edges[1]?.tcp?.connectionsOpened, 1);
  });

  it('HTTP-only edges have no TCP numbers', () => {
    const d = window(
      [{ reporter: 'source', source: frontend, destination: reviews, ms: 2, count: 5 }],
      5,
    );
    assert.equal(computeMeshStats([d], 5, 5000).edges[0]?.tcp, undefined);
  });

  it('regression: the mTLS share of a source-reported edge is its share of mTLS requests, not 0', () => {
    const calls: Call[] = [
      { reporter: 'source', source: frontend, destination: reviews, ms: 2, count: 30, mtls: true },
      { reporter: 'source', source: frontend, destination: reviews, ms: 2, count: 10, mtls: false },
    ];
    const [e] = computeMeshStats([window(calls, 10)], 10, 10_000).edges;
    assert.equal(e?.mtlsShare, 0.75);
  });

  it('regression: per-version success counts requests, not retried attempts (v2 failing, retried on v1)', () => {
    const v2: Peer = { workload: 'reviews-v2', app: 'reviews', version: 'v2' };
    // 100 requests; the 50 sent to v2 fail there (503) and are retried on v1, which answers.
    // The callee sidecars count 150 attempts; the caller counts 100 requests, all answered by v1.
    const calls: Call[] = [
      { reporter: 'source', source: frontend, destination: reviews, ms: 2, count: 100, mtls: true },
      {
        reporter: 'destination',
        source: frontend,
        destination: reviews,
        ms: 2,
        count: 100,
        mtls: true,
      },
      {
        reporter: 'destination',
        source: frontend,
        destination: v2,
        code: 503,
        ms: 2,
        count: 50,
        mtls: true,
      },
    ];
    const [svc] = computeMeshStats([window(calls, 10)], 10, 10_000).services;
    assert.deepEqual(svc?.versions, { v1: 100 });
    assert.deepEqual(
      svc?.byVersion.map((v) => [v.version, v.requests, v.successRate]),
      [['v1', 100, 1]],
    );
    // With v2 answering 503 itself (no retry), the caller sees it and so does the version.
    const failing: Call[] = [
      { reporter: 'source', source: frontend, destination: reviews, ms: 2, count: 50, mtls: true },
      {
        reporter: 'source',
        source: frontend,
        destination: v2,
        code: 503,
        ms: 2,
        count: 50,
        mtls: true,
      },
    ];
    const [s2] = computeMeshStats([window(failing, 10)], 10, 10_000).services;
    assert.deepEqual(
      s2?.byVersion.map((v) => [v.version, v.requests, v.successRate]),
      [
        ['v1', 50, 1],
        ['v2', 50, 0],
      ],
    );
  });

  it('draws no false "unknown" caller for plaintext requests the caller itself reported', () => {
    const outsider: Call = {
      reporter: 'destination',
      source: undefined,
      destination: reviews,
      ms: 2,
      count: 5,
    };
    const calls: Call[] = [
      { reporter: 'source', source: frontend, destination: reviews, ms: 2, count: 20, mtls: false },
      // The callee cannot name a plaintext caller: the same 20 requests, from "unknown".
      {
        reporter: 'destination',
        source: undefined,
        destination: reviews,
        ms: 2,
        count: 20,
        mtls: false,
      },
    ];
    const stats = computeMeshStats([window(calls, 10)], 10, 10_000);
    assert.deepEqual(
      stats.edges.map((e) => `${e.source}>${e.destination} ${e.requests}`),
      ['frontend.default>reviews.default 20'],
    );
    // Without a plaintext report from a meshed caller, an unknown caller is a real one.
    const only = computeMeshStats([window([outsider], 10)], 10, 10_000);
    assert.deepEqual(
      only.edges.map((e) => `${e.source}>${e.destination}`),
      ['unknown>reviews.default'],
    );
  });

  it('draws no false "unknown" caller for plaintext TCP the caller itself reported', () => {
    const conn = {
      source: frontend,
      destination: db,
      received: 100,
      sent: 10,
      opened: 2,
      closed: 2,
    };
    const tcp: TcpCall[] = [
      { ...conn, reporter: 'source', mtls: false },
      { ...conn, reporter: 'destination', source: undefined, mtls: false },
    ];
    const stats = computeMeshStats([window([], 10, tcp)], 10, 10_000);
    assert.deepEqual(
      stats.edges.map((e) => `${e.source}>${e.destination} ${e.tcp?.connectionsOpened}`),
      ['frontend.default>db.data 2'],
    );
  });
});
