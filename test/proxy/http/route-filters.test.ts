/**
 * Per-route filters compiled with their route table (issue 16): from route configurations
 * as the control plane translates them, every route's fault and rate limit is there before
 * any request, a bucket is shared by the Envoy routes of one mesh route and kept across
 * updates that do not change it, and a bad config names its route.
 */
import assert from 'node:assert/strict';
import { translateMesh } from '../../../src/controlplane/translate/index.js';
import type { MeshConfig, Route } from '../../../src/mesh/index.js';
import { RouteFilters } from '../../../src/proxy/http/index.js';
import {
  compileRouteTable,
  type ForwardRoute,
  type RouteTable,
} from '../../../src/proxy/router/index.js';
import { decodeResource, encodeResource, type envoy, types } from '../../../src/xds/index.js';
import { mesh, service } from '../../support/mesh.js';

const route = (name: string, prefix: string, extra: Partial<Route>): Route => ({
  name,
  match: [{ path: { prefix }, headers: [], queryParams: [] }],
  backends: [],
  ...extra,
});

/** The outbound route table of a mesh, through the wire. */
function tableOf(config: MeshConfig): RouteTable {
  const rc = translateMesh(config).resources.routes.find((r) => r.name.startsWith('outbound'));
  assert.ok(rc, 'an outbound route configuration');
  const wire = decodeResource(types.ROUTE, encodeResource(types.ROUTE, rc.value));
  const r = compileRouteTable(wire as envoy.RouteConfiguration);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.table;
}

function forward(table: RouteTable, name: string): ForwardRoute[] {
  return table.routes.filter((r): r is ForwardRoute => r.kind === 'forward' && r.name === name);
}

function meshWith(perMinute: number, abortStatus = 503): MeshConfig {
  return mesh(
    service('api', 8080, 'http', [1], {
      routes: [
        route('aborts', '/abort', {
          // A header condition splits the mesh route into two Envoy routes (fault.ts).
          fault: {
            abort: { httpStatus: abortStatus, percentage: 100 },
            headers: [{ name: 'x-fault', match: { exact: 'on' }, invert: false }],
          },
          rateLimit: { requestsPerUnit: perMinute, unit: 'minute', burst: 0 },
        }),
      ],
    }),
  );
}

describe('route filters, compiled with the route table', () => {
  it('has every route’s fault and limiter before any request; the split routes share one bucket', () => {
    const table = tableOf(meshWith(3));
    const r = RouteFilters.compile(table, 0, undefined);
    assert.ok(r.ok, r.ok ? '' : r.error);
    const [withFault, plain] = forward(table, 'aborts');
    assert.ok(withFault && plain, 'the mesh route is two Envoy routes');
    const a = r.filters.of(withFault);
    const b = r.filters.of(plain);
    assert.ok(a.fault, 'the first carries the fault');
    assert.equal(b.fault, undefined);
    assert.ok(a.limiter && a.limiter === b.limiter, 'one bucket for both');
    // Fault and limit of the first route, the limit of the second: three configs compiled.
    assert.equal(r.filters.compiled, 3);
    // A route without filters has none (and costs a lookup only).
    const other = table.routes.find(
      (x): x is ForwardRoute => x.kind === 'forward' && x.name !== 'aborts',
    );
    assert.ok(other);
    assert.deepEqual(r.filters.of(other), { fault: undefined, limiter: undefined });
  });

  it('keeps an unchanged limiter (and its bucket) across updates of the table; a changed one starts afresh', () => {
    const limiterOf = (filters: RouteFilters, table: RouteTable) =>
      filters.of(forward(table, 'aborts')[0]!).limiter;
    const firstTable = tableOf(meshWith(3));
    const first = RouteFilters.compile(firstTable, 0, undefined);
    assert.ok(first.ok);
    const original = limiterOf(first.filters, firstTable);
    assert.ok(original);
    // The same limit in a new table (new route objects): the limiter compiled before.
    const sameTable = tableOf(meshWith(3));
    const same = RouteFilters.compile(sameTable, 1, first.filters);
    assert.ok(same.ok);
    assert.equal(limiterOf(same.filters, sameTable), original);
    // A new limit: a new bucket.
    const changedTable = tableOf(meshWith(5));
    const changed = RouteFilters.compile(changedTable, 2, same.filters);
    assert.ok(changed.ok);
    const fresh = limiterOf(changed.filters, changedTable);
    assert.ok(fresh && fresh !== original);
  });

  it('says which route’s filter config is bad', () => {
    const r = RouteFilters.compile(tableOf(meshWith(3, 600)), 0, undefined);
    assert.ok(!r.ok);
    assert.match(r.error, /virtual host "api\.default\.svc\.cluster\.local:8080" route "aborts"/);
    assert.match(r.error, /http_status: must be from 200 to 599, not 600/);
  });
});
