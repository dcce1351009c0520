import assert from 'node:assert/strict';
import {
  canonical,
  type GatewayApiObject,
  statusUpdates,
} from '../../../src/controlplane/kubernetes/index.js';
import { gateway, HTTP_LISTENER, httpRoute, stateOf } from '../../gatewayapi/support.js';

/** Key order reversed at every level, as another serializer might write it. */
function reordered(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reordered);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(
    Object.entries(v)
      .reverse()
      .map(([k, x]) => [k, reordered(x)]),
  );
}

describe('kubernetes: gateway API status updates', () => {
  const state = stateOf(
    gateway(HTTP_LISTENER) +
      httpRoute(
        'r',
        '      parentRefs: [{ name: gw }]\n      rules: [{ backendRefs: [{ name: api, port: 8080 }] }]\n',
      ),
  );
  const objects = (statuses: Map<string, unknown> = new Map()): GatewayApiObject[] =>
    [
      { kind: 'Gateway', name: 'gw' },
      { kind: 'HTTPRoute', name: 'r' },
    ].map(({ kind, name }) => ({
      kind,
      apiVersion: 'gateway.networking.k8s.io/v1',
      metadata: { name, namespace: 'default', generation: 2 },
      status: statuses.get(kind) as Record<string, unknown> | undefined,
    }));

  it('writes nothing when the objects already carry the status (whatever the key order); keeps transition times', () => {
    const first = statusUpdates({
      state,
      objects: objects(),
      invalid: new Map(),
      now: '2026-01-01T00:00:00Z',
    });
    assert.deepEqual(
      first.map((u) => u.object.kind),
      ['Gateway', 'HTTPRoute'],
    );
    const carried = new Map(first.map((u) => [u.object.kind, reordered(u.status)]));
    const again = statusUpdates({
      state,
      objects: objects(carried),
      invalid: new Map(),
      now: '2026-02-02T00:00:00Z',
    });
    assert.deepEqual(again, []);
    assert.equal(canonical({ b: 1, a: { d: 1, c: 2 } }), canonical({ a: { c: 2, d: 1 }, b: 1 }));
  });

  it('moves lastTransitionTime only for a condition whose status changed', () => {
    const first = statusUpdates({
      state,
      objects: objects(),
      invalid: new Map(),
      now: '2026-01-01T00:00:00Z',
    });
    const route = first.find((u) => u.object.kind === 'HTTPRoute')!.status as {
      parents: { conditions: { type: string; status: string; lastTransitionTime: string }[] }[];
    };
    // The Accepted condition was False before: it changed now; ResolvedRefs was True: kept.
    route.parents[0].conditions[0].status = 'False';
    route.parents[0].conditions[1].lastTransitionTime = '2025-12-31T00:00:00Z';
    const next = statusUpdates({
      state,
      objects: objects(new Map([['HTTPRoute', route]])),
      invalid: new Map(),
      now: '2026-03-03T00:00:00Z',
    }).find((u) => u.object.kind === 'HTTPRoute')!.status as typeof route;
    assert.deepEqual(
      next.parents[0].conditions.map((c) => c.lastTransitionTime),
      ['2026-03-03T00:00:00Z', '2025-12-31T00:00:00Z'],
    );
  });
});
