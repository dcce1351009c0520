/**
 * The generated `envoy.*` types (src/xds/envoy-types.ts) claim to describe exactly what the
 * codec decodes; the generator's options mirror codec.ts's toObject options. This checks the
 * claim on the wire, field shape by field shape, so that changing one side alone fails here.
 */
import assert from 'node:assert/strict';
import {
  anyType,
  anyTypeUrl,
  decodeResource,
  encodeResource,
  type envoy,
  messageName,
  structToJson,
  typed,
  types,
  unpackAny,
} from '../../src/xds/index.js';

const ROUTE_CONFIG = {
  name: 'rc',
  virtual_hosts: [
    {
      name: 'vh',
      domains: ['*'],
      routes: [
        {
          match: {
            prefix: '/',
            case_sensitive: { value: false },
            headers: [{ name: 'x', range_match: { start: -10, end: 10 } }],
          },
          route: {
            cluster: 'c',
            timeout: { seconds: 3, nanos: 500_000_000 },
            retry_policy: { num_retries: { value: 2 }, host_selection_retry_max_attempts: 4 },
          },
          typed_per_filter_config: {
            'envoy.filters.http.fault': typed(messageName(types.HTTP_FAULT), {
              abort: { http_status: 503, percentage: { numerator: 5, denominator: 'MILLION' } },
            }),
            'ferry.unknown': { type_url: 'type.googleapis.com/x.Unknown', value: 'AQI=' },
          },
        },
      ],
    },
  ],
};

function wire(): envoy.RouteConfiguration {
  return decodeResource<envoy.RouteConfiguration>(
    types.ROUTE,
    encodeResource(types.ROUTE, ROUTE_CONFIG),
  );
}

describe('xds: decoded objects have the generated types’ shapes', () => {
  const route = wire().virtual_hosts?.[0]?.routes?.[0];

  it('64-bit integers are numbers, wrappers { value }, Durations { seconds, nanos }', () => {
    const range = route?.match?.headers?.[0]?.range_match;
    assert.deepEqual(range, { start: -10, end: 10 });
    assert.deepEqual(route?.match?.case_sensitive, { value: false });
    assert.deepEqual(route?.route?.timeout, { seconds: 3, nanos: 500_000_000 });
    assert.equal(route?.route?.retry_policy?.host_selection_retry_max_attempts, 4);
    assert.deepEqual(route?.route?.retry_policy?.num_retries, { value: 2 });
  });

  it('an Any whose type is loaded is { @type, ...fields } with enums by name', () => {
    const any = route?.typed_per_filter_config?.['envoy.filters.http.fault'];
    assert.equal(anyType(any), types.HTTP_FAULT);
    const fault = unpackAny<envoy.HttpFault>(any, types.HTTP_FAULT);
    assert.deepEqual(fault?.abort, {
      http_status: 503,
      percentage: { numerator: 5, denominator: 'MILLION' },
    });
    assert.equal(unpackAny<envoy.HttpFault>(any, types.LOCAL_RATE_LIMIT), undefined);
  });

  it('an Any whose type is not loaded stays { type_url, value } (bytes as base64)', () => {
    const any = route?.typed_per_filter_config?.['ferry.unknown'];
    assert.equal(anyType(any), undefined);
    assert.equal(anyTypeUrl(any), 'type.googleapis.com/x.Unknown');
    assert.deepEqual(any, { type_url: 'type.googleapis.com/x.Unknown', value: 'AQI=' });
  });

  it('a Struct number that JSON cannot hold (NaN, Infinity) reads as null, not as a string', () => {
    // The codec's json option renders non-finite doubles as strings; metadata readers want JSON.
    const cluster = decodeResource<envoy.Cluster>(
      types.CLUSTER,
      encodeResource(types.CLUSTER, {
        name: 'c',
        metadata: {
          filter_metadata: {
            ferry: { fields: { bad: { numberValue: Number.NaN }, ok: { numberValue: 1.5 } } },
          },
        },
      }),
    );
    const ferry = cluster.metadata?.filter_metadata?.ferry;
    assert.equal(ferry?.fields?.bad?.numberValue, 'NaN');
    assert.deepEqual(structToJson(ferry), { bad: null, ok: 1.5 });
  });
});
