/** services[].serviceAccounts: who may join a service (issue 12), read and checked. */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { admittedServiceAccounts } from '../../src/mesh/index.js';
import { API_HEAD, configOf, errorSummary, expectError, lines } from './mesh-fixtures.js';

describe('mesh file: services[].serviceAccounts', () => {
  it('defaults to the service’s own name; a meshed endpoint’s account defaults to the first admitted', () => {
    const [api] = configOf(
      lines(...API_HEAD, '    endpoints:', '      - { address: 10.0.0.1, port: 1, meshed: true }'),
    ).services;
    assert.equal(api.serviceAccounts, undefined);
    assert.deepEqual(admittedServiceAccounts(api), ['api']);
    assert.equal(api.endpoints[0].serviceAccount, 'api');
  });

  it('reads the list, and meshed endpoints may present any account of it', () => {
    const [api] = configOf(
      lines(
        ...API_HEAD,
        '    serviceAccounts: [api, api-canary]',
        '    endpoints:',
        '      - { address: 10.0.0.1, port: 1, meshed: true }',
        '      - { address: 10.0.0.2, port: 1, meshed: true, serviceAccount: api-canary }',
      ),
    ).services;
    assert.deepEqual(admittedServiceAccounts(api), ['api', 'api-canary']);
    assert.deepEqual(
      api.endpoints.map((e) => e.serviceAccount),
      ['api', 'api-canary'],
    );
  });

  it('refuses a meshed endpoint whose account the service does not admit, at its line', () => {
    expectError(
      lines(
        ...API_HEAD,
        '    endpoints:', // 5
        '      - { address: 10.0.0.1, port: 1, meshed: true, serviceAccount: evil }', // 6
      ),
      'services[0].endpoints[0].serviceAccount',
      6,
      /service account 'evil' is not one the service admits \(serviceAccounts: api\)/,
    );
  });

  it('schema: an empty list, a duplicate and a name that is not a Kubernetes name', () => {
    assert.deepEqual(
      errorSummary(
        lines(
          ...API_HEAD,
          '  - name: a', // 5
          '    ports: [{ port: 1, protocol: tcp }]',
          '    serviceAccounts: []', // 7
          '  - name: b',
          '    ports: [{ port: 1, protocol: tcp }]',
          '    serviceAccounts: [x, x]', // 10
          '  - name: c',
          '    ports: [{ port: 1, protocol: tcp }]',
          '    serviceAccounts: [Not_A_Name]', // 13
        ),
      ).map((e) => e.split(':')[0]),
      [
        '7 services[1].serviceAccounts',
        '10 services[2].serviceAccounts[1]',
        '13 services[3].serviceAccounts[0]',
      ],
    );
  });
});
