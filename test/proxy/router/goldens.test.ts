/**
 * The router against what the control plane really emits: every RouteConfiguration in the
 * translate goldens compiles, and requests land where the mesh file says they should.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'mocha';
import { compileRouteTable, rewritePath } from '../../../src/proxy/router/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { forward, request, table } from './helpers.js';

// dist/test/proxy/router/ -> test/controlplane/translate/fixtures/ in the source tree
const FIXTURES = new URL('../../../../test/controlplane/translate/fixtures/', import.meta.url);

interface Golden {
  resources: { routes: { name: string; value: envoy.RouteConfiguration }[] };
}

function goldenRoutes(): { file: string; name: string; value: envoy.RouteConfiguration }[] {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.golden.json'));
  assert.ok(files.length > 0, 'no golden files found');
  return files.flatMap((file) => {
    const g = JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as Golden;
    return g.resources.routes.map((r) => ({ file, ...r }));
  });
}

function golden(name: string): envoy.RouteConfiguration {
  const found = goldenRoutes().find((r) => r.name === name);
  assert.ok(found, `no route configuration ${name} in the goldens`);
  return found.value;
}

const WEB = 'web.default.svc.cluster.local';
const ECHO = 'echo.default.svc.cluster.local';

describe('router: translate goldens', () => {
  const all = goldenRoutes();

  it('finds route configurations in the goldens', () => {
    assert.ok(all.length >= 10, `only ${all.length} route configurations`);
  });

  for (const { file, name, value } of all) {
    it(`compiles ${file} ${name}, and every domain reaches its virtual host`, () => {
      const r = compileRouteTable(value);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(r.table.name, name);
      for (const vh of value.virtual_hosts ?? []) {
        // "/" without headers lands on the first route that matches everything.
        const catchAll = (vh.routes ?? []).find(
          (rt) => rt.match?.prefix === '/' && !rt.match.headers && !rt.match.query_parameters,
        );
        assert.ok(catchAll, `${vh.name} has no catch-all route`);
        for (const domain of vh.domains ?? []) {
          const authority = domain === '*' ? 'anything.example:1234' : domain;
          const m = r.table.match(request(authority, '/'));
          assert.ok(m, `${domain}: no route for /`);
          assert.equal(m.virtualHost, vh.name, domain);
          assert.equal(m.name, catchAll.name, domain);
          assert.ok(forward(m).pickCluster(0.5, request(authority)), domain);
        }
      }
    });
  }

  describe('outbound.default', () => {
    const t = table(golden('outbound.default'));

    it('routes GET /api/ to the api route, with its rewrites, timeout and retries', () => {
      const req = request('web:8080', '/api/users?id=7');
      const m = forward(t.match(req));
      assert.equal(m.name, 'api');
      assert.equal(m.virtualHost, `${WEB}:8080`);
      assert.equal(m.pickCluster(0.3, req), `outbound|8080||${WEB}`);
      assert.equal(rewritePath(m, req.path), '/users?id=7');
      assert.equal(m.hostRewrite, 'api.internal');
      assert.equal(m.matchedPrefix, '/api/');
      assert.equal(m.timeoutMs, 500);
      assert.ok(m.retry);
      assert.equal(m.retry.numRetries, 2);
      assert.equal(m.retry.perTryTimeoutMs, 200);
      assert.deepEqual([...m.retry.retriableStatusCodes], [503]);
      assert.deepEqual(m.hashPolicies, [{ header: 'x-user' }]);
    });

    it('matches the method through the :method header matcher', () => {
      assert.equal(t.match(request('web:8080', '/api/users', 'POST'))?.name, 'default');
      assert.equal(t.match(request('web', '/api/users', 'GET'))?.name, 'api');
    });

    it('matches the regex alternative with its header and query conditions', () => {
      const path = '/v2/things?q=abc&flag';
      assert.equal(t.match(request(WEB, path))?.name, 'api');
      // invert_match of present_match: x-debug must be absent.
      assert.equal(t.match(request(WEB, path, 'GET', { 'x-debug': '1' }))?.name, 'default');
      assert.equal(t.match(request(WEB, '/v2/things?q=xyz&flag'))?.name, 'default');
      assert.equal(t.match(request(WEB, '/v2/things?q=abc'))?.name, 'default');
      assert.equal(t.match(request(WEB, '/vx/things?q=abc&flag'))?.name, 'default');
    });

    it('routes the exact path to another service', () => {
      const req = request('web.default:8080', '/healthz');
      assert.equal(
        forward(t.match(req)).pickCluster(0, req),
        'outbound|8443||shop.shop.svc.cluster.local',
      );
      assert.equal(t.match(request('web.default:8080', '/healthz/more'))?.name, 'default');
    });

    it('sends the canary header to v2 and splits the rest 90/10', () => {
      const canary = request('echo', '/echo.Echo/Say', 'POST', { 'x-canary': 'true' });
      assert.equal(forward(t.match(canary)).pickCluster(0.01, canary), `outbound|50051|v2|${ECHO}`);
      const plain = request('echo:50051', '/echo.Echo/Say', 'POST');
      const split = forward(t.match(plain));
      assert.equal(split.name, 'split');
      const counts = new Map<string, number>();
      const n = 10_000;
      for (let i = 0; i < n; i++) {
        const c = split.pickCluster(i / n, plain)!;
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      assert.equal(counts.get(`outbound|50051|v1|${ECHO}`), 9000);
      assert.equal(counts.get(`outbound|50051|v2|${ECHO}`), 1000);
    });

    it('leaves a service without routes on the defaults', () => {
      const m = forward(t.match(request('shop.shop:8443', '/')));
      assert.equal(m.timeoutMs, 15_000);
      assert.equal(m.retry, undefined);
      assert.deepEqual(m.hashPolicies, []);
    });

    it('does not know hosts of other namespaces by their short name', () => {
      assert.equal(t.match(request('shop', '/')), undefined);
      assert.equal(t.match(request('shop:8443', '/')), undefined);
    });

    it('falls back to the port-less domain for an unlisted port', () => {
      // Only the first HTTP port lists port-less domains, so they own unknown ports.
      assert.equal(t.match(request('web:9999', '/'))?.virtualHost, `${WEB}:8080`);
      assert.equal(t.match(request('web:9090', '/'))?.virtualHost, `${WEB}:9090`);
    });
  });

  it('reads the inbound timeout of 0 as disabled', () => {
    const inbound = all.find((r) => r.name.startsWith('inbound|'));
    assert.ok(inbound);
    const m = forward(table(inbound.value).match(request('10.0.0.1:7000', '/x')));
    assert.equal(m.timeoutMs, 0);
    assert.equal(m.pickCluster(0.5, request('x')), inbound.name);
  });
});
