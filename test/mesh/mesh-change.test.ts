import assert from 'node:assert/strict';
import { describeMeshChange, type MeshConfig } from '../../src/mesh/index.js';
import { mesh, service } from '../support/mesh.js';

describe('describeMeshChange', () => {
  const base = mesh(
    service('reviews', 8080, 'http', [9080]),
    service('catalog', 8080, 'http', [9081]),
  );

  it('names each changed part of each service, and services added or removed', () => {
    const reviews = base.services[0]!;
    const after: MeshConfig = {
      mesh: { ...base.mesh, mtls: 'STRICT' },
      services: [
        {
          ...reviews,
          routes: [{ name: 'split', match: [], backends: [] }] as unknown as typeof reviews.routes,
          policy: { ...reviews.policy, timeoutMs: 2000 },
        },
        service('ratings', 8080, 'http', [9082]),
      ],
    };
    assert.deepEqual(describeMeshChange(base, after), [
      'mesh mtls changed',
      'policy and routes of reviews changed',
      'service ratings added',
      'service catalog removed',
    ]);
  });

  it('says nothing when nothing changed, and names a namespace other than default', () => {
    assert.deepEqual(describeMeshChange(base, structuredClone(base)), []);
    const shop = mesh(service('cart', 8080, 'http', [1], { namespace: 'shop' }));
    const moved = mesh(service('cart', 8080, 'http', [2], { namespace: 'shop' }));
    assert.deepEqual(describeMeshChange(shop, moved), ['endpoints of cart.shop changed']);
  });
});
