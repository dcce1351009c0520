import assert from 'node:assert/strict';
import { silentLogger } from '../../../src/log/index.js';
import { DEFAULT_LIMITS } from '../../../src/proxy/listener/index.js';
import { resolveSidecarOptions } from '../../../src/proxy/sidecar/index.js';

describe('sidecar options', () => {
  it('fills in every default once', () => {
    const s = resolveSidecarOptions({
      xds: '127.0.0.1:15010',
      service: 'web',
      log: silentLogger(),
    });
    assert.equal(s.namespace, 'default');
    assert.equal(s.nodeId, `web-${process.pid}.default`);
    assert.equal(s.workload, 'web.default');
    assert.equal(s.serviceAccount, 'default');
    assert.equal(s.address, '127.0.0.1');
    assert.equal(s.bind, '127.0.0.1');
    assert.equal(s.mode, 'delta');
    assert.equal(s.drainMs, 5000);
    assert.deepEqual(s.limits, DEFAULT_LIMITS);
    assert.ok(s.opaquePorts.has(3306), 'MySQL is opaque by default');
  });

  it('keeps what was given', () => {
    const s = resolveSidecarOptions({
      xds: 'cp:15012',
      service: 'api',
      namespace: 'shop',
      id: 'api-1',
      opaquePorts: [5000],
      limits: { maxHeaders: 50 },
      log: silentLogger(),
    });
    assert.equal(s.nodeId, 'api-1');
    assert.equal(s.workload, 'api.shop');
    assert.deepEqual([...s.opaquePorts], [5000]);
    assert.equal(s.limits.maxHeaders, 50);
  });

  it('refuses limits that make no sense, naming the limit', () => {
    assert.throws(
      () =>
        resolveSidecarOptions({
          xds: 'cp:15010',
          service: 'web',
          limits: { headersTimeoutMs: 0 },
          log: silentLogger(),
        }),
      /limit headersTimeoutMs must be a positive whole number, got 0/,
    );
  });
});
