/**
 * Fault injection and local rate limits: where the filters go, what the per-route configs
 * say, and that proxyless gRPC (grpc-js-xds) reads the faults as Envoy would.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { translateMesh, translateWorkload } from '../../../src/controlplane/translate/index.js';
import type { FaultInjection, Service } from '../../../src/mesh/index.js';
import { fullMessageType } from './envoy-protos.js';
import { FIXTURE_MESH, mesh, policy, route, service, workload } from './mesh-fixture.js';
import { get, type Loose } from './resource-helpers.js';

const FAULT = 'envoy.filters.http.fault';
const RATE_LIMIT = 'envoy.filters.http.local_ratelimit';
const API = 'api.default.svc.cluster.local:8080';

const ON: FaultInjection['headers'] = [{ name: 'x-fault', match: { exact: 'on' }, invert: false }];

function api(extra: Partial<Service> = {}): Service {
  return service('api', 'default', [[8080, 'http']], extra);
}

function outboundRoutes(s: Service): Loose[] {
  const config = get(translateMesh(mesh(s)).resources.routes, 'outbound.default');
  return config.virtual_hosts.find((v: Loose) => v.name === API).routes;
}

function filterNames(hcm: Loose): string[] {
  return hcm.http_filters.map((f: Loose) => f.name);
}

function outboundHcm(s: Service): Loose {
  const listeners = translateWorkload(mesh(s), workload({ service: 'api' })).resources.listeners;
  return get(listeners, 'virtualOutbound').filter_chains[0].filters[0].typed_config;
}

describe('translate: fault injection', () => {
  it('applies the policy fault to every route, and a route fault instead of it', () => {
    const routes = outboundRoutes(
      api({
        policy: policy({ fault: { abort: { httpStatus: 503, percentage: 1 }, headers: [] } }),
        routes: [
          route('slow', { fault: { delay: { fixedDelayMs: 250, percentage: 100 }, headers: [] } }),
          route('plain'),
        ],
      }),
    );
    const faults = routes.map((r: Loose) => [r.name, r.typed_per_filter_config?.[FAULT]]);
    const abort = { http_status: 503, percentage: { numerator: 1, denominator: 'HUNDRED' } };
    const type = 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault';
    assert.deepEqual(faults, [
      [
        'slow',
        {
          '@type': type,
          delay: {
            fixed_delay: { seconds: 0, nanos: 250_000_000 },
            percentage: { numerator: 100, denominator: 'HUNDRED' },
          },
        },
      ],
      ['plain', { '@type': type, abort }],
      ['default', { '@type': type, abort }],
    ]);
  });

  it('splits a route whose fault has headers: the headed copy first, with the fault', () => {
    const routes = outboundRoutes(
      api({
        routes: [
          route('r', {
            match: [{ path: { prefix: '/a' }, headers: [], queryParams: [] }],
            fault: { abort: { grpcStatus: 14, percentage: 50 }, headers: ON },
          }),
        ],
      }),
    );
    assert.deepEqual(
      routes.map((r: Loose) => [r.name, r.match, Object.keys(r.typed_per_filter_config ?? {})]),
      [
        [
          'r',
          { prefix: '/a', headers: [{ name: 'x-fault', string_match: { exact: 'on' } }] },
          [FAULT],
        ],
        ['r', { prefix: '/a' }, []],
        ['default', { prefix: '/' }, []],
      ],
    );
    assert.equal(routes[0].typed_per_filter_config[FAULT].headers, undefined);
    assert.deepEqual(routes[0].route, routes[1].route);
  });

  it('writes fractional percentages per million', () => {
    const routes = outboundRoutes(
      api({
        policy: policy({ fault: { abort: { httpStatus: 500, percentage: 0.05 }, headers: [] } }),
      }),
    );
    assert.deepEqual(routes[0].typed_per_filter_config[FAULT].abort.percentage, {
      numerator: 500,
      denominator: 'MILLION',
    });
  });

  it('puts the fault filter first in the outbound HCM only when some route injects faults', () => {
    assert.deepEqual(filterNames(outboundHcm(api())), ['envoy.filters.http.router']);
    const faulty = api({
      routes: [route('r', { fault: { abort: { httpStatus: 503, percentage: 1 }, headers: [] } })],
    });
    const hcm = outboundHcm(faulty);
    assert.deepEqual(filterNames(hcm), [FAULT, 'envoy.filters.http.router']);
    assert.deepEqual(
      Object.keys(hcm.http_filters[0].typed_config),
      ['@type'],
      'no fault of its own',
    );
  });

  it('gives the API listeners of a faulty gRPC service the fault filter, and only them', () => {
    const listeners = translateMesh(FIXTURE_MESH).resources.listeners;
    const hcm = (name: string) => get(listeners, name).api_listener.api_listener;
    assert.deepEqual(filterNames(hcm('echo.default.svc.cluster.local:50051')), [
      FAULT,
      'envoy.filters.http.router',
    ]);
    assert.deepEqual(filterNames(hcm('echo.other.svc.cluster.local:50051')), [
      'envoy.filters.http.router',
    ]);
  });
});

describe('translate: local rate limits', () => {
  it('limits a service inbound, after its RBAC filters and before the router', () => {
    const s = api({
      policy: policy({ rateLimit: { requestsPerUnit: 100, unit: 'second', burst: 20 } }),
      authorization: [{ name: 'anyone', action: 'ALLOW', from: [], to: [] }],
    });
    const listeners = translateWorkload(mesh(s), workload({ service: 'api', appPort: 8000 }))
      .resources.listeners;
    for (const chain of get(listeners, 'virtualInbound').filter_chains) {
      const hcm = chain.filters[0].typed_config;
      assert.deepEqual(filterNames(hcm), [
        'envoy.filters.http.rbac',
        RATE_LIMIT,
        'envoy.filters.http.router',
      ]);
      const { '@type': _, ...limit } = hcm.http_filters[1].typed_config;
      assert.deepEqual(limit, {
        stat_prefix: 'inbound_local_rate_limit',
        status: { code: 'TooManyRequests' },
        token_bucket: {
          max_tokens: 120,
          tokens_per_fill: { value: 100 },
          fill_interval: { seconds: 1 },
        },
        filter_enabled: {
          default_value: { numerator: 100, denominator: 'HUNDRED' },
          runtime_key: 'local_rate_limit_enabled',
        },
        filter_enforced: {
          default_value: { numerator: 100, denominator: 'HUNDRED' },
          runtime_key: 'local_rate_limit_enforced',
        },
      });
    }
  });

  it('limits a route outbound, one bucket name for all the Envoy routes of a mesh route', () => {
    const s = api({
      routes: [
        route('search', {
          match: [
            { path: { prefix: '/s' }, headers: [], queryParams: [] },
            { path: { prefix: '/q' }, headers: [], queryParams: [] },
          ],
          fault: { abort: { httpStatus: 503, percentage: 1 }, headers: ON },
          rateLimit: { requestsPerUnit: 600, unit: 'minute', burst: 0 },
        }),
      ],
    });
    const limited = outboundRoutes(s).filter((r: Loose) => r.typed_per_filter_config?.[RATE_LIMIT]);
    assert.equal(limited.length, 4, 'two matches, each split on the fault header');
    for (const r of limited) {
      const wrapper = r.typed_per_filter_config[RATE_LIMIT];
      assert.equal(wrapper['@type'], 'type.googleapis.com/envoy.config.route.v3.FilterConfig');
      assert.equal(wrapper.is_optional, true, 'proxyless gRPC skips it instead of NACKing');
      assert.equal(wrapper.config.stat_prefix, `route_local_rate_limit.${API}/search`);
      assert.deepEqual(wrapper.config.token_bucket, {
        max_tokens: 600,
        tokens_per_fill: { value: 600 },
        fill_interval: { seconds: 60 },
      });
    }
    assert.deepEqual(filterNames(outboundHcm(s)), [FAULT, RATE_LIMIT, 'envoy.filters.http.router']);
    const bare = outboundHcm(s).http_filters[1].typed_config;
    assert.equal(bare.token_bucket, undefined, 'the outbound filter has no bucket of its own');
  });
});

// grpc-js-xds's own parser of per-route fault configs (gRFC A33), as its xDS client runs it.
const require = createRequire(import.meta.url);
const XDS_BUILD = '@grpc/grpc-js-xds/build/src';

describe('translate: proxyless gRPC reads the faults as meant', () => {
  before(() => {
    // Loaded first, as the xDS client does: it brings the google/protobuf files the filter
    // modules' own proto loading relies on.
    require(`${XDS_BUILD}/resources`);
    require(`${XDS_BUILD}/http-filter/fault-injection-filter`).setup();
  });

  function parsedByGrpc(config: Loose): Loose {
    const { '@type': typeUrl, ...fields } = config;
    const type = fullMessageType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
    const value = Buffer.from(type.encode(type.fromObject(fields)).finish());
    const parsed = require(`${XDS_BUILD}/http-filter`).parseOverrideFilterConfig({
      type_url: typeUrl,
      value,
    });
    assert.ok(parsed, 'grpc-js-xds parses the config');
    return parsed.config;
  }

  it('a gRPC abort and a fractional delay', () => {
    const shop = get(translateMesh(FIXTURE_MESH).resources.routes, 'outbound.shop');
    const vhost = shop.virtual_hosts.find(
      (v: Loose) => v.name === 'shop.shop.svc.cluster.local:8443',
    );
    const routes = vhost.routes;
    const config = parsedByGrpc(routes[routes.length - 1].typed_per_filter_config[FAULT]);
    assert.deepEqual(config.delay, {
      kind: 'fixed',
      durationMs: 1500,
      percentage: { numerator: 5000, denominator: 1_000_000 },
    });
    // HTTP 503 becomes UNAVAILABLE for a gRPC client, as A33 maps it.
    assert.deepEqual(config.abort, {
      kind: 'grpc',
      code: 14,
      percentage: { numerator: 122_500, denominator: 1_000_000 },
    });
  });

  // Why a header condition is a route split: grpc-js-xds keeps only delay, abort and
  // max_active_faults, so HTTPFault.headers would fault every request of a proxyless client.
  it('(grpc-js-xds drops HTTPFault.headers, which is why routes are split instead)', () => {
    const config = parsedByGrpc({
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
      abort: { grpc_status: 14, percentage: { numerator: 100, denominator: 'HUNDRED' } },
      headers: [{ name: 'x-fault', string_match: { exact: 'on' } }],
    });
    assert.deepEqual(Object.keys(config).sort(), ['abort', 'delay', 'maxActiveFaults']);
  });
});
