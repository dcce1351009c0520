/**
 * The outbound listener's chains as a lookup on the original destination, compiled from what
 * the control plane translates (a mesh with virtual IPs, meshed endpoints and a tcp service
 * without an address), and its refusals of chains it cannot follow.
 */
import assert from 'node:assert/strict';
import { translateWorkload } from '../../../src/controlplane/translate/index.js';
import { compileOutboundDestinations } from '../../../src/proxy/runtime/index.js';
import { decodeResource, encodeResource, types } from '../../../src/xds/index.js';
import { endpoint, mesh, service, workload } from '../../controlplane/translate/mesh-fixture.js';
import { compileError } from './wire-config.js';

const config = mesh(
  service('api', 'default', [[8080, 'http']], {
    addresses: ['10.96.0.1', 'fd00:96::1'],
    endpoints: [endpoint('10.1.0.7', { 8080: 15006 }, { meshed: true })],
  }),
  service('db', 'default', [[5432, 'tcp']], {
    addresses: ['10.96.0.2'],
    endpoints: [endpoint('10.1.0.9', { 5432: 15006 }, { meshed: true })],
  }),
  service('cache', 'default', [[6379, 'tcp']]),
);
const listener = translateWorkload(
  config,
  workload({ outboundPort: 15001 }),
).resources.listeners.find((l) => l.name === 'virtualOutbound')!.value;
const table = compileOutboundDestinations(listener);

function lookup(address: string, port: number): string | undefined {
  const a = table.lookup(address, port);
  return a && (a.kind === 'http' ? `http ${a.chain}` : `tcp ${a.cluster}`);
}

describe('proxy: outbound destinations', () => {
  it('a service virtual IP on a service port goes to the service', () => {
    assert.equal(lookup('10.96.0.1', 8080), 'http outbound|8080||api.default.svc.cluster.local');
    assert.equal(lookup('fd00:96::1', 8080), 'http outbound|8080||api.default.svc.cluster.local');
    assert.equal(lookup('10.96.0.2', 5432), 'tcp outbound|5432||db.default.svc.cluster.local');
  });

  it("a meshed endpoint's own address goes to its ORIGINAL_DST cluster, IPv4-mapped too", () => {
    assert.equal(
      lookup('10.1.0.7', 8080),
      'tcp outbound-endpoint|8080||api.default.svc.cluster.local',
    );
    assert.equal(
      lookup('::ffff:10.1.0.9', 5432),
      'tcp outbound-endpoint|5432||db.default.svc.cluster.local',
    );
  });

  it('a tcp port without a virtual IP is matched on the port alone', () => {
    assert.equal(lookup('192.0.2.1', 6379), 'tcp outbound|6379||cache.default.svc.cluster.local');
  });

  it("the listener's own port is HTTP; everything else passes through", () => {
    assert.equal(lookup('127.0.0.1', 15001), 'http virtualOutbound-http');
    assert.equal(lookup('10.96.0.1', 9999), 'tcp PassthroughCluster');
    assert.equal(lookup('10.96.0.2', 8080), 'tcp PassthroughCluster', 'a VIP on a port it lacks');
    assert.equal(lookup('192.0.2.1', 5432), 'tcp PassthroughCluster', 'a port with VIPs only');
    assert.equal(lookup('2001:db8::1', 443), 'tcp PassthroughCluster');
  });

  it('prefixes: the most specific wins, and port chains fall back to portless ones', () => {
    // Through the wire, as the sidecar receives it: ports and prefix lengths are UInt32Value
    // messages (`{ value }`), never bare numbers (which a hand-written type once allowed).
    const tcp = (cluster: string) => ({
      name: 'envoy.filters.network.tcp_proxy',
      typed_config: { '@type': types.TCP_PROXY, stat_prefix: cluster, cluster },
    });
    const wire = (l: object) => decodeResource(types.LISTENER, encodeResource(types.LISTENER, l));
    const t = compileOutboundDestinations(
      wire({
        filter_chains: [
          {
            name: 'wide',
            filter_chain_match: {
              destination_port: { value: 80 },
              prefix_ranges: [{ address_prefix: '10.0.0.0', prefix_len: { value: 8 } }],
            },
            filters: [tcp('wide')],
          },
          {
            name: 'narrow',
            filter_chain_match: {
              destination_port: { value: 80 },
              prefix_ranges: [{ address_prefix: '10.1.0.0', prefix_len: { value: 16 } }],
            },
            filters: [tcp('narrow')],
          },
          {
            name: 'v6',
            filter_chain_match: {
              prefix_ranges: [{ address_prefix: 'fd00:0::', prefix_len: { value: 8 } }],
            },
            filters: [tcp('v6')],
          },
        ],
        default_filter_chain: { name: 'default', filters: [tcp('default')] },
      }),
    );
    const cluster = (a: string, p: number) => {
      const r = t.lookup(a, p);
      return r?.kind === 'tcp' ? r.cluster : r?.kind;
    };
    assert.equal(cluster('10.1.2.3', 80), 'narrow');
    assert.equal(cluster('10.2.2.3', 80), 'wide');
    assert.equal(cluster('fd12::1', 80), 'v6', 'no port chain matches: the portless ones do');
    assert.equal(cluster('10.1.2.3', 81), 'default');
  });

  it('refuses (NACKs) chains it cannot follow, naming them', () => {
    const bad = {
      name: 'virtualOutbound',
      filter_chains: [
        {
          name: 'sni',
          filter_chain_match: { server_names: ['example.com'] },
          filters: [{ name: 'x', typed_config: { '@type': types.TCP_PROXY, cluster: 'c' } }],
        },
      ],
    };
    assert.match(
      compileError(types.LISTENER, 'virtualOutbound', bad) ?? '',
      /filter_chains\[0\] \(sni\): filter_chain_match\.server_names is supported with a destination_port and no prefix_ranges only/,
    );
    // server_names with a port (the egress gateway's tls hosts): exact names, TLS only.
    const sniChain = (match: object) => ({
      filter_chains: [
        {
          name: 'sni',
          filter_chain_match: { destination_port: { value: 443 }, ...match },
          filters: [{ name: 'x', typed_config: { '@type': types.TCP_PROXY, cluster: 'c' } }],
        },
      ],
    });
    assert.throws(
      () => compileOutboundDestinations(sniChain({ server_names: ['*.example.com'] })),
      /server_names "\*\.example\.com": only exact names are supported/,
    );
    assert.throws(
      () =>
        compileOutboundDestinations(
          sniChain({ server_names: ['a.example'], transport_protocol: 'raw_buffer' }),
        ),
      /transport_protocol "raw_buffer" is not supported/,
    );
    assert.throws(
      () => compileOutboundDestinations(sniChain({ transport_protocol: 'tls' })),
      /transport_protocol is supported with server_names only/,
    );
    const twice = {
      filter_chains: [0, 1].map(() => ({
        filter_chain_match: { destination_port: { value: 80 } },
        filters: [{ name: 'x', typed_config: { '@type': types.TCP_PROXY, cluster: 'c' } }],
      })),
    };
    assert.throws(() => compileOutboundDestinations(twice), /another chain has the same match/);
    const negative = {
      filter_chains: [
        {
          name: 'idle',
          filters: [
            {
              name: 'x',
              typed_config: {
                '@type': types.TCP_PROXY,
                cluster: 'c',
                idle_timeout: { seconds: -1 },
              },
            },
          ],
        },
      ],
    };
    assert.throws(
      () => compileOutboundDestinations(negative),
      /\(idle\): tcp_proxy idle_timeout is not a valid non-negative duration/,
    );
    assert.equal(compileError(types.LISTENER, 'virtualOutbound', listener), undefined);
  });
});
