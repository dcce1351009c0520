/**
 * Regression: a cluster whose hosts take mTLS (meshed endpoints, with the sidecar holding a
 * certificate) is published as a copy carrying its per-host TLS. Outlier ejections and health
 * check transitions rebuilt the balancer of the object built before the copy, so the data path
 * kept picking ejected and unhealthy hosts. They must act on the cluster the data path reads.
 */
import assert from 'node:assert/strict';
import { translateMesh } from '../../../src/controlplane/translate/index.js';
import { Outcome } from '../../../src/proxy/cluster/index.js';
import { NO_HASH } from '../../../src/proxy/lb/index.js';
import { assembleRuntime } from '../../../src/proxy/runtime/index.js';
import { types } from '../../../src/xds/index.js';
import type { ProxyConfig } from '../../../src/xds-client/index.js';
import { clusterName, endpoint, mesh, service } from '../../support/mesh.js';
import { compiledEntries } from './wire-config.js';

const CLUSTER = clusterName('api', 8080);

describe('sidecar: outlier ejection on a cluster with mTLS hosts', () => {
  it('an ejected meshed host is no longer picked', () => {
    const config = mesh(
      service('api', 8080, 'http', [], {
        endpoints: [
          endpoint('127.0.0.1', 18081, 8080, { meshed: true }),
          endpoint('127.0.0.1', 18082, 8080, { meshed: true }),
        ],
        policy: {
          loadBalancer: 'round_robin',
          connectTimeoutMs: 1000,
          outlierDetection: { consecutive5xx: 2, maxEjectionPercent: 50 },
        },
      }),
    );
    const { resources } = translateMesh(config);
    const source = {
      version: 1,
      listeners: new Map(),
      routes: new Map(),
      clusters: compiledEntries(types.CLUSTER, resources.clusters),
      endpoints: compiledEntries(types.ENDPOINT, resources.endpoints),
    } as unknown as ProxyConfig;
    const built = assembleRuntime(source, undefined, Math.random, { context: () => undefined });
    assert.deepEqual(built.warnings, []);
    const cluster = built.config.clusters.get(CLUSTER);
    assert.ok(cluster?.outlier, 'the cluster has outlier detection');
    const [first] = cluster.hostSet.hosts;
    assert.ok(first && cluster.hostTls?.get(first), 'its hosts take mTLS');

    cluster.outlier.record(first, Outcome.Error5xx);
    cluster.outlier.record(first, Outcome.Error5xx);
    assert.equal(first.ejected, true);
    const picked = new Set<string>();
    for (let i = 0; i < 20; i++) picked.add(cluster.balancer.pick(NO_HASH)?.key ?? 'none');
    assert.deepEqual([...picked], ['127.0.0.1:18082']);
    cluster.outlier.stop();
  });
});
