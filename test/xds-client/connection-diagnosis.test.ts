/**
 * Diagnosing a failed connection to the control plane: from gRPC's text (as grpc-js words
 * it) and, where the text says too little, from a probe of the port against real servers.
 */
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { diagnoseError, probePort } from '../../src/xds-client/index.js';
import { closedPort } from '../support/http-upstream.js';
import { TestCa } from '../support/test-ca.js';

const plain = { address: '10.0.0.1:15010', tls: false };
const secure = { address: '10.0.0.1:15010', tls: true };

describe('connection diagnosis', () => {
  it('turns OpenSSL, resolver and socket errors into a reason and a hint', () => {
    const wrongVersion =
      'No connection established. Last error: Error: 80DC4179127F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../deps/openssl/openssl/ssl/record/ssl3_record.c:350:\n. Resolution note: ';
    assert.deepEqual(diagnoseError(wrongVersion, secure), {
      reason: "10.0.0.1:15010 does not speak TLS: it is the control plane's plaintext port",
      hint: "--ca-root needs --xds to be the control plane's secure port (15012 by default); or leave out --ca-root and --token-file for plaintext without mTLS",
    });
    assert.match(
      diagnoseError('Last error: Error: unable to verify the first certificate.', secure)?.reason ??
        '',
      /not signed by the root in --ca-root/,
    );
    assert.equal(
      diagnoseError('Name resolution failed for target dns:cp.ferry-system.svc:15012', plain)
        ?.reason,
      'the name cp.ferry-system.svc does not resolve',
    );
    assert.equal(
      diagnoseError('Last error: Error: connect ECONNREFUSED 10.0.0.1:15010.', plain)?.reason,
      'nothing listens at 10.0.0.1:15010',
    );
    assert.equal(diagnoseError('Failed to connect', plain), undefined, 'needs a probe');
    assert.equal(diagnoseError(wrongVersion, plain), undefined, 'not TLS: not that mistake');
  });

  it('probes a port: TLS, plaintext gRPC (HTTP/2), or nothing listening', async () => {
    const ca = await TestCa.create();
    const leaf = await ca.issue('spiffe://cluster.local/ns/ferry-system/sa/ferry-control-plane');
    const tlsServer = tls.createServer({ key: leaf.key, cert: leaf.chain }, (s) => s.end());
    const h2 = http2.createServer();
    await new Promise<void>((r) => tlsServer.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => h2.listen(0, '127.0.0.1', r));
    try {
      const port = (s: { address(): unknown }) => (s.address() as AddressInfo).port;
      assert.equal(await probePort(`127.0.0.1:${port(tlsServer)}`), 'tls');
      assert.equal(await probePort(`127.0.0.1:${port(h2)}`), 'plaintext');
      assert.equal(await probePort(`127.0.0.1:${await closedPort()}`), 'refused');
    } finally {
      tlsServer.close();
      h2.close();
    }
  });
});
