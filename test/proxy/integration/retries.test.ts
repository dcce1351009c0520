/**
 * Retries and timeouts through a client sidecar, against real upstreams that misbehave on
 * purpose: one failing every other new request, one too slow for the route timeout, one
 * whose port is closed, one that resets every connection, and a pair where one host always
 * fails. The upstreams record the x-envoy-attempt-count of every request they see, so the
 * attempts are counted where they land, not only where the sidecar says it sent them.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { RetryPolicy } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { getJson, inParallel, send, tally } from '../../support/http-client.js';
import { closedPort, type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { clusterName, mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar, waitForHosts } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

function retries(attempts: number, on: string[], perTryTimeoutMs?: number): RetryPolicy {
  return {
    attempts,
    on,
    retriableStatusCodes: [],
    backoffBaseMs: 5,
    backoffMaxMs: 20,
    ...(perTryTimeoutMs !== undefined ? { perTryTimeoutMs } : {}),
  };
}

interface ClustersPage {
  clusters: Array<{
    name: string;
    hosts: Array<{ address: string; rqTotal: number; rqError: number; active: number }>;
  }>;
}

describe('integration: retries and timeouts through a client sidecar', function () {
  this.timeout(30_000);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  let cp: ControlPlane;
  let client: Sidecar;
  let flaky: HttpUpstream;
  let slow: HttpUpstream;
  let perTry: HttpUpstream;
  let bad: HttpUpstream;
  let good: HttpUpstream;
  let deadPort: number;
  let resetter: net.Server;
  let resets = 0;
  /** Every new request (attempt 1) with an odd number is answered 503. */
  let firstAttempts = 0;
  /** Request ids whose response the slow upstreams saw cut short by the proxy. */
  const cancelled: string[] = [];

  before(async () => {
    flaky = await startHttpUpstream('flaky', (seen, _req, res) => {
      if (seen.attempt !== '1') return false;
      firstAttempts++;
      if (firstAttempts % 2 === 0) return false;
      res.statusCode = 503;
      res.end('try again');
      return true;
    });
    // Sleeps far longer than the route timeout; ends early only if the peer goes away.
    slow = await startHttpUpstream('slow', (seen, _req, res) => {
      const t = setTimeout(() => res.end('too late'), 5000);
      res.once('close', () => {
        clearTimeout(t);
        if (!res.writableFinished) cancelled.push(seen.id);
      });
      return true;
    });
    // Slow on a first attempt only: the per-try timeout cuts it and the retry is fast.
    perTry = await startHttpUpstream('per-try', (seen, _req, res) => {
      if (seen.attempt !== '1') return false;
      const t = setTimeout(() => res.end('too late'), 5000);
      res.once('close', () => {
        clearTimeout(t);
        if (!res.writableFinished) cancelled.push(seen.id);
      });
      return true;
    });
    bad = await startHttpUpstream('bad', (_seen, _req, res) => {
      res.statusCode = 503;
      res.end('bad');
      return true;
    });
    good = await startHttpUpstream('good');
    deadPort = await closedPort();
    resetter = net.createServer((s) => {
      resets++;
      s.resetAndDestroy();
    });
    await new Promise<void>((r) => resetter.listen(0, '127.0.0.1', () => r()));
    const resetPort = (resetter.address() as AddressInfo).port;
    // These tests are about retry semantics, not the retry budget (20% of requests in
    // flight, at least 3, by default), which half of 10 concurrent requests failing would
    // exceed: a fixed limit of retries in flight replaces it here.
    const policy = (r: RetryPolicy, timeoutMs?: number) => ({
      policy: {
        loadBalancer: 'round_robin' as const,
        connectTimeoutMs: 1000,
        retries: r,
        circuitBreaker: { maxRetries: 100 },
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      },
    });
    cp = await startControlPlane(
      mesh(
        service('flaky', 8080, 'http', [flaky.port], policy(retries(2, ['5xx']))),
        service('slow', 8080, 'http', [slow.port], policy(retries(2, ['5xx', 'reset']), 300)),
        service('per-try', 8080, 'http', [perTry.port], policy(retries(1, ['5xx'], 200), 3000)),
        service('dead', 8080, 'http', [deadPort], policy(retries(2, ['connect-failure']))),
        service('resets', 8080, 'http', [resetPort], policy(retries(2, ['reset']))),
        service('pair', 8080, 'http', [bad.port, good.port], policy(retries(1, ['5xx']))),
      ),
    );
    client = await startSidecar(cp.xdsPort, { service: 'client' });
    for (const name of ['flaky', 'slow', 'per-try', 'dead', 'resets'])
      await waitForHosts(client, clusterName(name, 8080), 1);
    await waitForHosts(client, clusterName('pair', 8080), 2);
  });

  after(async () => {
    agent.destroy();
    await client?.stop(100);
    await cp?.close();
    await Promise.all([flaky, slow, perTry, bad, good].map((u) => u?.close()));
    resetter?.close();
  });

  it('a flaky upstream (503 on every other new request): all 100 succeed, retried ones carry attempt 2', async () => {
    const replies = await inParallel(100, 10, (i) =>
      send(client.ports.outbound, {
        host: 'flaky:8080',
        agent,
        headers: { 'x-request-id': `r${i}` },
      }),
    );
    const byId = new Map<string, string[]>();
    for (const s of flaky.seen) byId.set(s.id, [...(byId.get(s.id) ?? []), s.attempt]);
    const shapes = tally([...byId.values()].map((a) => a.join('>')));
    console.log(
      `      100 requests: ${tally(replies.map((r) => String(r.status)))['200']} answered 200; upstream saw ${flaky.seen.length} attempts; attempt counts per request ${JSON.stringify(shapes)}`,
    );
    assert.deepEqual(
      replies.map((r) => `${r.status} ${r.body}`),
      Array(100).fill('200 flaky'),
    );
    // Exactly the 50 requests that met a 503 were tried again, once, and the upstream saw
    // the second try as attempt 2; the other 50 went through on attempt 1 alone.
    assert.equal(byId.size, 100);
    assert.deepEqual(shapes, { '1': 50, '1>2': 50 });
  });

  it('a slow upstream: 504 UT at the route timeout, the upstream request is cancelled and not retried', async () => {
    const t0 = performance.now();
    const id = 'slow-1';
    const r = await send(client.ports.outbound, {
      host: 'slow:8080',
      agent,
      headers: { 'x-request-id': id },
    });
    const ms = Math.round(performance.now() - t0);
    await waitFor('the slow upstream to see its request cancelled', () => cancelled.includes(id));
    // Only this request's attempts count: on a shared machine anything that meets a recycled
    // port may reach an upstream too (a full run once saw a second, foreign request here).
    const attempts = slow.seen.filter((s) => s.id === id).map((s) => s.attempt);
    console.log(
      `      ${r.status} ${r.flags} "${r.body}" after ${ms} ms (route timeout 300 ms, upstream would take 5000 ms); upstream saw attempt(s) ${attempts.join(', ')} of it, cancelled ${cancelled.filter((c) => c === id).length}; requests seen in all ${slow.seen.length}`,
    );
    assert.equal(r.status, 504);
    assert.equal(r.flags, 'UT');
    assert.equal(r.body, 'upstream request timeout');
    // The route timeout bounds the whole request: no retry after it, even with retries on 5xx and reset.
    assert.deepEqual(attempts, ['1']);
  });

  it('a per-try timeout cuts a slow attempt and the retry succeeds within the route timeout', async () => {
    const id = 'per-try-1';
    const r = await send(client.ports.outbound, {
      host: 'per-try:8080',
      agent,
      headers: { 'x-request-id': id },
    });
    await waitFor('the slow first attempt to be cancelled', () => cancelled.includes(id));
    const attempts = perTry.seen.filter((s) => s.id === id).map((s) => s.attempt);
    console.log(
      `      ${r.status} "${r.body}"; attempts seen upstream: ${attempts.join(', ')}; cancelled ${cancelled.filter((c) => c === id).length}`,
    );
    assert.equal(r.status, 200);
    assert.equal(r.body, 'per-try');
    assert.deepEqual(attempts, ['1', '2']);
  });

  it('a dead endpoint (port closed), attempts 2: 503 UF+URX after exactly 3 tries', async () => {
    const retriesBefore = client.stats.retries;
    const r = await send(client.ports.outbound, { host: 'dead:8080', agent });
    const page = await getJson<ClustersPage>(client.ports.admin, '/clusters?format=json');
    const host = page.clusters
      .find((c) => c.name === clusterName('dead', 8080))!
      .hosts.find((h) => h.address === `127.0.0.1:${deadPort}`)!;
    const retried = client.stats.retries - retriesBefore;
    console.log(
      `      ${r.status} ${r.flags}; /clusters: rq_total ${host.rqTotal}, rq_error ${host.rqError}, active ${host.active}; retries ${retried}`,
    );
    assert.equal(r.status, 503);
    assert.deepEqual(r.flags.split(',').sort(), ['UF', 'URX']);
    assert.equal(host.rqTotal, 3, 'one try and two retries, then it stops');
    assert.equal(host.rqError, 3);
    assert.equal(host.active, 0);
    assert.equal(retried, 2);
  });

  it('an endpoint that resets every connection, attempts 2: 503 UC+URX after exactly 3 connections', async () => {
    resets = 0;
    const r = await send(client.ports.outbound, { host: 'resets:8080', agent });
    console.log(`      ${r.status} ${r.flags}; connections reset by the upstream: ${resets}`);
    assert.equal(r.status, 503);
    assert.deepEqual(r.flags.split(',').sort(), ['UC', 'URX']);
    assert.equal(resets, 3);
  });

  it('a retry goes to the other host: one host always 503, the other fine, 200 of 200 succeed', async () => {
    const replies = await inParallel(200, 8, (i) =>
      send(client.ports.outbound, {
        host: 'pair:8080',
        agent,
        headers: { 'x-request-id': `p${i}` },
      }),
    );
    const goodAttempts = tally(good.seen.map((s) => s.attempt));
    const badAttempts = tally(bad.seen.map((s) => s.attempt));
    console.log(
      `      200 requests, 8 at a time: bad saw ${JSON.stringify(badAttempts)}, good saw ${JSON.stringify(goodAttempts)} (by attempt count)`,
    );
    assert.deepEqual(tally(replies.map((r) => `${r.status} ${r.body}`)), { '200 good': 200 });
    // Round robin sends about half the first attempts to the bad host. With 8 requests
    // interleaving, a retry that simply took the next pick would land on the bad host again
    // about half the time; preferring a host not yet tried, no retry ever does.
    assert.ok(bad.seen.length > 50, `bad host saw ${bad.seen.length} first attempts`);
    assert.deepEqual(Object.keys(badAttempts), ['1'], 'no retry went back to the failing host');
    assert.equal(goodAttempts['2'], bad.seen.length, 'every failure was retried on the good host');
  });
});
