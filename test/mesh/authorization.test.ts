import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { effectiveMtls, spiffeId } from '../../src/mesh/index.js';
import { configOf, errorsOf, expectError, lines } from './mesh-fixtures.js';

const HEAD = [
  'services:',
  '  - name: api', // 2
  '    ports:', // 3
  '      - { port: 8080, protocol: http }', // 4
  '      - { port: 9090, protocol: grpc }', // 5
  '    endpoints:', // 6
  '      - { address: 10.0.0.1, port: 18080, meshed: true, serviceAccount: api }', // 7
  '      - { address: 10.0.0.2, port: 18080 }', // 8
];

describe('mesh file: mTLS and authorization', () => {
  it('reads mtls modes: the mesh default PERMISSIVE, a service overriding it', () => {
    const config = configOf(
      lines(
        'mesh: { mtls: STRICT }',
        ...HEAD,
        '    policy: { mtls: DISABLE }',
        '  - name: web',
        '    ports: [{ port: 80, protocol: http }]',
      ),
    );
    assert.equal(config.mesh.mtls, 'STRICT');
    assert.equal(effectiveMtls(config.services[0], config.mesh), 'DISABLE');
    assert.equal(effectiveMtls(config.services[1], config.mesh), 'STRICT');
    assert.equal(configOf(lines(...HEAD)).mesh.mtls, 'PERMISSIVE');
  });

  it('reads meshed static endpoints and their service accounts', () => {
    const [api] = configOf(lines(...HEAD)).services;
    assert.deepEqual(
      api.endpoints.map((e) => [e.meshed, e.serviceAccount]),
      [
        [true, 'api'],
        [false, 'api'],
      ],
    );
    assert.equal(spiffeId('td', 'ns1', 'sa1'), 'spiffe://td/ns/ns1/sa/sa1');
  });

  it('reads rules: default action ALLOW, Istio principals as SPIFFE IDs, * as prefix', () => {
    const [api] = configOf(
      lines(
        ...HEAD,
        '    authorization:',
        '      - name: deny-admin',
        '        action: DENY',
        '        to: [{ paths: [/admin, /admin/*] }]',
        '      - name: web',
        '        from:',
        '          - principals: [cluster.local/ns/default/sa/web, "spiffe://other/ns/x/*"]',
        '          - namespaces: [tools]',
        '          - principals: ["*"]',
        '        to:',
        '          - { methods: [GET, POST], paths: ["*"], ports: [9090] }',
      ),
    ).services;
    assert.deepEqual(api.authorization, [
      {
        name: 'deny-admin',
        action: 'DENY',
        from: [],
        to: [{ methods: [], paths: [{ exact: '/admin' }, { prefix: '/admin/' }], ports: [] }],
      },
      {
        name: 'web',
        action: 'ALLOW',
        from: [
          {
            principals: [
              { exact: 'spiffe://cluster.local/ns/default/sa/web' },
              { prefix: 'spiffe://other/ns/x/' },
            ],
            namespaces: [],
          },
          { principals: [], namespaces: ['tools'] },
          { principals: [{ prefix: 'spiffe://' }], namespaces: [] },
        ],
        to: [{ methods: ['GET', 'POST'], paths: [{ prefix: '/' }], ports: [9090] }],
      },
    ]);
  });

  it('leaves authorization out when a service has no rules', () => {
    const [api] = configOf(lines(...HEAD)).services;
    assert.equal(api.authorization, undefined);
  });

  it('refuses a duplicate rule name', () => {
    expectError(
      lines(
        ...HEAD,
        '    authorization:',
        '      - { name: a, to: [{ ports: [8080] }] }',
        '      - { name: a, action: DENY }',
      ),
      'services[0].authorization[1].name',
      11,
      /duplicate rule name 'a'; see authorization\[0\]/,
    );
  });

  it('refuses a port the service does not have', () => {
    expectError(
      lines(...HEAD, '    authorization:', '      - { name: a, to: [{ ports: [8080, 7070] }] }'),
      'services[0].authorization[0].to[0].ports[1]',
      10,
      /7070 is not a port of the service \(its ports: 8080, 9090\)/,
    );
  });

  it('refuses methods and paths on a service with only tcp ports', () => {
    const errors = errorsOf(
      lines(
        'services:',
        '  - name: db',
        '    ports: [{ port: 5432, protocol: tcp }]',
        '    authorization:',
        '      - { name: a, to: [{ methods: [GET], paths: [/x] }] }',
      ),
    );
    assert.deepEqual(
      errors.map((e) => [e.field, e.line]),
      [
        ['services[0].authorization[0].to[0].methods', 5],
        ['services[0].authorization[0].to[0].paths', 5],
      ],
    );
    assert.match(errors[0].message, /only tcp ports/);
  });

  it('schema: unknown action, bad principal, path without /, empty source, missing name', () => {
    const errors = errorsOf(
      lines(
        ...HEAD,
        '    authorization:',
        '      - name: a', // 10
        '        action: AUDIT', // 11
        '        from: [{ principals: ["a b"] }, {}]', // 12
        '        to: [{ paths: [admin] }]', // 13
        '      - action: DENY', // 14
      ),
    );
    assert.deepEqual(
      errors.map((e) => `${e.line} ${e.field}`),
      [
        '11 services[0].authorization[0].action',
        '12 services[0].authorization[0].from[0].principals[0]',
        '12 services[0].authorization[0].from[1]',
        '13 services[0].authorization[0].to[0].paths[0]',
        '14 services[0].authorization[1].name',
      ],
    );
    assert.match(errors[0].message, /must be one of ALLOW, DENY; got 'AUDIT'/);
    assert.match(errors[2].message, /needs at least one of principals, namespaces/);
    assert.match(errors[3].message, /a path starting with '\/'/);
    assert.match(errors[4].message, /required property 'name' is missing/);
  });

  it('schema: a misspelt field in a rule gets a suggestion', () => {
    expectError(
      lines(...HEAD, '    authorization:', '      - { name: a, form: [{ namespaces: [x] }] }'),
      'services[0].authorization[0].form',
      10,
      /unknown property 'form'; did you mean 'from'\?/,
    );
  });
});
