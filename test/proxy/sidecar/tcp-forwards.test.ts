import assert from 'node:assert/strict';
import type { RuntimeCluster } from '../../../src/proxy/cluster/index.js';
import { forwardCluster } from '../../../src/proxy/sidecar/index.js';

describe('sidecar TCP forwards: the cluster of a target', () => {
  const cluster = (name: string) => ({ name }) as unknown as RuntimeCluster;
  const clusters = new Map(
    [
      'outbound|5432||db.default.svc.cluster.local',
      'outbound|5432||db.shop.svc.cluster.local',
      'outbound|6379||cache.default.svc.cluster.local',
    ].map((n) => [n, cluster(n)]),
  );

  it("finds name:port in the workload's namespace, and name.namespace:port in that one", () => {
    assert.equal(
      forwardCluster(clusters, 'db:5432', 'default')?.name,
      'outbound|5432||db.default.svc.cluster.local',
    );
    assert.equal(
      forwardCluster(clusters, 'db:5432', 'shop')?.name,
      'outbound|5432||db.shop.svc.cluster.local',
    );
    assert.equal(
      forwardCluster(clusters, 'db.shop:5432', 'default')?.name,
      'outbound|5432||db.shop.svc.cluster.local',
    );
  });

  it('finds nothing for another port, another name, or before any configuration', () => {
    assert.equal(forwardCluster(clusters, 'db:5433', 'default'), undefined);
    assert.equal(forwardCluster(clusters, 'd:5432', 'default'), undefined);
    assert.equal(forwardCluster(undefined, 'db:5432', 'default'), undefined);
  });
});
