import assert from 'node:assert/strict';
import { types } from '../../src/xds/index.js';
import { ResourceStore } from '../../src/xds-client/resource-store.js';
import { wantsOf } from '../../src/xds-client/subscriptions.js';

const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function resource(name: string, version: string, value: Record<string, unknown>, bytes = [1]) {
  return { name, version, value, bytes: new Uint8Array(bytes), compiled: undefined };
}

describe('resource store and subscriptions', () => {
  it('keeps the entry of an unchanged resource, and moves the generation only on change', () => {
    const store = new ResourceStore();
    store.put(types.CLUSTER, resource('c', 'v1', { name: 'c' }));
    const entry = store.snapshot(types.CLUSTER).get('c');
    const generation = store.generation;
    store.put(types.CLUSTER, resource('c', 'v2', { name: 'c' }));
    assert.equal(store.snapshot(types.CLUSTER).get('c'), entry);
    assert.equal(store.generation, generation);
    assert.deepEqual(store.versions(types.CLUSTER), { c: 'v2' });
    store.put(types.CLUSTER, resource('c', 'v3', { name: 'c', type: 'STATIC' }, [2]));
    assert.notEqual(store.snapshot(types.CLUSTER).get('c'), entry);
    assert.ok(store.generation > generation);
  });

  it('stands in an empty resource for a missing one, and never reports its version', () => {
    const store = new ResourceStore();
    store.putMissing(types.ENDPOINT, 'e', { cluster_name: 'e', endpoints: [] }, (empty) => ({
      compiledFrom: empty,
    }));
    const entry = store.snapshot(types.ENDPOINT).get('e');
    assert.deepEqual(entry?.compiled, { compiledFrom: { cluster_name: 'e', endpoints: [] } });
    // Serialized (config dumps), an entry is the resource, without its compiled form.
    assert.deepEqual(JSON.parse(JSON.stringify(entry)), {
      name: 'e',
      version: '',
      value: { cluster_name: 'e', endpoints: [] },
    });
    assert.deepEqual(store.versions(types.ENDPOINT), {});
  });

  it('wants every listener and cluster, and what they reference', () => {
    const store = new ResourceStore();
    store.put(
      types.LISTENER,
      resource('l', 'v', {
        name: 'l',
        filter_chains: [
          { filters: [{ typed_config: { '@type': HCM, rds: { route_config_name: 'r1' } } }] },
          {
            // A gateway's HTTPS chain: its certificate over SDS on the ADS stream is wanted;
            // a sidecar's `default` (no sds_config: the proxy's own certificate) is not.
            transport_socket: {
              typed_config: {
                '@type': types.DOWNSTREAM_TLS_CONTEXT,
                common_tls_context: {
                  tls_certificate_sds_secret_configs: [
                    { name: 'edge/cert', sds_config: { ads: {} } },
                    { name: 'default' },
                  ],
                },
              },
            },
            filters: [],
          },
        ],
      }),
    );
    store.put(
      types.CLUSTER,
      resource('eds', 'v', { name: 'eds', type: 'EDS', eds_cluster_config: {} }),
    );
    store.put(types.CLUSTER, resource('static', 'v', { name: 'static', type: 'STATIC' }));
    const wants = wantsOf(store);
    assert.deepEqual(
      [...wants.keys()],
      [types.CLUSTER, types.ENDPOINT, types.LISTENER, types.ROUTE, types.SECRET],
    );
    assert.equal(wants.get(types.LISTENER), '*');
    assert.equal(wants.get(types.CLUSTER), '*');
    assert.deepEqual([...(wants.get(types.ROUTE) as Set<string>)], ['r1']);
    assert.deepEqual([...(wants.get(types.ENDPOINT) as Set<string>)], ['eds']);
    assert.deepEqual([...(wants.get(types.SECRET) as Set<string>)], ['edge/cert']);
  });
});
