import assert from 'node:assert/strict';
import { translateMesh, translateWorkload } from '../../../src/controlplane/translate/index.js';
import type { MeshConfig, Route, ServicePolicy } from '../../../src/mesh/index.js';
import { FilterConfigError } from '../../../src/proxy/fault/index.js';
import {
  compileLocalRateLimit,
  limitedStatus,
  TokenBucket,
} from '../../../src/proxy/ratelimit/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { fullMessageType } from '../../controlplane/translate/envoy-protos.js';

const LIMIT = 'envoy.filters.http.local_ratelimit';
const NEVER_RANDOM = () => assert.fail('random is not read when enabled and enforced are 100%');
type Loose = Record<string, never> & Record<string, unknown>;

function decode(typeName: string, value: object): Loose {
  const type = fullMessageType(typeName);
  return type.toObject(type.decode(type.encode(type.fromObject(value)).finish()), {
    enums: String,
    longs: Number,
    json: true,
  }) as Loose;
}

function mesh(policy: Partial<ServicePolicy>, routes: Route[] = []): MeshConfig {
  return {
    mesh: { trustDomain: 'cluster.local', domain: 'cluster.local', mtls: 'DISABLE' },
    services: [
      {
        name: 'api',
        namespace: 'default',
        hostname: 'api.default.svc.cluster.local',
        ports: [{ port: 8080, protocol: 'http', name: 'http' }],
        endpoints: [],
        policy: { loadBalancer: 'round_robin', connectTimeoutMs: 1000, ...policy },
        subsets: [],
        routes,
      },
    ],
  };
}

const WORKLOAD = {
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
  health: 'HEALTHY' as const,
};

/** The HTTP filters of a sidecar listener, decoded through the real protos. */
function httpFilters(
  config: MeshConfig,
  listener: string,
): Array<{ name: string; typed_config: envoy.Typed<envoy.LocalRateLimit> }> {
  const value = translateWorkload(config, WORKLOAD).resources.listeners.find(
    (l) => l.name === listener,
  )?.value;
  const decoded = decode('envoy.config.listener.v3.Listener', value ?? {}) as Loose & {
    filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: [] } }> }>;
  };
  return decoded.filter_chains[0].filters[0].typed_config.http_filters;
}

describe('ratelimit: token bucket', () => {
  it('starts full, refuses when empty, and refills per whole fill interval', () => {
    const b = new TokenBucket(3, 2, 1000, 5000);
    assert.deepEqual(
      [1, 2, 3, 4].map(() => b.tryTake(5000)),
      [true, true, true, false],
    );
    assert.equal(b.tryTake(5999), false, 'one millisecond early: nothing yet');
    assert.equal(b.tryTake(6000), true, 'two tokens at the interval');
    assert.equal(b.tryTake(6500), true);
    assert.equal(b.tryTake(6999), false);
  });

  it('holds at most max tokens after a long idle spell, and keeps its fill schedule', () => {
    const b = new TokenBucket(5, 2, 100, 0);
    for (let i = 0; i < 5; i++) assert.ok(b.tryTake(0));
    let taken = 0;
    while (b.tryTake(10_050)) taken++;
    assert.equal(taken, 5, 'capped at max_tokens, not 200 fills');
    // The last fill was at 10 000, so the next is at 10 100, not 10 150.
    assert.equal(b.tryTake(10_099), false);
    assert.equal(b.tryTake(10_100), true);
  });

  it('refills nothing when the clock goes back', () => {
    const b = new TokenBucket(1, 1, 100, 1000);
    assert.ok(b.tryTake(1000));
    assert.equal(b.tryTake(500), false);
    assert.equal(b.tryTake(1100), true);
  });
});

describe('ratelimit: limits the control plane translates', () => {
  it('inbound service limit: 100/s with burst 20 lets 120 through, then 100 a second', () => {
    const config = mesh({ rateLimit: { requestsPerUnit: 100, unit: 'second', burst: 20 } });
    const filter = httpFilters(config, 'virtualInbound').find((f) => f.name === LIMIT);
    assert.ok(filter, 'the inbound HCM has the local rate limit filter');
    const limiter = compileLocalRateLimit(filter.typed_config, 0);
    assert.ok(limiter);
    assert.equal(limiter.status, 429);
    assert.equal(limiter.statPrefix, 'inbound_local_rate_limit');
    const passed = (now: number, n: number) => {
      let ok = 0;
      for (let i = 0; i < n; i++) if (limiter.allow(now, NEVER_RANDOM)) ok++;
      return ok;
    };
    assert.equal(passed(0, 200), 120);
    assert.equal(passed(999, 10), 0);
    assert.equal(passed(1000, 200), 100);
    assert.equal(passed(60_000, 200), 120, 'a quiet minute refills to the burst, no more');
  });

  it('route limit: a FilterConfig-wrapped bucket; the outbound filter itself has none', () => {
    const routes: Route[] = [
      {
        name: 'search',
        match: [],
        backends: [],
        rateLimit: { requestsPerUnit: 2, unit: 'minute', burst: 0 },
      },
    ];
    const config = mesh({}, routes);
    const outbound = httpFilters(config, 'virtualOutbound').find((f) => f.name === LIMIT);
    assert.ok(outbound);
    assert.equal(compileLocalRateLimit(outbound.typed_config, 0), undefined);

    const rc = translateMesh(config).resources.routes.find((r) => r.name === 'outbound.default');
    const decoded = decode('envoy.config.route.v3.RouteConfiguration', rc?.value ?? {}) as Loose & {
      virtual_hosts: Array<{ routes: Array<{ typed_per_filter_config?: Record<string, object> }> }>;
    };
    const perRoute = decoded.virtual_hosts[0].routes[0].typed_per_filter_config?.[LIMIT];
    assert.ok(perRoute);
    const limiter = compileLocalRateLimit(perRoute, 0);
    assert.ok(limiter);
    assert.equal(
      limiter.statPrefix,
      'route_local_rate_limit.api.default.svc.cluster.local:8080/search',
    );
    assert.deepEqual(
      [0, 1, 2].map(() => limiter.allow(10, NEVER_RANDOM)),
      [true, true, false],
    );
    assert.equal(limiter.allow(59_999, NEVER_RANDOM), false);
    assert.equal(limiter.allow(60_000, NEVER_RANDOM), true);
  });
});

describe('ratelimit: Envoy semantics of the other fields', () => {
  const bucket = { max_tokens: 1, fill_interval: { seconds: 1 } };
  const full = { default_value: { numerator: 100, denominator: 'HUNDRED' as const } };

  it('not enabled (absent, Envoy safe default 0%): every request passes', () => {
    const l = compileLocalRateLimit({ stat_prefix: 's', token_bucket: bucket }, 0);
    assert.ok(l);
    for (let i = 0; i < 5; i++) assert.ok(l.allow(0, NEVER_RANDOM));
    assert.equal(l.bucket.available, 1, 'no token was taken');
  });

  it('enforced for half: over the limit, the roll decides', () => {
    const l = compileLocalRateLimit(
      {
        stat_prefix: 's',
        token_bucket: bucket,
        filter_enabled: full,
        filter_enforced: { default_value: { numerator: 50 } },
      },
      0,
    );
    assert.ok(l);
    assert.equal(l.allow(0, NEVER_RANDOM), true, 'a token: no roll');
    assert.equal(
      l.allow(0, () => 0.2),
      false,
    );
    assert.equal(
      l.allow(0, () => 0.7),
      true,
    );
  });

  it('answers with the configured error status, 429 when below 400 or absent', () => {
    assert.equal(limitedStatus('ServiceUnavailable'), 503);
    assert.equal(limitedStatus(503), 503);
    assert.equal(limitedStatus('OK'), 429);
    assert.equal(limitedStatus(200), 429);
    assert.equal(limitedStatus(undefined), 429);
  });

  const BAD: Array<[string, envoy.Typed<envoy.LocalRateLimit>, string]> = [
    [
      'a fill interval under 50ms',
      { stat_prefix: 's', token_bucket: { max_tokens: 1, fill_interval: { nanos: 10_000_000 } } },
      'LocalRateLimit.token_bucket.fill_interval',
    ],
    [
      'no fill interval',
      { stat_prefix: 's', token_bucket: { max_tokens: 1 } },
      'LocalRateLimit.token_bucket.fill_interval',
    ],
    [
      'zero max tokens',
      { stat_prefix: 's', token_bucket: { max_tokens: 0, fill_interval: { seconds: 1 } } },
      'LocalRateLimit.token_bucket.max_tokens',
    ],
    [
      'zero tokens per fill',
      {
        stat_prefix: 's',
        token_bucket: {
          max_tokens: 1,
          tokens_per_fill: { value: 0 },
          fill_interval: { seconds: 1 },
        },
      },
      'LocalRateLimit.token_bucket.tokens_per_fill',
    ],
    ['no stat prefix', { token_bucket: bucket }, 'LocalRateLimit.stat_prefix'],
    ['descriptors', { stat_prefix: 's', descriptors: [{}] }, 'LocalRateLimit.descriptors'],
    [
      'another type',
      { '@type': 'type.googleapis.com/x.Y', stat_prefix: 's' },
      'LocalRateLimit.@type',
    ],
  ];
  it('refuses a typed config it could not decode instead of reading it as no limit', () => {
    // Regression: an undecoded Any ({ type_url, value }) used to compile as a LocalRateLimit
    // without fields, refused only for its missing stat_prefix, and not for what it is.
    assert.throws(
      () => compileLocalRateLimit({ type_url: 'type.googleapis.com/x.Unknown', value: '' }, 0),
      (err: unknown) =>
        err instanceof FilterConfigError &&
        err.field === 'LocalRateLimit.@type' &&
        /could not be decoded/.test(err.message),
    );
  });

  for (const [what, config, field] of BAD) {
    it(`refuses ${what}, naming ${field}`, () => {
      assert.throws(
        () => compileLocalRateLimit(config, 0),
        (err: unknown) =>
          err instanceof FilterConfigError &&
          err.field === field &&
          err.code === 'FERRY_FILTER_INVALID_CONFIG',
      );
    });
  }
});
