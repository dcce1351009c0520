/**
 * The scraper against real HTTP servers: rates between scrapes, a slow or broken target
 * that does not hold up the others, staleness, and targets that go away being forgotten.
 */
import assert from 'node:assert/strict';
import { MetricsScraper, type ScrapeTarget } from '../../src/dashboard/index.js';
import { waitFor } from '../support/wait-for.js';
import { FakeSidecarMetrics, type Peer } from './fake-sidecar-metrics.js';

const web: Peer = { workload: 'web-v1', app: 'web', version: 'v1' };
const api: Peer = { workload: 'api-v1', app: 'api', version: 'v1' };

function target(nodeId: string, url: string): ScrapeTarget {
  return {
    nodeId,
    workload: nodeId,
    service: nodeId.split('-')[0] ?? nodeId,
    namespace: 'default',
    url,
  };
}

describe('MetricsScraper', () => {
  const servers: FakeSidecarMetrics[] = [];
  let clock = 0;
  const now = () => clock;

  async function server(): Promise<FakeSidecarMetrics> {
    const s = new FakeSidecarMetrics();
    await s.start();
    servers.push(s);
    return s;
  }

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('computes rates from the counters moved between two scrapes', async () => {
    const a = await server();
    const scraper = new MetricsScraper({
      targets: () => [target('web-1', a.url)],
      now,
      windowMs: 60_000,
    });
    a.record({ reporter: 'source', source: web, destination: api, ms: 3, count: 1000 });
    clock = 1_000;
    await scraper.scrapeAll();
    assert.equal((await scraper.stats()).edges.length, 0, 'one scrape is no rate yet');
    a.record({ reporter: 'source', source: web, destination: api, ms: 3, count: 50 });
    a.record({
      reporter: 'source',
      source: web,
      destination: api,
      code: 503,
      flags: 'UO',
      ms: 3,
      count: 50,
    });
    clock = 11_000;
    await scraper.scrapeAll();
    const s = await scraper.stats();
    assert.equal(s.edges[0]?.rps, 10);
    assert.equal(s.edges[0]?.successRate, 0.5);
    assert.deepEqual(s.edges[0]?.responseFlags, { UO: 50 });
    assert.equal(scraper.targets()[0]?.health, 'up');
  });

  it('does not let a slow target hold up the others', async () => {
    const fast = await server();
    const slow = await server();
    slow.delayMs = 60_000;
    const scraper = new MetricsScraper({
      targets: () => [target('fast-1', fast.url), target('slow-1', slow.url)],
      timeoutMs: 20_000,
      now,
    });
    fast.record({ reporter: 'source', source: web, destination: api, ms: 3 });
    const all = scraper.scrapeAll();
    await waitFor(
      'the fast target scraped',
      () => scraper.targets().find((t) => t.nodeId === 'fast-1')?.health === 'up',
    );
    assert.equal(scraper.targets().find((t) => t.nodeId === 'slow-1')?.health, 'pending');
    // A second round does not queue behind the slow target either.
    fast.record({ reporter: 'source', source: web, destination: api, ms: 3 });
    clock += 5000;
    await scraper.scrapeAll();
    assert.equal((await scraper.stats()).edges[0]?.requests, 1);
    await slow.close();
    await all;
    assert.equal(scraper.targets().find((t) => t.nodeId === 'slow-1')?.health, 'down');
  });

  it('reports a failing target as down with its error, and a silent one as stale', async () => {
    const a = await server();
    const scraper = new MetricsScraper({
      targets: () => [target('web-1', a.url)],
      now,
      intervalMs: 5000,
    });
    a.record({ reporter: 'source', source: web, destination: api, ms: 3, count: 10 });
    clock = 0;
    await scraper.scrapeAll();
    a.record({ reporter: 'source', source: web, destination: api, ms: 3, count: 10 });
    clock = 5000;
    await scraper.scrapeAll();
    assert.equal((await scraper.stats()).edges[0]?.requests, 10);
    a.failing = true;
    clock = 10_000;
    await scraper.scrapeAll();
    assert.equal(scraper.targets()[0]?.health, 'down');
    assert.equal(scraper.targets()[0]?.lastError, 'HTTP 503');
    assert.equal(
      (await scraper.stats()).edges[0]?.requests,
      10,
      'still fresh: last good scrape 5 s ago',
    );
    clock = 25_000;
    assert.equal(scraper.targets()[0]?.health, 'stale');
    assert.equal((await scraper.stats()).edges.length, 0, 'a stale target no longer counts');
  });

  it('forgets a target that is gone and drops deltas older than the window', async () => {
    const a = await server();
    const b = await server();
    let list = [target('web-1', a.url), target('api-1', b.url)];
    const scraper = new MetricsScraper({
      targets: () => list,
      now,
      windowMs: 10_000,
      staleAfterMs: 1e9,
    });
    for (let i = 0; i < 5; i++) {
      a.record({ reporter: 'source', source: web, destination: api, ms: 3, count: 10 });
      clock = i * 5000;
      await scraper.scrapeAll();
    }
    // Deltas end at 5, 10, 15, 20 s; the 10 s window at 20 s keeps the ones ending after 10 s.
    assert.equal((await scraper.stats()).edges[0]?.requests, 20);
    list = [target('api-1', b.url)];
    await scraper.scrapeAll();
    assert.deepEqual(
      scraper.targets().map((t) => t.nodeId),
      ['api-1'],
    );
    assert.equal((await scraper.stats()).edges.length, 0);
  });

  it('refuses a metrics page larger than the limit', async () => {
    const a = await server();
    for (let i = 0; i < 50; i++) {
      a.record({
        reporter: 'source',
        source: { ...web, workload: `w${i}` },
        destination: api,
        ms: 3,
      });
    }
    const scraper = new MetricsScraper({
      targets: () => [target('web-1', a.url)],
      now,
      maxBytes: 10_000,
    });
    await scraper.scrapeAll();
    assert.match(scraper.targets()[0]?.lastError ?? '', /larger than 10000 bytes/);
  });
});
