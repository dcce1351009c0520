import assert from 'node:assert/strict';
import { encodeResource, typed, types } from '../../src/xds/index.js';
import { decodeResources } from '../../src/xds-client/decode-resources.js';
import { resourceType } from '../../src/xds-client/resource-types.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function any(typeUrl: string, value: object) {
  return { type_url: typeUrl, value: Buffer.from(encodeResource(typeUrl, value)) };
}

function received(typeUrl: string, value: object, name?: string) {
  return { name, version: 'v1', any: any(typeUrl, value) };
}

const listener = {
  name: 'virtualOutbound',
  address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: typed(HCM, {
            stat_prefix: 'out',
            rds: { route_config_name: 'outbound.default', config_source: { ads: {} } },
          }),
        },
      ],
    },
  ],
};

const LDS = resourceType(types.LISTENER)!;
const RDS = resourceType(types.ROUTE)!;
const EDS = resourceType(types.ENDPOINT)!;

describe('decodeResources', () => {
  it('decodes and names valid resources (a CLA by its cluster_name)', () => {
    const result = decodeResources(LDS, [received(types.LISTENER, listener)], undefined);
    assert.ok(result.ok);
    assert.equal(result.resources[0].name, 'virtualOutbound');
    const cla = decodeResources(
      EDS,
      [received(types.ENDPOINT, { cluster_name: 'c1', endpoints: [] }, 'c1')],
      undefined,
    );
    assert.ok(cla.ok);
    assert.equal(cla.resources[0].name, 'c1');
  });

  it('rejects the whole response and names every bad resource and its problem', () => {
    const result = decodeResources(
      LDS,
      [
        received(types.LISTENER, listener),
        received(types.LISTENER, { name: 'nowhere' }),
        received(types.CLUSTER, { name: 'c' }),
        {
          name: undefined,
          version: '',
          any: { type_url: types.LISTENER, value: Buffer.from([0xff, 0xff]) },
        },
        received(types.LISTENER, { address: listener.address }),
        received(types.LISTENER, { ...listener, name: 'other' }, 'named-differently'),
      ],
      undefined,
    );
    assert.ok(!result.ok);
    const lines = result.error.split('\n');
    assert.equal(lines.length, 5, result.error);
    assert.match(lines[0], /LDS "nowhere": has neither address nor api_listener/);
    assert.match(lines[1], /LDS resource #2 is a .*Cluster/);
    assert.match(lines[2], /LDS resource #3 does not decode/);
    assert.match(lines[3], /LDS resource #4 has no name/);
    assert.match(lines[4], /LDS resource "named-differently" is named "other" in its body/);
  });

  it('checks route configurations: domains, path specifiers, actions', () => {
    const result = decodeResources(
      RDS,
      [
        received(types.ROUTE, {
          name: 'r',
          virtual_hosts: [
            { name: 'a', domains: ['a', 'x'], routes: [{ match: {}, route: { cluster: 'c' } }] },
            { name: 'b', domains: ['x'], routes: [{ match: { prefix: '/' } }] },
          ],
        }),
      ],
      undefined,
    );
    assert.ok(!result.ok);
    assert.equal(
      result.error,
      'RDS "r": virtual_hosts[0].routes[0].match has no path specifier; virtual_hosts[1]: domain "x" is already used by virtual host a; virtual_hosts[1].routes[0] has no action',
    );
  });

  it('asks the validate hook, after the built-in checks', () => {
    const seen: string[] = [];
    const result = decodeResources(
      LDS,
      [received(types.LISTENER, listener)],
      (typeUrl, name, value) => {
        seen.push(`${typeUrl} ${name} ${Object.isFrozen(value)}`);
        return 'not today';
      },
    );
    assert.deepEqual(seen, [`${types.LISTENER} virtualOutbound true`]);
    assert.ok(!result.ok);
    assert.equal(result.error, 'LDS "virtualOutbound": not today');
  });
});
