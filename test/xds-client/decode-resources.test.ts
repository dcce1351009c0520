import assert from 'node:assert/strict';
import { encodeResource, typed, types } from '../../src/xds/index.js';
import { decodeResources, type KnownResource } from '../../src/xds-client/decode-resources.js';
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
/** The client has nothing yet. */
const NOTHING = () => undefined;

describe('decodeResources', () => {
  it('decodes and names valid resources (a CLA by its cluster_name)', () => {
    const result = decodeResources(LDS, [received(types.LISTENER, listener)], undefined, NOTHING);
    assert.ok(result.ok);
    assert.equal(result.resources[0].name, 'virtualOutbound');
    const cla = decodeResources(
      EDS,
      [received(types.ENDPOINT, { cluster_name: 'c1', endpoints: [] }, 'c1')],
      undefined,
      NOTHING,
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
      NOTHING,
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
      NOTHING,
    );
    assert.ok(!result.ok);
    assert.equal(
      result.error,
      'RDS "r": virtual_hosts[0].routes[0].match has no path specifier; virtual_hosts[1]: domain "x" is already used by virtual host a; virtual_hosts[1].routes[0] has no action',
    );
  });

  it('compiles with the hook after the built-in checks; a compile failure rejects the response', () => {
    const seen: string[] = [];
    const result = decodeResources(
      LDS,
      [received(types.LISTENER, listener)],
      (typeUrl, name, value) => {
        seen.push(`${typeUrl} ${name} ${Object.isFrozen(value)}`);
        return { ok: false, error: 'not today' };
      },
      NOTHING,
    );
    assert.deepEqual(seen, [`${types.LISTENER} virtualOutbound true`]);
    assert.ok(!result.ok);
    assert.equal(result.error, 'LDS "virtualOutbound": not today');
  });

  it('does not compile a resource that fails the built-in checks, and NACKs a hook that throws', () => {
    let calls = 0;
    const bad = decodeResources(
      LDS,
      [received(types.LISTENER, { name: 'nowhere' })],
      () => {
        calls++;
        return { ok: true, compiled: 1 };
      },
      NOTHING,
    );
    assert.ok(!bad.ok);
    assert.equal(calls, 0);
    const threw = decodeResources(
      LDS,
      [received(types.LISTENER, listener)],
      () => {
        throw new Error('boom');
      },
      NOTHING,
    );
    assert.ok(!threw.ok);
    assert.equal(threw.error, 'LDS "virtualOutbound": compile failed: boom');
  });

  it('keeps the compiled form with the resource, and hands the hook the previous one', () => {
    const previous: unknown[] = [];
    const first = decodeResources(
      LDS,
      [received(types.LISTENER, listener)],
      (_t, _n, _v, before) => {
        previous.push(before);
        return { ok: true, compiled: 'v1-compiled' };
      },
      NOTHING,
    );
    assert.ok(first.ok);
    assert.equal(first.resources[0].compiled, 'v1-compiled');
    const known: KnownResource = {
      bytes: new Uint8Array([9]),
      value: first.resources[0].value,
      compiled: 'v1-compiled',
    };
    const changed = decodeResources(
      LDS,
      [received(types.LISTENER, listener)],
      (_t, _n, _v, before) => {
        previous.push(before);
        return { ok: true, compiled: 'v2-compiled' };
      },
      () => known,
    );
    assert.ok(changed.ok);
    assert.equal(changed.resources[0].compiled, 'v2-compiled');
    assert.deepEqual(previous, [undefined, 'v1-compiled']);
  });

  it('neither validates nor compiles a resource whose bytes the client already has (SotW and delta)', () => {
    let compiles = 0;
    const hook = () => {
      compiles++;
      return { ok: true as const, compiled: { n: compiles } };
    };
    const first = decodeResources(LDS, [received(types.LISTENER, listener)], hook, NOTHING);
    assert.ok(first.ok);
    const kept = first.resources[0];
    const known = () => ({ bytes: kept.bytes, value: kept.value, compiled: kept.compiled });
    // SotW: named by its body, so decoded, but not compiled again.
    const sotw = decodeResources(LDS, [received(types.LISTENER, listener)], hook, known);
    assert.ok(sotw.ok);
    assert.equal(sotw.resources[0].compiled, kept.compiled);
    assert.equal(sotw.resources[0].value, kept.value);
    // Delta: named by the server, so not even decoded.
    const delta = decodeResources(
      LDS,
      [received(types.LISTENER, listener, 'virtualOutbound')],
      hook,
      known,
    );
    assert.ok(delta.ok);
    assert.equal(delta.resources[0].compiled, kept.compiled);
    assert.equal(compiles, 1);
  });
});
