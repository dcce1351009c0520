/** The primary's /clusters: two workers' views combined field by field. */
import assert from 'node:assert/strict';
import type { ClusterView, HostView } from '../../../src/proxy/admin/index.js';
import { sumClusters } from '../../../src/proxy/workers/index.js';

function host(address: string, more: Partial<HostView> = {}): HostView {
  return {
    address,
    health: 'HEALTHY',
    healthy: true,
    active: 0,
    rqTotal: 0,
    rqError: 0,
    ejected: false,
    failedHealthCheck: false,
    priority: 0,
    weight: 1,
    zone: 'z1',
    ...more,
  };
}

function cluster(name: string, hosts: HostView[], inFlight = 0): ClusterView {
  return {
    name,
    policy: 'ROUND_ROBIN',
    protocol: 'http1',
    circuit_breakers: {
      thresholds: { max_connections: 1024 },
      active_requests: inFlight,
      active_retries: 0,
      request_overflows: inFlight,
      retry_overflows: 0,
      active_connections: inFlight,
      connection_overflows: 0,
    },
    hosts,
  };
}

describe('sumClusters', () => {
  it('sums counters and in-flight requests; configuration and thresholds are the first worker’s', () => {
    const [c] = sumClusters([
      [cluster('app', [host('10.0.0.1:80', { active: 1, rqTotal: 10, rqError: 1 })], 2)],
      [cluster('app', [host('10.0.0.1:80', { active: 2, rqTotal: 5, rqError: 2, weight: 9 })], 3)],
    ]);
    assert.equal(c.policy, 'ROUND_ROBIN');
    assert.deepEqual(c.circuit_breakers, {
      thresholds: { max_connections: 1024 },
      active_requests: 5,
      active_retries: 0,
      request_overflows: 5,
      retry_overflows: 0,
      active_connections: 5,
      connection_overflows: 0,
    });
    const [h] = c.hosts;
    assert.deepEqual([h.active, h.rqTotal, h.rqError, h.weight], [3, 15, 3, 1]);
    assert.deepEqual(h.workers, { of: 2, unhealthy: 0 });
    assert.equal(h.healthy, true);
  });

  it('a host unhealthy or ejected in one worker shows so, and in how many workers', () => {
    const [c] = sumClusters([
      [cluster('app', [host('a:1'), host('b:1')])],
      [
        cluster('app', [
          host('a:1', { ejected: true }),
          host('b:1', { health: 'UNHEALTHY', healthy: false, failedHealthCheck: true }),
        ]),
      ],
      [cluster('app', [host('a:1'), host('b:1')])],
    ]);
    const [a, b] = c.hosts;
    // Ejected somewhere: ejected, yet `healthy` as a single process reports an ejected host.
    assert.deepEqual([a.healthy, a.ejected, a.health], [true, true, 'HEALTHY']);
    assert.deepEqual(a.workers, { of: 3, unhealthy: 1 });
    assert.deepEqual([b.healthy, b.failedHealthCheck, b.health], [false, true, 'UNHEALTHY']);
    assert.deepEqual(b.workers, { of: 3, unhealthy: 1 });
  });

  it('keeps clusters and hosts only some workers have yet (a configuration on its way)', () => {
    const out = sumClusters([
      [cluster('app', [host('a:1')])],
      [cluster('app', [host('a:1'), host('c:1')]), cluster('new', [host('n:1')])],
    ]);
    assert.deepEqual(
      out.map((c) => [c.name, c.hosts.map((h) => `${h.address}/${h.workers?.of}`)]),
      [
        ['app', ['a:1/2', 'c:1/1']],
        ['new', ['n:1/1']],
      ],
    );
    assert.deepEqual(sumClusters([]), []);
  });
});
