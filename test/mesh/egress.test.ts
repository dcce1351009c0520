import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { API_HEAD, configOf, errorSummary, expectError, lines } from './mesh-fixtures.js';

/** An egress block after API_HEAD: lines 5-11 (its second host on line 10). */
const EGRESS = [
  'egress:', // 5
  '  gateway: istio-system/egress',
  '  httpPort: 8080',
  '  hosts:',
  '    - { host: api.example.com, port: 443, protocol: tls }',
  '    - { host: httpbin.org, port: 80, protocol: http }', // 10
  '    - { host: 192.0.2.7, port: 8000, protocol: http }',
];

describe('mesh file: egress', () => {
  it('reads the gateway, its ports (tls defaulting to 443) and the declared hosts', () => {
    const config = configOf(lines(...API_HEAD, ...EGRESS));
    assert.deepEqual(config.egress, {
      gateway: 'istio-system/egress',
      // The gateway's own default service account: its name.
      serviceAccount: 'egress',
      httpPort: 8080,
      tlsPort: 443,
      hosts: [
        { host: 'api.example.com', port: 443, protocol: 'tls' },
        { host: 'httpbin.org', port: 80, protocol: 'http' },
        { host: '192.0.2.7', port: 8000, protocol: 'http' },
      ],
    });
  });

  it("reads the gateway's service account, and refuses one that is no DNS name, on its line", () => {
    const text = lines(...API_HEAD, ...EGRESS).replace(
      '  httpPort: 8080',
      '  serviceAccount: egress-sa\n  httpPort: 8080',
    );
    assert.equal(configOf(text).egress?.serviceAccount, 'egress-sa');
    expectError(text.replace('egress-sa', 'Egress_SA'), 'egress.serviceAccount', 7);
  });

  it('a mesh without egress: has none', () => {
    assert.equal(configOf(lines(...API_HEAD)).egress, undefined);
  });

  it('refuses an unknown protocol, on its line', () => {
    const text = lines(...API_HEAD, ...EGRESS).replace(
      'org, port: 80, protocol: http }',
      'org, port: 80, protocol: https }',
    );
    expectError(text, 'egress.hosts[1].protocol', 10, /http, tls/);
  });

  it('refuses a gateway not written <namespace>/<name>', () => {
    const text = lines(...API_HEAD, ...EGRESS).replace('istio-system/egress', 'egress');
    expectError(text, 'egress.gateway', 6);
  });

  it('refuses a host that is neither a DNS name nor an IP literal', () => {
    const text = lines(...API_HEAD, ...EGRESS).replace('httpbin.org', 'Http_Bin');
    expectError(text, 'egress.hosts[1].host', 10, /neither a lower-case DNS name nor an IP/);
  });

  it('refuses a tls host given as an IP literal: SNI carries no address', () => {
    const text = lines(...API_HEAD, ...EGRESS).replace('api.example.com', '192.0.2.8');
    expectError(text, 'egress.hosts[0].host', 9, /must be a DNS name.*SNI/);
  });

  it('refuses a host declared twice on a port, and a tls host twice on any ports', () => {
    const text = lines(
      ...API_HEAD,
      ...EGRESS,
      '    - { host: httpbin.org, port: 80, protocol: http }', // 12
      '    - { host: api.example.com, port: 8443, protocol: tls }', // 13
    );
    assert.deepEqual(errorSummary(text), [
      "12 egress.hosts[3].host: host 'httpbin.org' port 80 is declared twice; see egress.hosts[1]",
      "13 egress.hosts[4].host: tls host 'api.example.com' is declared twice (see egress.hosts[0]): SNI carries no port, so the gateway could not tell them apart",
    ]);
  });

  it('refuses the same port for http and tls', () => {
    const text = lines(...API_HEAD, ...EGRESS).replace('httpPort: 8080', 'httpPort: 443');
    expectError(text, 'egress.httpPort', 7, /must differ from its http port \(both 443\)/);
  });

  it('refuses a host without a port', () => {
    const text = lines(...API_HEAD, ...EGRESS).replace(', port: 8000', '');
    expectError(text, 'egress.hosts[2].port', 11, /required property 'port'/);
  });
});
