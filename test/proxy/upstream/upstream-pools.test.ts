/**
 * Which pool a request to an endpoint gets: plaintext and mTLS apart, and mTLS pools apart by
 * the identity they were made for (SNI, accepted SPIFFE IDs).
 */
import assert from 'node:assert/strict';
import type { UpstreamTls } from '../../../src/proxy/upstream/index.js';
import { UpstreamPools } from '../../../src/proxy/upstream/index.js';

const HTTP1 = { protocol: 'http1', connectTimeoutMs: 1000 } as const;

function tlsFor(identity: string): UpstreamTls {
  return { context: () => undefined, verify: () => undefined, identity };
}

describe('proxy: upstream pools', () => {
  it('regression: a pool made for one TLS identity is never used for another (a SPIFFE ID change reached no open pool)', async () => {
    const pools = new UpstreamPools('ferry');
    const gateway = tlsFor('outbound_.80_._.egress spiffe://t/ns/egress/sa/out');
    const first = pools.get('10.0.0.1:80', '10.0.0.1', 80, HTTP1, gateway);
    // The same settings again (a new configuration, same identity): the same pool.
    assert.equal(pools.get('10.0.0.1:80', '10.0.0.1', 80, HTTP1, tlsFor(gateway.identity!)), first);
    // Another accepted identity (the mesh file changed the gateway's account), or another
    // SNI (a subset's cluster): another pool, whose connections check what it needs.
    const other = pools.get(
      '10.0.0.1:80',
      '10.0.0.1',
      80,
      HTTP1,
      tlsFor('outbound_.80_._.egress spiffe://t/ns/egress/sa/someone-else'),
    );
    assert.notEqual(other, first);
    const subset = pools.get(
      '10.0.0.1:80',
      '10.0.0.1',
      80,
      HTTP1,
      tlsFor('outbound_.80_.v1_.egress spiffe://t/ns/egress/sa/out'),
    );
    assert.notEqual(subset, first);
    assert.notEqual(subset, other);
    // Asking for the first identity again finds its pool (no churn between two clusters).
    assert.equal(pools.get('10.0.0.1:80', '10.0.0.1', 80, HTTP1, gateway), first);
    const plain = pools.get('10.0.0.1:80', '10.0.0.1', 80, HTTP1);
    assert.ok(plain !== first && plain !== other);
    assert.equal(pools.size, 4);
    // The endpoint leaves every cluster: all its pools go.
    pools.retain(new Set());
    assert.equal(pools.size, 0);
    await pools.close();
  });
});
