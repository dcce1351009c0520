import assert from 'node:assert/strict';
import { translateWorkload } from '../../../src/controlplane/translate/index.js';
import type { AuthorizationRule, MeshConfig } from '../../../src/mesh/index.js';
import {
  compileRbac,
  RbacConfigError,
  type RbacFilter,
  type RbacRequest,
} from '../../../src/proxy/rbac/index.js';
import { types } from '../../../src/xds/index.js';
import { fullMessageType } from '../../controlplane/translate/envoy-protos.js';

const TD = 'spiffe://cluster.local';
const WEB = `${TD}/ns/default/sa/web`;
const WEB_CANARY = `${TD}/ns/default/sa/web-canary`;
const TOOLS = `${TD}/ns/tools/sa/ci`;
const OTHER = `${TD}/ns/default/sa/other`;
const FOREIGN = 'spiffe://elsewhere/ns/tools/sa/ci';

function req(
  principal: string | undefined,
  method: string | undefined,
  path: string | undefined,
  port = 15006,
): RbacRequest {
  return { principal, method, path, port };
}

const RULES: AuthorizationRule[] = [
  {
    name: 'no-admin',
    action: 'DENY',
    from: [],
    to: [{ methods: [], paths: [{ prefix: '/admin/' }, { exact: '/admin' }], ports: [] }],
  },
  {
    name: 'no-delete-from-canary',
    action: 'DENY',
    from: [{ principals: [{ exact: WEB_CANARY }], namespaces: [] }],
    to: [{ methods: ['DELETE'], paths: [], ports: [] }],
  },
  {
    name: 'web',
    action: 'ALLOW',
    from: [{ principals: [{ exact: WEB }, { prefix: `${WEB}-` }], namespaces: [] }],
    to: [],
  },
  {
    name: 'tools-read',
    action: 'ALLOW',
    from: [{ principals: [], namespaces: ['tools'] }],
    to: [{ methods: ['GET', 'HEAD'], paths: [{ prefix: '/items' }], ports: [8080] }],
  },
];

/**
 * The RBAC filters of a sidecar in front of `api`, as the control plane translates the mesh
 * file's rules and as the sidecar decodes them (through the real protos).
 */
function translatedFilters(rules: AuthorizationRule[], tcp = false): RbacFilter[] {
  const config: MeshConfig = {
    mesh: { trustDomain: 'cluster.local', domain: 'cluster.local', mtls: 'PERMISSIVE' },
    services: [
      {
        name: 'api',
        namespace: 'default',
        hostname: 'api.default.svc.cluster.local',
        ports: [{ port: 8080, protocol: tcp ? 'tcp' : 'http', name: 'p' }],
        endpoints: [],
        policy: { loadBalancer: 'round_robin', connectTimeoutMs: 1000 },
        subsets: [],
        routes: [],
        authorization: rules,
      },
    ],
  };
  const t = translateWorkload(config, {
    id: 'x',
    service: 'api',
    namespace: 'default',
    labels: {},
    serviceAccount: 'api',
    address: '127.0.0.1',
    inboundPort: 15006,
    outboundPort: 15001,
    appPort: 8000,
    region: '',
    zone: '',
    health: 'HEALTHY',
  });
  const type = fullMessageType('envoy.config.listener.v3.Listener');
  const value = t.resources.listeners.find((l) => l.name === 'virtualInbound')?.value;
  const decoded = type.toObject(type.decode(type.encode(type.fromObject(value ?? {})).finish()), {
    enums: String,
    longs: Number,
    json: true,
  });
  const filters = decoded.filter_chains[0].filters;
  if (tcp)
    return filters
      .filter((f: { name: string }) => f.name === 'envoy.filters.network.rbac')
      .map((f: { typed_config: RbacFilter }) => f.typed_config);
  return filters[0].typed_config.http_filters
    .filter((f: { name: string }) => f.name === 'envoy.filters.http.rbac')
    .map((f: { typed_config: RbacFilter }) => f.typed_config);
}

describe('rbac: engine over translated mesh rules', () => {
  const filters = translatedFilters(RULES);
  const engine = compileRbac(filters);

  it('reads the filters the control plane emits', () => {
    assert.deepEqual(
      filters.map((f) => [f['@type'], f.rules?.action ?? 'ALLOW']),
      [
        [types.HTTP_RBAC, 'DENY'],
        [types.HTTP_RBAC, 'ALLOW'],
      ],
    );
  });

  // The allow/deny matrix: identity × method × path, with the rule that decided.
  const MATRIX: Array<[string | undefined, string, string, boolean, string | undefined]> = [
    [WEB, 'GET', '/items', true, 'api.default/web'],
    [WEB, 'DELETE', '/items/1', true, 'api.default/web'],
    [WEB_CANARY, 'POST', '/items', true, 'api.default/web'],
    [WEB_CANARY, 'DELETE', '/items/1', false, 'api.default/no-delete-from-canary'],
    [WEB, 'GET', '/admin/users', false, 'api.default/no-admin'],
    [WEB, 'GET', '/admin', false, 'api.default/no-admin'],
    [WEB, 'GET', '/admin?x=1', false, 'api.default/no-admin'],
    [WEB, 'GET', '/administrator', true, 'api.default/web'],
    [TOOLS, 'GET', '/items/7', true, 'api.default/tools-read'],
    [TOOLS, 'HEAD', '/items', true, 'api.default/tools-read'],
    [TOOLS, 'POST', '/items', false, undefined],
    [TOOLS, 'GET', '/other', false, undefined],
    [TOOLS, 'GET', '/admin/x', false, 'api.default/no-admin'],
    [OTHER, 'GET', '/items', false, undefined],
    [FOREIGN, 'GET', '/items', false, undefined],
    [undefined, 'GET', '/items', false, undefined],
    [undefined, 'GET', '/admin/', false, 'api.default/no-admin'],
  ];
  for (const [principal, method, path, allowed, policy] of MATRIX) {
    it(`${principal ?? 'plaintext'} ${method} ${path} → ${allowed ? 'allowed' : 'denied'} (${policy ?? 'no policy'})`, () => {
      assert.deepEqual(engine.evaluate(req(principal, method, path)), {
        allowed,
        ...(policy !== undefined ? { policy } : {}),
      });
    });
  }

  it('checks ports: a rule on service port 8080 holds on the sidecar inbound port only', () => {
    assert.equal(engine.evaluate(req(TOOLS, 'GET', '/items', 15006)).allowed, true);
    assert.equal(engine.evaluate(req(TOOLS, 'GET', '/items', 15007)).allowed, false);
  });

  it('returns decisions made at compile time: nothing is allocated per request', () => {
    const r = req(WEB, 'GET', '/items');
    assert.equal(engine.evaluate(r), engine.evaluate(r));
    assert.equal(
      engine.evaluate(req(OTHER, 'GET', '/x')),
      engine.evaluate(req(TOOLS, 'PUT', '/x')),
    );
  });

  it('allows everything with no filters, no rules, or a LOG filter', () => {
    for (const e of [
      compileRbac([]),
      compileRbac([{}]),
      compileRbac([{ rules: { action: 'LOG', policies: {} } }]),
    ]) {
      assert.equal(e.empty, true);
      assert.deepEqual(e.evaluate(req(undefined, 'GET', '/')), { allowed: true });
    }
  });

  it('with DENY rules only, allows what they do not match (default allow)', () => {
    const e = compileRbac(translatedFilters(RULES.filter((r) => r.action === 'DENY')));
    assert.deepEqual(e.evaluate(req(undefined, 'GET', '/items')), { allowed: true });
    assert.equal(e.evaluate(req(undefined, 'GET', '/admin/')).allowed, false);
  });

  it('an ALLOW filter without policies allows nothing', () => {
    const e = compileRbac([{ rules: { action: 'ALLOW', policies: {} } }]);
    assert.deepEqual(e.evaluate(req(WEB, 'GET', '/')), { allowed: false });
  });

  it('network RBAC: decides a connection by principal and port; HTTP conditions never match', () => {
    const filters = translatedFilters(
      [
        {
          name: 'web',
          action: 'ALLOW',
          from: [{ principals: [{ exact: WEB }], namespaces: [] }],
          to: [{ methods: [], paths: [], ports: [8080] }],
        },
      ],
      true,
    );
    assert.equal(filters[0]['@type'], types.NETWORK_RBAC);
    const e = compileRbac(filters);
    assert.deepEqual(e.evaluate(req(WEB, undefined, undefined)), {
      allowed: true,
      policy: 'api.default/web',
    });
    assert.equal(e.evaluate(req(OTHER, undefined, undefined)).allowed, false);
    assert.equal(e.evaluate(req(undefined, undefined, undefined)).allowed, false);
    const http = compileRbac([
      {
        rules: {
          action: 'ALLOW',
          policies: {
            p: {
              permissions: [{ url_path: { path: { prefix: '/' } } }],
              principals: [{ any: true }],
            },
          },
        },
      },
    ]);
    assert.equal(http.evaluate(req(WEB, undefined, undefined)).allowed, false);
  });
});

describe('rbac: Envoy matchers', () => {
  const allow = (permission: object, principal: object = { any: true }) =>
    compileRbac([
      {
        rules: {
          action: 'ALLOW',
          policies: { p: { permissions: [permission], principals: [principal] } },
        },
      },
    ]);
  const ok = (e: ReturnType<typeof allow>, r: RbacRequest) => e.evaluate(r).allowed;

  it('string matchers: suffix, contains, ignore_case, anchored safe_regex, all before the query', () => {
    const suffix = allow({ url_path: { path: { suffix: '.json' } } });
    assert.equal(ok(suffix, req(WEB, 'GET', '/a.json?x=.json')), true);
    assert.equal(ok(suffix, req(WEB, 'GET', '/a?x=.json')), false);
    const contains = allow({ url_path: { path: { contains: 'v2' } } });
    assert.equal(ok(contains, req(WEB, 'GET', '/api/v2/x')), true);
    assert.equal(ok(contains, req(WEB, 'GET', '/api?v2')), false);
    const lower = allow({ url_path: { path: { exact: '/Items', ignore_case: true } } });
    assert.equal(ok(lower, req(WEB, 'GET', '/ITEMS?q')), true);
    const regex = allow({ url_path: { path: { safe_regex: { regex: '/v[0-9]+/.*' } } } });
    assert.equal(ok(regex, req(WEB, 'GET', '/v12/a')), true);
    assert.equal(ok(regex, req(WEB, 'GET', '/x/v12/a')), false);
  });

  it('regression (issue 12): safe_regex runs on RE2, so (a+)+b on a long path answers, correctly', () => {
    const evil = allow({ url_path: { path: { safe_regex: { regex: '/(a+)+b' } } } });
    const as = 'a'.repeat(64 * 1024);
    assert.equal(ok(evil, req(WEB, 'GET', `/${as}c`)), false);
    assert.equal(ok(evil, req(WEB, 'GET', `/${as}b?q=1`)), true);
  });

  it('header :method (legacy and string_match, inverted), port ranges, not_rule, not_id', () => {
    const notGet = allow({ header: { name: ':method', exact_match: 'GET', invert_match: true } });
    assert.equal(ok(notGet, req(WEB, 'POST', '/')), true);
    assert.equal(ok(notGet, req(WEB, 'GET', '/')), false);
    const range = allow({ destination_port_range: { start: 8000, end: 8010 } });
    assert.equal(ok(range, req(WEB, 'GET', '/', 8009)), true);
    assert.equal(ok(range, req(WEB, 'GET', '/', 8010)), false);
    const notAdmin = allow({ not_rule: { url_path: { path: { prefix: '/admin' } } } });
    assert.equal(ok(notAdmin, req(WEB, 'GET', '/a')), true);
    assert.equal(ok(notAdmin, req(WEB, 'GET', '/admin')), false);
    const notWeb = allow(
      { any: true },
      { not_id: { authenticated: { principal_name: { exact: WEB } } } },
    );
    assert.equal(ok(notWeb, req(OTHER, 'GET', '/')), true);
    assert.equal(ok(notWeb, req(WEB, 'GET', '/')), false);
    const anyPeer = allow({ any: true }, { authenticated: {} });
    assert.equal(ok(anyPeer, req(OTHER, 'GET', '/')), true);
    assert.equal(ok(anyPeer, req(undefined, 'GET', '/')), false);
  });

  it('tries policies in lexicographic order of their names, as Envoy', () => {
    const e = compileRbac([
      {
        rules: {
          action: 'DENY',
          policies: {
            zeta: { permissions: [{ any: true }], principals: [{ any: true }] },
            alpha: { permissions: [{ any: true }], principals: [{ any: true }] },
          },
        },
      },
    ]);
    assert.deepEqual(e.evaluate(req(WEB, 'GET', '/')), { allowed: false, policy: 'alpha' });
  });
});

describe('rbac: bad config is refused with the field named', () => {
  const compile = (permission: object, principal: object = { any: true }, extra: object = {}) =>
    compileRbac(
      [
        {
          rules: {
            action: 'DENY',
            policies: { p: { permissions: [permission], principals: [principal], ...extra } },
          },
        },
      ],
      'http_filters[0].typed_config',
    );
  const CASES: Array<[string, () => unknown, string]> = [
    [
      'an unsupported permission',
      () => compile({ destination_ip: { address_prefix: '10.0.0.0' } }),
      'http_filters[0].typed_config.rules.policies["p"].permissions[0].destination_ip',
    ],
    [
      'an unsupported principal',
      () => compile({ any: true }, { remote_ip: {} }),
      'http_filters[0].typed_config.rules.policies["p"].principals[0].remote_ip',
    ],
    [
      'two members of a oneof',
      () => compile({ any: true, destination_port: 80 }),
      'http_filters[0].typed_config.rules.policies["p"].permissions[0]',
    ],
    [
      'an empty and_rules',
      () => compile({ and_rules: { rules: [] } }),
      'http_filters[0].typed_config.rules.policies["p"].permissions[0].and_rules.rules',
    ],
    [
      'a bad regex',
      () => compile({ url_path: { path: { safe_regex: { regex: '(' } } } }),
      'http_filters[0].typed_config.rules.policies["p"].permissions[0].url_path.path.safe_regex.regex',
    ],
    [
      'a header the sidecar cannot see',
      () => compile({ header: { name: 'x-user', exact_match: 'a' } }),
      'http_filters[0].typed_config.rules.policies["p"].permissions[0].header.name',
    ],
    [
      'a CEL condition',
      () => compile({ any: true }, { any: true }, { condition: {} }),
      'http_filters[0].typed_config.rules.policies["p"].condition',
    ],
    [
      'a port out of range',
      () => compile({ destination_port: 70000 }),
      'http_filters[0].typed_config.rules.policies["p"].permissions[0].destination_port',
    ],
    [
      'no principals',
      () => compileRbac([{ rules: { policies: { p: { permissions: [{ any: true }] } } } }]),
      'rbac.rules.policies["p"].principals',
    ],
    [
      'an unknown action',
      // Not an RBAC.Action name: only a hand-made object can carry one.
      () => compileRbac([{ rules: { action: 'AUDIT' as never } }]),
      'rbac.rules.action',
    ],
    ['the matcher API', () => compileRbac([{ matcher: {} }]), 'rbac.matcher'],
  ];
  for (const [what, run, field] of CASES) {
    it(what, () => {
      assert.throws(run, (err: unknown) => {
        assert.ok(err instanceof RbacConfigError, String(err));
        assert.equal(err.code, 'FERRY_RBAC_INVALID_CONFIG');
        assert.equal(err.field, field);
        assert.ok(err.message.startsWith(`${field}: `), err.message);
        return true;
      });
    });
  }
});
