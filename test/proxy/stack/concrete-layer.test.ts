/**
 * The concrete layer through a fake cluster (breakers, a balancer, outlier detection): the
 * breaker slot a connection-long user takes is given back when there is no host, and a pick
 * for a retry prefers a host not tried yet.
 */
import assert from 'node:assert/strict';
import { CircuitBreakers, type RuntimeCluster } from '../../../src/proxy/cluster/index.js';
import { FAILURE } from '../../../src/proxy/failure/index.js';
import { type Host, HostSet } from '../../../src/proxy/lb/index.js';
import type { ForwardRoute } from '../../../src/proxy/router/index.js';
import {
  acquireHost,
  chooseCluster,
  chooseSessionCluster,
  pickHost,
  Refusal,
  release,
  sessionHost,
} from '../../../src/proxy/stack/index.js';

const NO_HASH = {};

function cluster(hosts: Host[], maxRequests = 10): RuntimeCluster {
  let i = 0;
  return {
    name: 'c',
    breakers: new CircuitBreakers({
      maxConnections: 10,
      maxPendingRequests: 10,
      maxRequests,
      maxRetries: 3,
    }),
    balancer: { pick: () => (hosts.length ? hosts[i++ % hosts.length] : undefined) },
  } as unknown as RuntimeCluster;
}

const active = (c: RuntimeCluster) =>
  (c.breakers.toJSON() as { active_requests: number }).active_requests;

describe('concrete layer', () => {
  it('acquireHost: a host with a slot taken; OVERFLOW past max_requests; UH gives the slot back', () => {
    const a = { key: 'a' } as Host;
    const c = cluster([a], 1);
    assert.equal(acquireHost(c, NO_HASH), a);
    assert.equal(active(c), 1);
    assert.equal(acquireHost(c, NO_HASH), FAILURE.OVERFLOW);
    release(c);
    assert.equal(active(c), 0);
    const empty = cluster([]);
    assert.equal(acquireHost(empty, NO_HASH), FAILURE.NO_HEALTHY_UPSTREAM);
    assert.equal(active(empty), 0);
  });

  it('pickHost prefers a host not tried yet', () => {
    const [a, b] = [{ key: 'a' }, { key: 'b' }] as Host[];
    const c = cluster([a!, b!]);
    assert.equal(pickHost(c, NO_HASH, undefined), a);
    // The balancer offers b next anyway; then a, which was tried: b is preferred.
    assert.equal(pickHost(c, NO_HASH, [a!]), b);
    assert.equal(pickHost(c, NO_HASH, [a!]), b);
  });

  it('sessionHost: the host a session names while it may take traffic; else none (the balancer picks)', () => {
    const hostSet = new HostSet('c');
    hostSet.update({
      endpoints: [
        {
          lb_endpoints: ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((address) => ({
            endpoint: { address: { socket_address: { address, port_value: 8080 } } },
          })),
        },
      ],
    });
    const c = { name: 'c', hostSet } as unknown as RuntimeCluster;
    const [a, b, d] = hostSet.hosts as Host[];
    assert.equal(sessionHost(c, '10.0.0.1:8080'), a);
    assert.equal(sessionHost(c, undefined), undefined);
    assert.equal(sessionHost(c, '10.9.9.9:8080'), undefined, 'not an endpoint of the cluster');
    b!.ejected = true;
    assert.equal(sessionHost(c, '10.0.0.2:8080'), undefined, 'ejected by outlier detection');
    d!.failedHealthCheck = true;
    assert.equal(sessionHost(c, '10.0.0.3:8080'), undefined, 'failing its health checks');
    a!.health = 'UNHEALTHY';
    assert.equal(sessionHost(c, '10.0.0.1:8080'), undefined, 'unhealthy in EDS');
  });

  it('chooseSessionCluster: the side of a split that has the session’s host; else the route’s pick', () => {
    const withHost = (address: string) => {
      const hostSet = new HostSet(address);
      hostSet.update({
        endpoints: [
          {
            lb_endpoints: [
              { endpoint: { address: { socket_address: { address, port_value: 80 } } } },
            ],
          },
        ],
      });
      return { name: address, hostSet } as unknown as RuntimeCluster;
    };
    const [a, b] = [withHost('10.0.0.1'), withHost('10.0.0.2')];
    const clusters = new Map([
      ['a', a],
      ['b', b],
    ]);
    const route = {
      weightedClusters: ['a', 'b'],
      pickCluster: () => 'a',
    } as unknown as ForwardRoute;
    const req = { authority: 'x', path: '/', method: 'GET', headers: {} };
    assert.equal(chooseSessionCluster(route, clusters, req, Math.random, '10.0.0.2:80'), b);
    assert.equal(chooseSessionCluster(route, clusters, req, Math.random, '10.0.0.9:80'), a);
    (b.hostSet.hosts[0] as Host).ejected = true;
    assert.equal(chooseSessionCluster(route, clusters, req, Math.random, '10.0.0.2:80'), a);
  });

  it("chooseCluster: the route's cluster, or 503 NC naming the one missing", () => {
    const route = { pickCluster: () => 'gone' } as unknown as ForwardRoute;
    const req = { authority: 'a', path: '/', method: 'GET', headers: {} };
    const r = chooseCluster(route, new Map(), req, Math.random);
    assert.ok(r instanceof Refusal);
    assert.equal(r.failure, FAILURE.NO_CLUSTER);
    assert.equal(r.detail, 'no cluster gone');
    const c = cluster([]);
    assert.equal(chooseCluster(route, new Map([['gone', c]]), req, Math.random), c);
  });
});
