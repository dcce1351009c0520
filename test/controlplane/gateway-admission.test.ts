/**
 * A gateway is given its Gateway's certificates (private keys included) only when it proves
 * an identity in the Gateway's namespace, once the CA is on: a bad credential or one of
 * another namespace ends its stream; none at all is served listeners and routes without
 * certificates.
 */
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { RegistrationGate, Registry, SnapshotCache } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import type { MeshConfig } from '../../src/mesh/index.js';
import { MetricsRegistry } from '../../src/metrics/index.js';
import { types } from '../../src/xds/index.js';
import { gateway, meshOf } from '../gatewayapi/support.js';

const VERIFIER = {
  verify: async (token: string) => {
    if (token === 'edge-token') return { namespace: 'default', serviceAccount: 'edge' };
    if (token === 'other-token') return { namespace: 'other', serviceAccount: 'edge' };
    throw new Error('token signature invalid');
  },
};

function gate(verifier?: typeof VERIFIER, allowPlaintext = false): RegistrationGate {
  return new RegistrationGate({
    registry: new Registry({
      mesh: { trustDomain: 't', domain: 'd', mtls: 'PERMISSIVE' },
      services: [],
    }),
    ...(verifier ? { verifier } : {}),
    allowPlaintext,
    metrics: new MetricsRegistry(),
    log: silentLogger(),
  });
}

function bearer(token?: string): grpc.Metadata {
  const m = new grpc.Metadata();
  if (token) m.set('authorization', `Bearer ${token}`);
  return m;
}

describe('control plane: gateway admission', () => {
  it('without the CA every gateway is served', () => {
    assert.deepEqual(gate().admitGateway('default/edge', 'n', 'plaintext', bearer()), {
      ok: true,
      identity: undefined,
    });
  });

  it("with the CA: an identity of the Gateway's namespace is admitted", async () => {
    const a = await gate(VERIFIER).admitGateway('default/edge', 'n', 'tls', bearer('edge-token'));
    assert.deepEqual(a, { ok: true, identity: { namespace: 'default', serviceAccount: 'edge' } });
  });

  it('another namespace, or a bad credential, ends the stream', async () => {
    const other = await gate(VERIFIER).admitGateway(
      'default/edge',
      'n',
      'tls',
      bearer('other-token'),
    );
    assert.ok(!other.ok);
    assert.equal(other.end, true);
    assert.equal(other.code, grpc.status.PERMISSION_DENIED);
    assert.equal(other.reason, 'identity_mismatch');
    const bad = await gate(VERIFIER).admitGateway('default/edge', 'n', 'tls', bearer('forged'));
    assert.ok(!bad.ok);
    assert.equal(bad.end, true);
    assert.equal(bad.reason, 'invalid_credential');
  });

  it('no credential (the plaintext port) is served, but refused its certificates', async () => {
    const a = await gate(VERIFIER).admitGateway('default/edge', 'n', 'plaintext', bearer());
    assert.ok(!a.ok);
    assert.equal(a.end, false);
    assert.equal(a.reason, 'no_credential');
    assert.match(a.message, /--token-file/);
  });

  it('a gateway snapshot without certificates has no Secret, the listeners all the same', () => {
    const listener = `        - name: https
          port: 443
          protocol: HTTPS
          tls: { certificateRefs: [{ name: cert }] }
`;
    const config: MeshConfig = {
      ...meshOf(gateway(listener, 'edge')),
      tlsSecrets: [{ name: 'cert', namespace: 'default', certificateChain: 'C', privateKey: 'K' }],
    };
    const cache = new SnapshotCache(new Registry(config), { log: silentLogger() });
    cache.start();
    try {
      const node = { gateway: 'default/edge', mode: 'gateway' as const };
      const trusted = cache.snapshotFor(undefined, node, true);
      const untrusted = cache.snapshotFor(undefined, node, false);
      assert.deepEqual(
        [...(trusted.types.get(types.SECRET)?.byName.keys() ?? [])],
        ['default/cert'],
      );
      assert.deepEqual([...(untrusted.types.get(types.SECRET)?.byName.keys() ?? [])], []);
      // What a wildcard LDS subscriber gets (proxyless API listeners are by name only).
      assert.deepEqual([...(untrusted.types.get(types.LISTENER)?.wildcard ?? [])], ['gateway~443']);
    } finally {
      cache.stop();
    }
  });
});
