import assert from 'node:assert/strict';
import { edsServiceName, routeConfigNames } from '../../src/xds-client/dependencies.js';

const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function hcm(routeConfigName?: string): Record<string, unknown> {
  return routeConfigName
    ? { '@type': HCM, rds: { route_config_name: routeConfigName, config_source: { ads: {} } } }
    : { '@type': HCM, route_config: { name: 'inline' } };
}

describe('dependencies', () => {
  it('finds the RDS names of filter chains, the default chain and an API listener', () => {
    const listener = {
      name: 'l',
      filter_chains: [
        { filters: [{ name: 'hcm', typed_config: hcm('outbound.default') }] },
        { filters: [{ name: 'tcp', typed_config: { '@type': 'type.googleapis.com/x.TcpProxy' } }] },
        { filters: [{ name: 'inline', typed_config: hcm() }] },
      ],
      default_filter_chain: { filters: [{ name: 'hcm', typed_config: hcm('fallback') }] },
      api_listener: { api_listener: hcm('api:80') },
    };
    assert.deepEqual(routeConfigNames(listener), ['outbound.default', 'fallback', 'api:80']);
    assert.deepEqual(routeConfigNames({ name: 'tcp-only' }), []);
  });

  it('names the CLA of an EDS cluster by service_name, else by the cluster name', () => {
    assert.equal(
      edsServiceName({ name: 'c', type: 'EDS', eds_cluster_config: { service_name: 's' } }),
      's',
    );
    assert.equal(edsServiceName({ name: 'c', type: 'EDS', eds_cluster_config: {} }), 'c');
    assert.equal(edsServiceName({ name: 'c', type: 'STATIC' }), undefined);
  });
});
