/** Gateway listeners compiled from LDS: chain kinds, SNI precedence, and refusals naming the field. */
import assert from 'node:assert/strict';
import {
  chainFor,
  compileGatewayListener,
  GatewayConfigError,
  validateGatewayResource,
} from '../../../src/proxy/gateway/index.js';
import { decodeResource, types } from '../../../src/xds/index.js';
import { hcm, listener, tcpProxy, tlsSocket } from './gateway-harness.js';

/** A listener as the xDS client hands it over: encoded, then decoded. */
function decoded(port: number, chains: object[], inspector = false): Record<string, unknown> {
  return decodeResource(types.LISTENER, listener(port, chains, inspector).value);
}

describe('gateway listener', () => {
  const https = (names: string[], secret: string) => ({
    filter_chain_match: { server_names: names },
    transport_socket: tlsSocket(secret),
    filters: [hcm('gateway~443')],
  });

  it('picks a chain by SNI: exact name, then the longest wildcard, then the chain without names', () => {
    const spec = compileGatewayListener(
      decoded(
        443,
        [
          https(['a.example.test'], 'ns/a'),
          https(['*.example.test'], 'ns/wild'),
          https(['*.deep.example.test'], 'ns/deep'),
          { filter_chain_match: { server_names: ['pass.example.test'] }, filters: [tcpProxy('p')] },
          { transport_socket: tlsSocket('ns/default'), filters: [hcm('gateway~443')] },
        ],
        true,
      ),
    );
    const secretOf = (sni: string | undefined) =>
      chainFor(spec, sni)?.secretNames[0] ?? chainFor(spec, sni)?.kind;
    assert.equal(secretOf('a.example.test'), 'ns/a');
    assert.equal(secretOf('b.example.test'), 'ns/wild');
    assert.equal(secretOf('x.deep.example.test'), 'ns/deep');
    assert.equal(secretOf('pass.example.test'), 'passthrough');
    // A wildcard does not match its own suffix: example.test falls to the default chain.
    assert.equal(secretOf('example.test'), 'ns/default');
    assert.equal(secretOf(undefined), 'ns/default');
    assert.equal(spec.inspect, true);
  });

  it('a plaintext HTTP listener and a TCP listener are served without reading a ClientHello', () => {
    assert.equal(
      compileGatewayListener(decoded(80, [{ filters: [hcm('gateway~80')] }])).inspect,
      false,
    );
    const tcp = compileGatewayListener(decoded(5432, [{ filters: [tcpProxy('db')] }]));
    assert.equal(tcp.inspect, false);
    assert.equal(tcp.chains[0].kind, 'tcp');
  });

  it('TLS terminated in front of a tcp_proxy (TLSRoute Terminate) is its own kind, beside passthrough', () => {
    const spec = compileGatewayListener(
      decoded(8443, [
        {
          filter_chain_match: { server_names: ['term.example.test'] },
          transport_socket: tlsSocket('ns/term'),
          filters: [tcpProxy('db')],
        },
        { filter_chain_match: { server_names: ['pass.example.test'] }, filters: [tcpProxy('p')] },
      ]),
    );
    const term = chainFor(spec, 'term.example.test');
    assert.equal(term?.kind, 'tls-terminate');
    assert.deepEqual(term?.secretNames, ['ns/term']);
    assert.equal(term?.tcp?.clusters[0].name, 'db');
    assert.equal(chainFor(spec, 'pass.example.test')?.kind, 'passthrough');
    // Chosen by SNI although the listener names no tls_inspector.
    assert.equal(spec.inspect, true);
  });

  it('refuses what it cannot serve, naming the listener and the field (NACK)', () => {
    const cases: Array<[object[], RegExp]> = [
      [[{ filters: [] }], /filter_chains\[0\]\.filters.*neither/],
      [
        [https(['a.example.test'], 'ns/a'), https(['a.example.test'], 'ns/b')],
        /"a\.example\.test" is matched by two chains/,
      ],
      [
        [{ filter_chain_match: { server_names: ['a.*.test'] }, filters: [tcpProxy('c')] }],
        /a wildcard is only "\*\.suffix"/,
      ],
      [
        [
          {
            filter_chain_match: { destination_port: { value: 443 } },
            filters: [tcpProxy('c')],
          },
        ],
        /filter_chain_match\.destination_port.*not supported/,
      ],
      [
        [
          {
            transport_socket: tlsSocket(),
            filters: [tcpProxy('c')],
          },
        ],
        /transport_socket.*tls_certificate_sds_secret_configs: needs exactly one secret; has 0/,
      ],
    ];
    for (const [chains, message] of cases) {
      const value = decoded(443, chains, true);
      assert.throws(
        () => compileGatewayListener(value),
        (err: unknown) =>
          err instanceof GatewayConfigError &&
          err.code === 'FERRY_GATEWAY_LISTENER' &&
          /^listener gateway~443 /.test(err.message) &&
          message.test(err.message),
      );
      assert.match(validateGatewayResource(types.LISTENER, 'gateway~443', value) ?? '', message);
    }
  });

  it('a secret whose key and certificate do not load is NACKed, naming it', () => {
    const error = validateGatewayResource(types.SECRET, 'ns/broken', {
      name: 'ns/broken',
      tls_certificate: {
        certificate_chain: {
          inline_string: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
        },
        private_key: { inline_string: 'not a key' },
      },
    });
    assert.match(error ?? '', /^secret ns\/broken: its certificate and key do not load/);
  });
});
