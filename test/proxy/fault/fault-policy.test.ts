import assert from 'node:assert/strict';
import { translateMesh } from '../../../src/controlplane/translate/index.js';
import type { MeshConfig, Service } from '../../../src/mesh/index.js';
import { compileFault, FilterConfigError } from '../../../src/proxy/fault/index.js';
import { decodeResource, encodeResource, type envoy, types } from '../../../src/xds/index.js';
import { fullMessageType } from '../../controlplane/translate/envoy-protos.js';

const HTTP_FAULT = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
const FAULT_FILTER = 'envoy.filters.http.fault';

/** A random source that returns these numbers in turn. */
function rolls(...values: number[]): () => number {
  let i = 0;
  return () => {
    assert.ok(i < values.length, 'random called more often than expected');
    return values[i++];
  };
}

const NO_HEADERS = {};

/**
 * The per-route faults of `api`'s routes as the control plane translates them and as the
 * sidecar decodes them (through the real protos), by route name.
 */
function translatedFaults(
  s: Partial<Service>,
): Array<[string, envoy.Typed<envoy.HttpFault> | undefined]> {
  const config: MeshConfig = {
    mesh: { trustDomain: 'cluster.local', domain: 'cluster.local', mtls: 'PERMISSIVE' },
    services: [
      {
        name: 'api',
        namespace: 'default',
        hostname: 'api.default.svc.cluster.local',
        ports: [{ port: 8080, protocol: 'http', name: 'http' }],
        endpoints: [],
        policy: { loadBalancer: 'round_robin', connectTimeoutMs: 1000 },
        subsets: [],
        routes: [],
        ...s,
      },
    ],
  };
  const value = translateMesh(config).resources.routes.find(
    (r) => r.name === 'outbound.default',
  )?.value;
  const type = fullMessageType('envoy.config.route.v3.RouteConfiguration');
  const decoded = type.toObject(type.decode(type.encode(type.fromObject(value ?? {})).finish()), {
    enums: String,
    longs: Number,
    json: true,
  });
  return decoded.virtual_hosts[0].routes.map(
    (r: {
      name: string;
      typed_per_filter_config?: Record<string, envoy.Typed<envoy.HttpFault>>;
    }) => [r.name, r.typed_per_filter_config?.[FAULT_FILTER]],
  );
}

describe('fault: decisions from translated mesh faults', () => {
  const [[, fault]] = translatedFaults({
    policy: {
      loadBalancer: 'round_robin',
      connectTimeoutMs: 1000,
      fault: {
        delay: { fixedDelayMs: 1500, percentage: 0.5 },
        abort: { httpStatus: 503, percentage: 12.25 },
        headers: [],
      },
    },
  });
  const policy = compileFault(fault ?? {});

  it('reads the HTTPFault the control plane emits', () => {
    assert.equal(fault?.['@type'], HTTP_FAULT);
  });

  it('delays 0.5% and aborts 12.25%, each on its own roll, exactly at the boundaries', () => {
    // Per million: delay below 5000, abort below 122500.
    assert.deepEqual(policy.decide(NO_HEADERS, rolls(0.004999, 0.9)), { delayMs: 1500 });
    assert.equal(policy.decide(NO_HEADERS, rolls(0.005, 0.1225)), undefined);
    assert.deepEqual(policy.decide(NO_HEADERS, rolls(0.005, 0.122499)), {
      delayMs: 0,
      abort: { httpStatus: 503 },
    });
    assert.deepEqual(policy.decide(NO_HEADERS, rolls(0, 0)), {
      delayMs: 1500,
      abort: { httpStatus: 503 },
    });
  });

  it('hits exactly its share of evenly spread rolls (10% of 1000 is 100)', () => {
    const tenPercent = compileFault({
      delay: { fixed_delay: { seconds: 0, nanos: 100_000_000 }, percentage: { numerator: 10 } },
    });
    let delayed = 0;
    for (let i = 0; i < 1000; i++) {
      if (tenPercent.decide(NO_HEADERS, () => i / 1000)?.delayMs === 100) delayed++;
    }
    assert.equal(delayed, 100);
  });

  it('returns the same decision object every time: nothing is allocated per request', () => {
    const a = policy.decide(NO_HEADERS, rolls(0, 0));
    const b = policy.decide(NO_HEADERS, rolls(0, 0));
    assert.equal(a, b);
    assert.ok(Object.isFrozen(a));
  });

  it('a route fault with a gRPC status, on the header-split route only', () => {
    const faults = translatedFaults({
      routes: [
        {
          name: 'chaos',
          match: [],
          backends: [],
          fault: {
            abort: { grpcStatus: 14, percentage: 100 },
            headers: [{ name: 'x-fault', match: { exact: 'on' }, invert: false }],
          },
        },
      ],
    });
    assert.deepEqual(
      faults.map(([name, f]) => [name, f !== undefined]),
      [
        ['chaos', true],
        ['chaos', false],
        ['default', false],
      ],
    );
    const decision = compileFault(faults[0][1] ?? {}).decide(NO_HEADERS, rolls(0.99));
    assert.deepEqual(decision, { delayMs: 0, abort: { grpcStatus: 14 } });
  });
});

describe('fault: header conditions (HTTPFault.headers)', () => {
  const abortAll = { http_status: 503, percentage: { numerator: 100 } };
  const when = (headers: envoy.HttpFault['headers']) => compileFault({ abort: abortAll, headers });
  const hits = (p: ReturnType<typeof compileFault>, h: Record<string, string | string[]>) =>
    p.decide(h, () => 0) !== undefined;

  it('needs every header to match; names are case-insensitive', () => {
    const p = when([
      { name: 'X-Fault', string_match: { exact: 'on' } },
      { name: 'x-user', string_match: { prefix: 'test-' } },
    ]);
    assert.equal(hits(p, { 'x-fault': 'on', 'x-user': 'test-1' }), true);
    assert.equal(hits(p, { 'x-fault': 'on', 'x-user': 'prod-1' }), false);
    assert.equal(hits(p, { 'x-fault': 'off', 'x-user': 'test-1' }), false);
    assert.equal(hits(p, { 'x-user': 'test-1' }), false);
  });

  it('presence, absence, inversion and missing headers as Envoy treats them', () => {
    assert.equal(hits(when([{ name: 'x-a', present_match: true }]), { 'x-a': '' }), true);
    assert.equal(hits(when([{ name: 'x-a', present_match: true }]), {}), false);
    assert.equal(hits(when([{ name: 'x-a', present_match: false }]), {}), true);
    const notOn = when([{ name: 'x-a', string_match: { exact: 'on' }, invert_match: true }]);
    assert.equal(hits(notOn, { 'x-a': 'off' }), true);
    assert.equal(hits(notOn, { 'x-a': 'on' }), false);
    // An inverted value matcher does not match a missing header...
    assert.equal(hits(notOn, {}), false);
    // ...unless missing counts as empty.
    const empty = when([
      {
        name: 'x-a',
        string_match: { exact: 'on' },
        invert_match: true,
        treat_missing_header_as_empty: true,
      },
    ]);
    assert.equal(hits(empty, {}), true);
  });

  it('joins a repeated header with commas; regexes match the whole value; ignore_case', () => {
    assert.equal(
      hits(when([{ name: 'x-a', string_match: { exact: 'a,b' } }]), { 'x-a': ['a', 'b'] }),
      true,
    );
    const re = when([{ name: 'x-a', string_match: { safe_regex: { regex: 'o[nf]+' } } }]);
    assert.equal(hits(re, { 'x-a': 'off' }), true);
    assert.equal(hits(re, { 'x-a': 'xoff' }), false);
    const ci = when([{ name: 'x-a', string_match: { exact: 'ON', ignore_case: true } }]);
    assert.equal(hits(ci, { 'x-a': 'on' }), true);
    assert.equal(hits(when([{ name: 'x-a', exact_match: 'on' }]), { 'x-a': 'on' }), true);
  });

  it('does not roll the dice for a request the headers exclude', () => {
    const p = when([{ name: 'x-fault', string_match: { exact: 'on' } }]);
    assert.equal(p.decide({}, rolls()), undefined);
  });
});

describe('fault: configs that inject nothing, and bad configs', () => {
  it('an empty HTTPFault (the listener-level filter) and a disabled FilterConfig', () => {
    assert.equal(compileFault({ '@type': HTTP_FAULT }).decide({}, rolls()), undefined);
    const disabled = compileFault({
      '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
      disabled: true,
    });
    assert.equal(disabled.decide({}, rolls()), undefined);
  });

  it('an absent percentage is 0%, as proto3 and Envoy read it', () => {
    const p = compileFault({ abort: { http_status: 500 } });
    assert.equal(
      p.decide({}, () => 0),
      undefined,
    );
  });

  it('reads a fault wrapped in a FilterConfig', () => {
    const p = compileFault({
      '@type': 'type.googleapis.com/envoy.config.route.v3.FilterConfig',
      config: {
        '@type': HTTP_FAULT,
        abort: { http_status: 429, percentage: { numerator: 1, denominator: 'HUNDRED' } },
      } as object,
    });
    assert.deepEqual(
      p.decide({}, () => 0),
      { delayMs: 0, abort: { httpStatus: 429 } },
    );
  });

  const BAD: Array<[string, envoy.Typed<envoy.HttpFault>, string]> = [
    ['an HTTP status out of range', { abort: { http_status: 700 } }, 'HTTPFault.abort.http_status'],
    ['both statuses', { abort: { http_status: 503, grpc_status: 14 } }, 'HTTPFault.abort'],
    ['no status', { abort: { percentage: { numerator: 1 } } }, 'HTTPFault.abort'],
    ['a zero delay', { delay: { fixed_delay: { seconds: 0 } } }, 'HTTPFault.delay.fixed_delay'],
    ['a header delay', { delay: { header_delay: {} } }, 'HTTPFault.delay.header_delay'],
    ['a header abort', { abort: { header_abort: {} } }, 'HTTPFault.abort.header_abort'],
    ['upstream_cluster', { upstream_cluster: 'c', abort: {} }, 'HTTPFault.upstream_cluster'],
    [
      'max_active_faults',
      { max_active_faults: { value: 1 }, abort: {} },
      'HTTPFault.max_active_faults',
    ],
    [
      'a bad denominator',
      // biome-ignore lint/suspicious/noExplicitAny: a value the type does not allow, on purpose.
      { abort: { http_status: 503, percentage: { numerator: 1, denominator: 'THOUSAND' as any } } },
      'HTTPFault.abort.percentage.denominator',
    ],
    [
      'a bad regex',
      {
        abort: { http_status: 503 },
        headers: [{ name: 'x', string_match: { safe_regex: { regex: '(' } } }],
      },
      'HTTPFault.headers[0].string_match.safe_regex.regex',
    ],
    [
      'a header matcher without a name',
      { abort: { http_status: 503 }, headers: [{ present_match: true }] },
      'HTTPFault.headers[0].name',
    ],
    ['another type', { '@type': 'type.googleapis.com/x.Y' }, 'HTTPFault.@type'],
  ];
  it('refuses a typed config it could not decode instead of reading it as no fault', () => {
    // Regression: an Any of a type the protos do not have decodes as { type_url, value } and
    // used to compile as an empty HTTPFault (no fault, no error).
    const unknown = { type_url: 'type.googleapis.com/x.Unknown', value: '' };
    const rc = decodeResource<envoy.RouteConfiguration>(
      types.ROUTE,
      encodeResource(types.ROUTE, {
        name: 'rc',
        virtual_hosts: [
          {
            name: 'vh',
            domains: ['*'],
            routes: [
              {
                match: { prefix: '/' },
                route: { cluster: 'c' },
                typed_per_filter_config: {
                  plain: unknown,
                  wrapped: { '@type': types.FILTER_CONFIG, config: unknown },
                },
              },
            ],
          },
        ],
      }),
    );
    const perRoute = rc.virtual_hosts?.[0]?.routes?.[0]?.typed_per_filter_config ?? {};
    assert.throws(
      () => compileFault(perRoute.plain!),
      (err: unknown) =>
        err instanceof FilterConfigError &&
        err.field === 'HTTPFault.@type' &&
        /could not be decoded \(type type\.googleapis\.com\/x\.Unknown\)/.test(err.message),
    );
    assert.throws(
      () => compileFault(perRoute.wrapped!),
      (err: unknown) =>
        err instanceof FilterConfigError && err.field === 'FilterConfig.config.@type',
    );
  });

  for (const [what, config, field] of BAD) {
    it(`refuses ${what}, naming ${field}`, () => {
      assert.throws(
        () => compileFault(config),
        (err: unknown) =>
          err instanceof FilterConfigError &&
          err.field === field &&
          err.code === 'FERRY_FILTER_INVALID_CONFIG' &&
          err.message.startsWith(`${field}: `),
      );
    });
  }
});
