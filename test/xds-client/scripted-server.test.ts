/**
 * The client against a scripted ADS server (real gRPC on 127.0.0.1), for what Ferry's
 * control plane never does: leave a subscribed name unanswered.
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { silentLogger } from '../../src/log/index.js';
import {
  adsServiceDefinition,
  type DiscoveryRequest,
  encodeResource,
  typed,
  types,
} from '../../src/xds/index.js';
import { XdsClient } from '../../src/xds-client/index.js';
import { configWhere } from './support.js';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

const LISTENER = {
  name: 'l1',
  address: { socket_address: { address: '0.0.0.0', port_value: 15001 } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: typed(HCM, {
            stat_prefix: 'l1',
            rds: { route_config_name: 'never', config_source: { ads: {} } },
          }),
        },
      ],
    },
  ],
};

/** Answers the first LDS and CDS requests; ignores everything else. */
async function scriptedServer(): Promise<{
  port: number;
  requests: DiscoveryRequest[];
  close(): void;
}> {
  const server = new grpc.Server();
  const requests: DiscoveryRequest[] = [];
  let nonce = 0;
  server.addService(adsServiceDefinition, {
    StreamAggregatedResources: (call: grpc.ServerDuplexStream<object, object>) => {
      const answered = new Set<string>();
      call.on('data', (raw: object) => {
        const req = raw as DiscoveryRequest;
        requests.push(req);
        const typeUrl = req.type_url ?? '';
        if (answered.has(typeUrl)) return;
        answered.add(typeUrl);
        const resources =
          typeUrl === types.LISTENER
            ? [{ type_url: typeUrl, value: encodeResource(typeUrl, LISTENER) }]
            : [];
        if (typeUrl === types.LISTENER || typeUrl === types.CLUSTER)
          call.write({ version_info: '1', type_url: typeUrl, nonce: String(++nonce), resources });
      });
      call.on('error', () => {});
    },
    DeltaAggregatedResources: (call: grpc.ServerDuplexStream<object, object>) => call.end(),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { port, requests, close: () => server.forceShutdown() };
}

describe('xDS client against a scripted server', () => {
  it('takes a route configuration that never comes as empty after resourceTimeoutMs', async () => {
    const server = await scriptedServer();
    const client = new XdsClient({
      address: `127.0.0.1:${server.port}`,
      node: { id: 'scripted' },
      mode: 'sotw',
      log: silentLogger(),
      resourceTimeoutMs: 100,
    });
    try {
      client.start();
      const started = Date.now();
      const config = await configWhere(client, (c) => c.listeners.has('l1'), 3000);
      assert.ok(Date.now() - started >= 90, 'held back until the timeout');
      assert.deepEqual(JSON.parse(JSON.stringify(config.routes.get('never'))), {
        name: 'never',
        version: '',
        value: { name: 'never', virtual_hosts: [] },
      });
      assert.ok(
        server.requests.some(
          (r) => r.type_url === types.ROUTE && r.resource_names?.includes('never'),
        ),
      );
      // The node goes in the first request only.
      assert.deepEqual(
        server.requests.map((r) => r.node?.id),
        ['scripted', ...server.requests.slice(1).map(() => undefined)],
      );
    } finally {
      client.close();
      server.close();
    }
  });

  it('ready() rejects after its timeout when nothing complete arrives', async () => {
    const client = new XdsClient({
      address: '127.0.0.1:1',
      node: { id: 'nobody' },
      log: silentLogger(),
      backoff: { baseMs: 10, maxMs: 50 },
    });
    try {
      client.start();
      await assert.rejects(client.ready(150), /no complete xDS configuration .* within 150 ms/);
      assert.equal(client.status().connected, false);
      assert.equal(client.status().configVersion, 0);
    } finally {
      client.close();
    }
  });
});
