import assert from 'node:assert/strict';
import {
  checkConsistency,
  mergeResources,
  type NamedResource,
  type Resources,
  translateMesh,
  translateWorkload,
} from '../../../src/controlplane/translate/index.js';
import { FIXTURE_MESH, workload } from './mesh-fixture.js';
import { type Loose, names } from './resource-helpers.js';

const SHARED = translateMesh(FIXTURE_MESH).resources;

function replace(
  list: readonly NamedResource[],
  name: string,
  edit: (v: Loose) => Loose,
): NamedResource[] {
  return list.map((r) => (r.name === name ? { ...r, value: edit(structuredClone(r.value)) } : r));
}

describe('translate: consistency check', () => {
  it('accepts the shared set and a sidecar set merged onto it', () => {
    assert.deepEqual(checkConsistency(SHARED), []);
    const merged = mergeResources(
      SHARED,
      translateWorkload(FIXTURE_MESH, workload({ appPort: 1 })).resources,
    );
    assert.deepEqual(checkConsistency(merged), []);
  });

  it('catches a route to a missing cluster', () => {
    const routes = replace(SHARED.routes, 'outbound.default', (rc) => {
      rc.virtual_hosts[0].routes[0].route = { cluster: 'outbound|1||nowhere' };
      return rc;
    });
    const errors = checkConsistency({ ...SHARED, routes });
    assert.equal(errors.length, 1);
    assert.match(errors[0]!, /outbound\.default.*cluster outbound\|1\|\|nowhere does not exist/);
  });

  it('catches a weighted cluster that is missing', () => {
    const routes = replace(SHARED.routes, 'outbound.default', (rc) => {
      rc.virtual_hosts[0].routes[0].route = {
        weighted_clusters: { clusters: [{ name: 'gone', weight: { value: 1 } }] },
      };
      return rc;
    });
    assert.equal(checkConsistency({ ...SHARED, routes }).length, 1);
  });

  it('catches an EDS cluster without its ClusterLoadAssignment', () => {
    const name = 'outbound|50051||echo.default.svc.cluster.local';
    const endpoints = SHARED.endpoints.filter((e) => e.name !== name);
    const errors = checkConsistency({ ...SHARED, endpoints });
    assert.deepEqual(errors, [`cluster ${name}: ClusterLoadAssignment ${name} does not exist`]);
  });

  it('catches a listener naming a missing route configuration or TCP cluster', () => {
    const sidecar = translateWorkload(FIXTURE_MESH, workload({ namespace: 'nowhere' })).resources;
    const clusters = SHARED.clusters.filter((c) => !c.name.startsWith('outbound|5432|'));
    const errors = checkConsistency(mergeResources({ ...SHARED, clusters }, sidecar));
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.ok(errors.some((e) => /virtualOutbound: route configuration outbound\.nowhere/.test(e)));
    assert.ok(errors.some((e) => /virtualOutbound: cluster outbound\|5432\|\|db/.test(e)));
  });

  it('catches a resource present twice or under another name', () => {
    const [first] = SHARED.clusters;
    assert.ok(first);
    const twice: Resources = { ...SHARED, clusters: [...SHARED.clusters, first] };
    assert.equal(checkConsistency(twice).length, 1);
    const renamed: Resources = {
      ...SHARED,
      clusters: [{ ...first, name: 'alias' }, ...SHARED.clusters],
    };
    assert.match(checkConsistency(renamed).join('\n'), /alias carries the name/);
  });

  it('merges by name, later sets winning, sorted', () => {
    const a: Resources = {
      listeners: [],
      routes: [{ name: 'r', value: { name: 'r', virtual_hosts: [] } }],
      clusters: [{ name: 'b', value: { v: 1 } }],
      endpoints: [],
    };
    const b: Resources = {
      listeners: [],
      routes: [],
      clusters: [
        { name: 'b', value: { v: 2 } },
        { name: 'a', value: { v: 3 } },
      ],
      endpoints: [],
    };
    const m = mergeResources(a, b);
    assert.deepEqual(names(m.clusters), ['a', 'b']);
    assert.deepEqual(m.clusters[1]!.value, { v: 2 });
    assert.deepEqual(names(m.routes), ['r']);
  });
});
