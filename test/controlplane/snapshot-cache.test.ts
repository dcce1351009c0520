import assert from 'node:assert/strict';
import { Registry, SnapshotCache } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { types } from '../../src/xds/index.js';
import { FakeTimers } from '../support/fake-timers.js';
import { clusterName, mesh, service } from '../support/mesh.js';

describe('SnapshotCache', () => {
  function setup(buildShared?: ConstructorParameters<typeof SnapshotCache>[1]['buildShared']) {
    const timers = new FakeTimers();
    const registry = new Registry(mesh(service('echo', 50051, 'grpc', [50061])), { timers });
    const cache = new SnapshotCache(registry, {
      log: silentLogger(),
      timers,
      debounceMs: 100,
      maxDebounceMs: 500,
      buildShared,
    });
    const published: string[] = [];
    cache.onPublish((v) => published.push(v));
    cache.start();
    return { timers, registry, cache, published };
  }

  it('debounces a burst of changes into one push after a quiet period', () => {
    const { timers, registry, published } = setup();
    for (let i = 0; i < 5; i++) {
      registry.setMeshConfig(mesh(service('echo', 50051, 'grpc', [50061 + i])));
      timers.advance(50);
    }
    assert.deepEqual(published, ['1'], 'only the initial generation so far');
    timers.advance(100);
    assert.deepEqual(published, ['1', '2']);
  });

  it('publishes within the maximum delay even while changes keep coming', () => {
    const { timers, registry, published } = setup();
    for (let i = 0; i < 20; i++) {
      registry.setMeshConfig(mesh(service('echo', 50051, 'grpc', [50061 + i])));
      timers.advance(60);
    }
    assert.ok(published.length >= 3, `published ${published.join()}`);
  });

  it('never publishes an inconsistent generation; the last good one stays', () => {
    let broken = false;
    const { timers, registry, cache, published } = setup((config, namespaces) => {
      if (broken) return { ok: false, errors: ['route outbound.default names missing cluster x'] };
      return SnapshotCache.defaultBuild(config, namespaces);
    });
    const before = cache.snapshotFor(undefined);
    broken = true;
    registry.setMeshConfig(mesh(service('echo', 50051, 'grpc', [50099])));
    timers.advance(200);
    assert.deepEqual(published, ['1']);
    assert.equal(cache.snapshotFor(undefined), before);
    assert.deepEqual(cache.lastError?.errors, ['route outbound.default names missing cluster x']);
    assert.ok(before.types.get(types.ENDPOINT)?.byName.has(clusterName('echo', 50051)));
  });

  it('keeps the same type set object when a type did not change', () => {
    const { timers, registry, cache } = setup();
    const before = cache.snapshotFor(undefined);
    registry.setMeshConfig(mesh(service('echo', 50051, 'grpc', [50070])));
    timers.advance(100);
    const after = cache.snapshotFor(undefined);
    assert.notEqual(after, before);
    assert.equal(after.types.get(types.CLUSTER), before.types.get(types.CLUSTER), 'CDS unchanged');
    assert.notEqual(
      after.types.get(types.ENDPOINT),
      before.types.get(types.ENDPOINT),
      'EDS changed',
    );
  });
});
