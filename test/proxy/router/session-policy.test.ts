/**
 * Stateful sessions in the proxy's router: the per-route config the control plane writes for
 * a sessionPersistence (encoded and decoded by the real codec) compiles into the route's
 * session policy, routes without one have none, bad configs are refused with their route
 * named, and the session value is Envoy's (base64 of `address:port`, the example of Envoy's
 * cookie.proto), with an expiry when the cookie has a ttl.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { translateGateway } from '../../../src/controlplane/translate/index.js';
import {
  compileRouteTable,
  type ForwardRoute,
  type SessionPolicy,
  sessionHostKey,
  writeSession,
} from '../../../src/proxy/router/index.js';
import { compileSessionPolicy } from '../../../src/proxy/router/session-policy.js';
import { decodeResource, encodeResource, typed, types } from '../../../src/xds/index.js';
import { gateway, HTTP_LISTENER, httpRoute, meshOf } from '../../gatewayapi/support.js';

/** The gateway's route table for these rules, through the wire and the route compiler. */
function table(rules: string) {
  const t = translateGateway(
    meshOf(
      gateway(HTTP_LISTENER) +
        httpRoute('web', `      parentRefs: [{ name: gw }]\n      rules:\n${rules}`),
    ),
    'default/gw',
  );
  const rc = t.resources.routes.find((r) => r.name === 'gateway~80')!.value;
  const decoded = decodeResource(types.ROUTE, encodeResource(types.ROUTE, rc));
  const compiled = compileRouteTable(decoded as object);
  assert.ok(compiled.ok, compiled.ok ? '' : compiled.error);
  return compiled.table;
}

function forward(t: ReturnType<typeof table>, path: string): ForwardRoute {
  const r = t.match({ authority: 'x', path, method: 'GET', headers: {} });
  assert.ok(r && r.kind === 'forward');
  return r;
}

const COOKIE: SessionPolicy = { kind: 'cookie', name: 'sticky-host', path: '/', ttlMs: undefined };

describe('router: stateful sessions', () => {
  it('compiles the control plane’s per-route config; a route without one has no session', () => {
    const t = table(`        - matches: [{ path: { type: PathPrefix, value: /cart } }]
          backendRefs: [{ name: api, port: 8080 }]
          sessionPersistence: { sessionName: cart, absoluteTimeout: 30m, cookieConfig: { lifetimeType: Permanent } }
        - matches: [{ path: { type: PathPrefix, value: /h } }]
          backendRefs: [{ name: api, port: 8080 }]
          sessionPersistence: { sessionName: X-Session, type: Header }
        - backendRefs: [{ name: api, port: 8080 }]
`);
    assert.deepEqual(forward(t, '/cart/1').session, {
      kind: 'cookie',
      name: 'cart',
      path: '/cart',
      ttlMs: 1_800_000,
    });
    assert.deepEqual(forward(t, '/h').session, {
      kind: 'header',
      name: 'x-session',
      path: '/',
      ttlMs: undefined,
    });
    assert.equal(forward(t, '/other').session, undefined);
  });

  it('writes the value Envoy writes: base64 of address:port (cookie.proto’s own example)', () => {
    const headers: Record<string, string | string[] | undefined> = {};
    writeSession(COOKIE, headers, '1.2.3.4:80', 0);
    assert.equal(headers['set-cookie'], 'sticky-host="MS4yLjMuNDo4MA=="; Path=/; HttpOnly');
    const back = sessionHostKey(COOKIE, { cookie: 'a=1; sticky-host="MS4yLjMuNDo4MA=="' }, 0);
    assert.equal(back, '1.2.3.4:80');
    // The upstream's own cookies stay.
    const own: Record<string, string | string[] | undefined> = { 'set-cookie': 'app=1' };
    writeSession(COOKIE, own, '[::1]:8080', 0);
    assert.deepEqual(own['set-cookie'], [
      'app=1',
      'sticky-host="Wzo6MV06ODA4MA=="; Path=/; HttpOnly',
    ]);
  });

  it('a header session: the value in the header, both ways', () => {
    const policy: SessionPolicy = {
      kind: 'header',
      name: 'x-session',
      path: '/',
      ttlMs: undefined,
    };
    const headers: Record<string, string | string[] | undefined> = {};
    writeSession(policy, headers, '10.0.0.1:8080', 0);
    assert.equal(headers['x-session'], 'MTAuMC4wLjE6ODA4MA==');
    assert.equal(
      sessionHostKey(policy, { 'x-session': 'MTAuMC4wLjE6ODA4MA==' }, 0),
      '10.0.0.1:8080',
    );
  });

  it('a cookie with a ttl carries its expiry, Max-Age is set, and an expired value is ignored', () => {
    const policy: SessionPolicy = { ...COOKIE, ttlMs: 60_000 };
    const headers: Record<string, string | string[] | undefined> = {};
    const now = 1_700_000_000_000;
    writeSession(policy, headers, '10.0.0.1:8080', now);
    const cookie = String(headers['set-cookie']);
    assert.match(cookie, /; Max-Age=60; Path=\/; HttpOnly$/);
    const value = /"([^"]+)"/.exec(cookie)![1]!;
    assert.deepEqual(JSON.parse(Buffer.from(value, 'base64').toString()), {
      address: '10.0.0.1:8080',
      expires: 1_700_000_060,
    });
    const sent = { cookie: `sticky-host=${value}` };
    assert.equal(sessionHostKey(policy, sent, now + 59_000), '10.0.0.1:8080');
    assert.equal(sessionHostKey(policy, sent, now + 60_000), undefined);
  });

  it('a value that is not ours names no host (the balancer picks), without throwing', () => {
    for (const cookie of [
      'sticky-host=',
      'sticky-host=%%%',
      `sticky-host=${Buffer.from('{"address":').toString('base64')}`,
      `sticky-host=${Buffer.from('{"address":5}').toString('base64')}`,
      `sticky-host=${'A'.repeat(600)}`,
      'other=MS4yLjMuNDo4MA==',
    ]) {
      assert.equal(sessionHostKey(COOKIE, { cookie }, 0), undefined, cookie);
    }
    assert.equal(sessionHostKey(COOKIE, {}, 0), undefined);
  });

  it('refuses strict sessions, unknown session states and an empty override, naming the route', () => {
    const perRoute = (value: object) =>
      typed(
        types.STATEFUL_SESSION_PER_ROUTE.slice(types.STATEFUL_SESSION_PER_ROUTE.indexOf('/') + 1),
        value,
      );
    const cookieState = {
      name: 'envoy.http.stateful_session.cookie',
      typed_config: typed(
        'envoy.extensions.http.stateful_session.cookie.v3.CookieBasedSessionState',
        {
          cookie: { name: 'c' },
        },
      ),
    };
    const cases: [object, RegExp][] = [
      [
        perRoute({ stateful_session: { session_state: cookieState, strict: true } }),
        /strict sessions are not supported/,
      ],
      [perRoute({}), /needs disabled or stateful_session/],
      [
        perRoute({
          stateful_session: {
            session_state: {
              name: 'x',
              typed_config: typed('envoy.extensions.filters.http.router.v3.Router', {}),
            },
          },
        }),
        /is not a cookie or header session state/,
      ],
      [
        typed('envoy.extensions.filters.http.router.v3.Router', {}),
        /is .*Router, not .*StatefulSessionPerRoute/,
      ],
    ];
    for (const [config, message] of cases) {
      const errors: string[] = [];
      assert.equal(compileSessionPolicy(config, 'route "r"', errors), undefined);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0]!, /^route "r": envoy\.filters\.http\.stateful_session: /);
      assert.match(errors[0]!, message);
    }
    const errors: string[] = [];
    assert.equal(compileSessionPolicy(perRoute({ disabled: true }), 'r', errors), undefined);
    assert.deepEqual(errors, []);
  });
});
