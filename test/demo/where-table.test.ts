/** The demo's "what runs where" table. */
import assert from 'node:assert/strict';
import { demoPids, formatWhereTable, type WhereInfo } from '../../src/demo/index.js';

const ports = (base: number) => ({
  outbound: base + 1,
  inbound: base + 2,
  admin: base + 3,
  metrics: base + 4,
  ready: base + 5,
});

const WHERE: WhereInfo = {
  meshFile: '/x/mesh.yaml',
  controlPlane: { pid: 100, xdsPort: 15010, securePort: 15012, httpPort: 15014 },
  instances: [
    {
      service: 'reviews',
      version: 'v2',
      nodeId: 'reviews-v2',
      app: { pid: 101, port: 9080 },
      sidecar: { pid: 102, ports: ports(20000) },
    },
    {
      service: 'loadgen',
      version: 'v1',
      nodeId: 'loadgen-v1',
      sidecar: { pid: 103, ports: ports(30000) },
    },
  ],
  gateway: {
    pid: 104,
    ref: 'default/edge',
    ports: { listener: 25080, admin: 40001, metrics: 40002, ready: 40003 },
  },
  traffic: { rate: 20, windowS: 2 },
};

describe('formatWhereTable', () => {
  const lines = formatWhereTable(WHERE);

  it('lists every pid, control plane first, the gateway last', () => {
    assert.deepEqual(demoPids(WHERE), [100, 101, 102, 103, 104]);
    assert.ok(lines.includes('pids       100 101 102 103 104'));
  });

  it('names the gateway as the way in: its listener, metrics, and where the traffic goes', () => {
    assert.ok(
      lines.includes('gateway default/edge (ferry gateway, pid 104): the way into the mesh'),
    );
    assert.ok(lines.some((l) => l.startsWith('  listener  http://127.0.0.1:25080/ ')));
    assert.ok(lines.some((l) => l.includes('metrics http://127.0.0.1:40002/stats/prometheus')));
    assert.ok(
      lines.some((l) =>
        l.startsWith(
          'traffic    20 requests/s from outside the mesh to the gateway (http://127.0.0.1:25080/)',
        ),
      ),
    );
  });

  it('gives the control plane its xDS address and debug URLs', () => {
    assert.ok(lines.includes('control plane (pid 100)'));
    assert.ok(
      lines.some((l) => l.startsWith('  xDS   127.0.0.1:15010 (plaintext), 127.0.0.1:15012 (TLS')),
    );
    assert.ok(lines.some((l) => l.startsWith('  dashboard  http://127.0.0.1:15014/')));
    assert.match(lines.join('\n'), /HTTP {2}http:\/\/127\.0\.0\.1:15014\/debug\/syncz/);
  });

  it('puts each instance on one aligned row; one with no app has dashes', () => {
    const header = lines.find((l) => l.startsWith('service'))!;
    const reviews = lines.find((l) => l.startsWith('reviews'))!;
    const loadgen = lines.find((l) => l.startsWith('loadgen'))!;
    assert.equal(
      header,
      'service  version  app pid  app port  sidecar pid  outbound  inbound  admin  metrics  ready',
    );
    assert.equal(
      reviews,
      'reviews  v2       101      9080      102          20001     20002    20003  20004    20005',
    );
    assert.equal(
      loadgen,
      'loadgen  v1       -        -         103          30001     30002    30003  30004    30005',
    );
  });

  it('links each sidecar admin /clusters and its config_dump on the control plane', () => {
    assert.ok(
      lines.includes(
        '  reviews v2  http://127.0.0.1:20003/clusters  http://127.0.0.1:15014/debug/config_dump?node=reviews-v2',
      ),
    );
  });
});
