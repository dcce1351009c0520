/**
 * The dashboard on the control plane's HTTP port, end to end: a real control plane with
 * connected sidecars, their metrics scraped from real HTTP servers, the JSON the page
 * polls, and the existing debug routes still there.
 */
import assert from 'node:assert/strict';
import type { Graph, SidecarRow } from '../../src/dashboard/index.js';
import { waitFor } from '../support/wait-for.js';
import { DashboardHarness } from './dashboard-harness.js';

async function get<T>(url: string): Promise<{ status: number; body: T; type: string }> {
  const res = await fetch(url);
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return {
    status: res.status,
    type,
    body: (type.startsWith('application/json') ? JSON.parse(text) : text) as T,
  };
}

type GraphReply = Graph & { sidecars: SidecarRow[]; version: string };

describe('dashboard on the control plane HTTP port', () => {
  const h = new DashboardHarness();

  before(async () => {
    await h.start(200);
    await h.ackAll();
  });
  after(() => h.close());

  it('serves the page at / as self-contained HTML (no external URL)', async () => {
    const r = await get<string>(`${h.url}/`);
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/html/);
    assert.match(r.body, /<title>Ferry mesh<\/title>/);
    assert.doesNotMatch(r.body, /(src|href)="https?:/);
    assert.doesNotMatch(r.body, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('keeps the debug routes working', async () => {
    assert.equal((await get(`${h.url}/healthz`)).status, 200);
    const syncz = await get<{ clients: unknown[] }>(`${h.url}/debug/syncz`);
    assert.equal(syncz.body.clients.length, 4);
    assert.match((await get<string>(`${h.url}/debug`)).body, /\/dashboard\/api\/graph/);
    assert.equal((await get(`${h.url}/nope`)).status, 404);
    assert.equal((await get(`${h.url}/dashboard/api/nope`)).status, 404);
  });

  it('shows the services and, once traffic flows, every edge with rate, success and latency', async () => {
    const before = await get<GraphReply>(`${h.url}/dashboard/api/graph`);
    assert.deepEqual(
      before.body.nodes.map((n) => n.id),
      ['catalog.default', 'frontend.default', 'reviews.default'],
    );
    let graph: GraphReply | undefined;
    await waitFor('edges in the graph', async () => {
      h.traffic(50, 10);
      graph = (await get<GraphReply>(`${h.url}/dashboard/api/graph`)).body;
      return graph.edges.length === 2 && graph.edges.every((e) => e.requests >= 100);
    });
    const g = graph as GraphReply;
    const reviews = g.edges.find((e) => e.destination === 'reviews.default');
    const catalog = g.edges.find((e) => e.destination === 'catalog.default');
    assert.equal(reviews?.source, 'frontend.default');
    assert.ok((reviews?.rps ?? 0) > 0);
    assert.equal(reviews?.successRate, 0.9, 'one reviews call in ten fails');
    assert.equal(catalog?.successRate, 1);
    assert.ok((reviews?.p50 ?? 0) > 1 && (reviews?.p50 ?? 0) <= 5, `p50 ${reviews?.p50}`);
    assert.ok((reviews?.p99 ?? 0) > 1 && (reviews?.p99 ?? 0) <= 5);
    // Each call is reported by both sidecars and counted once.
    const node = g.nodes.find((n) => n.id === 'reviews.default');
    assert.equal(node?.stats?.requests, reviews?.requests);
  });

  it('lists every sidecar with its sync state and whether its metrics are read', async () => {
    const { body } = await get<SidecarRow[]>(`${h.url}/dashboard/api/sidecars`);
    assert.deepEqual(
      body.map((s) => [s.nodeId, s.service, s.sync.CDS, s.state, s.metrics]),
      [
        ['catalog-v1-pod', 'catalog.default', 'SYNCED', 'SYNCED', 'up'],
        ['frontend-v1-pod', 'frontend.default', 'SYNCED', 'SYNCED', 'up'],
        ['reviews-v1-pod', 'reviews.default', 'SYNCED', 'SYNCED', 'up'],
        ['reviews-v2-pod', 'reviews.default', 'SYNCED', 'SYNCED', 'up'],
      ],
    );
  });

  it("shows a service's detail: versions, mTLS mode, errors by response flag, its sidecars", async () => {
    const { status, body } = await get<{
      hostname: string;
      mtls: string;
      stats: { responseFlags: Record<string, number>; versions: Record<string, number> };
      sidecars: SidecarRow[];
      inbound: unknown[];
    }>(`${h.url}/dashboard/api/service?id=reviews.default`);
    assert.equal(status, 200);
    assert.equal(body.hostname, 'reviews.default.svc.cluster.local');
    assert.equal(body.mtls, 'PERMISSIVE');
    assert.ok((body.stats.responseFlags.UF ?? 0) > 0);
    assert.deepEqual(Object.keys(body.stats.versions).sort(), ['v1', 'v2']);
    assert.ok((body.stats.versions.v1 ?? 0) > (body.stats.versions.v2 ?? 0));
    assert.deepEqual(
      body.sidecars.map((s) => s.labels.version),
      ['v1', 'v2'],
    );
    assert.equal(body.inbound.length, 1);
    assert.equal((await get(`${h.url}/dashboard/api/service?id=nothing.default`)).status, 404);
    assert.equal((await get(`${h.url}/dashboard/api/service`)).status, 400);
  });
});
