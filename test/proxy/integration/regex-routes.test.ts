/**
 * Regexes in linear time (issue 12): a route regex like `(a+)+b`, which V8's backtracking
 * engine needs seconds for on 29 bytes, is matched by RE2 on a live sidecar — a 4 KiB path
 * and header that do not match are answered at once and correctly, the matching ones are
 * routed — and a pattern RE2 refuses reaches the sidecar only to be NACKed with RE2's
 * reason, the last good routes staying in force.
 */
import assert from 'node:assert/strict';
import type { ControlPlane } from '../../../src/controlplane/index.js';
import type { MeshConfig, Route } from '../../../src/mesh/index.js';
import type { Sidecar } from '../../../src/proxy/index.js';
import { send } from '../../support/http-client.js';
import { type HttpUpstream, startHttpUpstream } from '../../support/http-upstream.js';
import { mesh, service } from '../../support/mesh.js';
import { startControlPlane, startSidecar } from '../../support/mesh-harness.js';
import { waitFor } from '../../support/wait-for.js';

function toOther(name: string, match: Route['match'][number]): Route {
  return {
    name,
    match: [match],
    backends: [{ service: 'other', namespace: 'default', port: 8080, weight: 1 }],
  };
}

function meshWith(api: HttpUpstream, other: HttpUpstream, routes: Route[]): MeshConfig {
  return mesh(
    service('api', 8080, 'http', [api.port], { routes }),
    service('other', 8080, 'http', [other.port]),
  );
}

const PATH_ROUTE = toOther('evil-path', {
  path: { regex: '/(a+)+b' },
  headers: [],
  queryParams: [],
});
const HEADER_ROUTE = toOther('evil-header', {
  headers: [{ name: 'x-user', match: { regex: '(a+)+b' }, invert: false }],
  queryParams: [],
});

describe('integration: route regexes run on RE2', function () {
  this.timeout(30_000);
  let api: HttpUpstream;
  let other: HttpUpstream;
  let cp: ControlPlane;
  let web: Sidecar;

  before(async () => {
    api = await startHttpUpstream('api');
    other = await startHttpUpstream('other');
    cp = await startControlPlane(meshWith(api, other, [PATH_ROUTE, HEADER_ROUTE]));
    web = await startSidecar(cp.xdsPort, { service: 'web' });
  });
  after(async () => {
    await web?.stop(0);
    await cp?.close();
    await api?.close();
    await other?.close();
  });

  const outbound = () => web.ports.outbound;

  it('regression: (a+)+b against 4 KiB of a path or header is answered, and routed correctly', async () => {
    const as = 'a'.repeat(4096);
    const miss = await send(outbound(), { host: 'api:8080', path: `/${as}c` });
    assert.equal(miss.status, 200);
    assert.equal(miss.body.startsWith('api'), true, miss.body);
    const hit = await send(outbound(), { host: 'api:8080', path: `/${as}b` });
    assert.equal(hit.body.startsWith('other'), true, hit.body);
    const headerMiss = await send(outbound(), {
      host: 'api:8080',
      path: '/x',
      headers: { 'x-user': `${as}c` },
    });
    assert.equal(headerMiss.body.startsWith('api'), true, headerMiss.body);
    const headerHit = await send(outbound(), {
      host: 'api:8080',
      path: '/x',
      headers: { 'x-user': `${as}b` },
    });
    assert.equal(headerHit.body.startsWith('other'), true, headerHit.body);
  });

  it('a pattern RE2 refuses (a backreference) is NACKed with RE2’s reason; the last good routes stay', async () => {
    const bad = toOther('backref', { path: { regex: '/(a)\\1' }, headers: [], queryParams: [] });
    cp.registry.setMeshConfig(meshWith(api, other, [bad]));
    let message = '';
    await waitFor('the NACK of the route configuration', () => {
      const rds = cp.ads
        .status()
        .flatMap((s) => s.types)
        .find((t) => t.type === 'RDS' && t.lastNack);
      message = rds?.lastNack?.message ?? '';
      return message !== '';
    });
    assert.match(message, /regex "\/\(a\)\\\\1" is not valid RE2: invalid escape sequence: \\1/);
    // Still the previous routes: the header route still sends to other.
    const r = await send(outbound(), { host: 'api:8080', path: '/x', headers: { 'x-user': 'ab' } });
    assert.equal(r.body.startsWith('other'), true, r.body);
  });
});
