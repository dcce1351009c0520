import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { formatMeshError, MeshFileError } from '../../src/mesh/index.js';
import { errorsOf, expectError, FILE, lines } from './mesh-fixtures.js';

/** A valid two-service mesh; cases below change one thing in it. */
const HEAD = [
  'services:',
  '  - name: api', // 2
  '    ports:', // 3
  '      - { port: 8080, protocol: http }', // 4
  '    endpoints:', // 5
  '      - { address: 10.0.0.1, port: 18080, labels: { version: v1 } }', // 6
  '    subsets:', // 7
  '      - { name: v1, labels: { version: v1 } }', // 8
];

describe('mesh file errors', () => {
  describe('schema stage', () => {
    it('reports an unknown property at its key, with a suggestion', () => {
      const error = expectError(
        lines(...HEAD, '    polcy: { timeout: 1s }'),
        'services[0].polcy',
        9,
        /unknown property 'polcy'; did you mean 'policy'\?/,
      );
      assert.equal(error.column, 5);
    });

    it('reports a missing required property at the enclosing map', () => {
      const error = expectError(
        lines('services:', '  - name: api', '    ports:', '      - port: 80', '        name: web'),
        'services[0].ports[0].protocol',
        4,
        /required property 'protocol' is missing/,
      );
      assert.equal(error.column, 9);
    });

    it('reports a value outside an enumeration with the allowed values', () => {
      expectError(
        lines('services:', '  - name: api', '    ports:', '      - { port: 80, protocol: htp }'),
        'services[0].ports[0].protocol',
        4,
        /must be one of http, http2, grpc, tcp; got 'htp'/,
      );
    });

    it('reports a wrong type', () => {
      expectError(
        lines('services:', '  - name: api', '    ports:', '      - { port: "80", protocol: http }'),
        'services[0].ports[0].port',
        4,
        /must be an integer, not a string '80'/,
      );
    });

    it('reports numbers out of range', () => {
      expectError(
        lines(...HEAD.slice(0, 5), '      - { address: 10.0.0.1, port: 18080, weight: 129 }'),
        'services[0].endpoints[0].weight',
        6,
        /at most 128/,
      );
    });

    it('reports a name that is not a DNS label', () => {
      expectError(
        lines('services:', '  - name: Api_1', '    ports: [{ port: 80, protocol: http }]'),
        'services[0].name',
        2,
        /lower-case DNS label/,
      );
    });

    it('reports a label value YAML read as a number', () => {
      expectError(
        lines(...HEAD.slice(0, 5), '      - { address: 10.0.0.1, port: 1, labels: { v: 1 } }'),
        'services[0].endpoints[0].labels.v',
        6,
        /label value/,
      );
    });

    it('reports a path match with two kinds', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        match:',
          '          - path: { prefix: /a, exact: /b }',
        ),
        'services[0].routes[0].match[0].path',
        12,
        /exactly one of exact, prefix, regex/,
      );
    });

    it('requires the services list', () => {
      expectError(lines('mesh: { mtls: STRICT }'), 'services', 1, /required property 'services'/);
    });

    it('reports an empty file', () => {
      const [error] = errorsOf('# only a comment\n');
      assert.equal(error.line, 1);
      assert.match(error.message, /empty/);
    });
  });

  describe('durations', () => {
    it('requires a unit', () => {
      expectError(
        lines(...HEAD, '    policy: { timeout: 500 }'),
        'services[0].policy.timeout',
        9,
        /with a unit: ms, s, m or h/,
      );
    });

    it('rejects an unknown unit', () => {
      expectError(
        lines(...HEAD, '    policy:', '      connectTimeout: 5sec'),
        'services[0].policy.connectTimeout',
        10,
        /invalid value '5sec'.*with a unit/,
      );
    });

    it('rejects zero where zero has no meaning', () => {
      expectError(
        lines(...HEAD, '    policy:', '      connectTimeout: 0s'),
        'services[0].policy.connectTimeout',
        10,
        /greater than 0/,
      );
    });

    it('rejects a back-off maximum below its base', () => {
      expectError(
        lines(
          ...HEAD,
          '    policy:',
          '      retries:',
          '        attempts: 1',
          '        backoff: { base: 1s, max: 100ms }',
        ),
        'services[0].policy.retries.backoff.max',
        12,
        /less than the base/,
      );
    });
  });

  describe('semantic stage', () => {
    it('reports a duplicate service name and namespace', () => {
      expectError(
        lines(
          ...HEAD,
          '  - name: web',
          '    ports: [{ port: 80, protocol: http }]',
          '  - name: api',
          '    ports: [{ port: 80, protocol: http }]',
        ),
        'services[2].name',
        11,
        /duplicate service 'api' in namespace 'default'; see services\[0\]/,
      );
    });

    it('allows the same name in another namespace', () => {
      assert.deepEqual(
        errorsOf(
          lines(
            ...HEAD,
            '  - name: api',
            '    namespace: other',
            '    ports: [{ port: 80, protocol: http }]',
            '  - { name: api, ports: [] }',
          ),
        ).map((e) => e.field),
        ['services[2].name', 'services[2].ports'],
      );
    });

    it('reports a duplicate port number', () => {
      expectError(
        lines(...HEAD.slice(0, 4), '      - { port: 8080, protocol: grpc, name: grpc }'),
        'services[0].ports[1].port',
        5,
        /port 8080 is already ports\[0\]/,
      );
    });

    it('reports a duplicate port name, explicit or defaulted', () => {
      expectError(
        lines(...HEAD.slice(0, 4), '      - { port: 9090, protocol: http, name: http-8080 }'),
        'services[0].ports[1].name',
        5,
        /port name 'http-8080' is already used/,
      );
    });

    it('reports a duplicate subset name', () => {
      expectError(
        lines(...HEAD, '      - name: v1', '        labels: { version: v2 }'),
        'services[0].subsets[1].name',
        9,
        /duplicate subset name 'v1'/,
      );
    });

    it('reports an endpoint without a port', () => {
      expectError(
        lines(...HEAD.slice(0, 5), '      - address: 10.0.0.1', '        zone: a'),
        'services[0].endpoints[0]',
        6,
        /needs port .* or ports/,
      );
    });

    it('reports an endpoint with both port and ports', () => {
      expectError(
        lines(...HEAD.slice(0, 5), '      - { address: 10.0.0.1, port: 1, ports: { "8080": 2 } }'),
        'services[0].endpoints[0].ports',
        6,
        /either port or ports/,
      );
    });

    it('reports endpoint ports naming a port the service does not have', () => {
      const error = expectError(
        lines(
          ...HEAD.slice(0, 5),
          '      - address: 10.0.0.1',
          '        ports:',
          '          "8080": 1',
          '          "9090": 2',
        ),
        'services[0].endpoints[0].ports["9090"]',
        9,
        /9090 is not a port of the service \(its ports: 8080\)/,
      );
      assert.equal(error.column, 11);
    });

    it('reports endpoint ports missing a service port', () => {
      expectError(
        lines(
          'services:',
          '  - name: api',
          '    ports: [{ port: 80, protocol: http }, { port: 81, protocol: http }]',
          '    endpoints:',
          '      - address: 10.0.0.1',
          '        ports: { "80": 8080 }',
        ),
        'services[0].endpoints[0].ports',
        6,
        /no endpoint port for service port 81/,
      );
    });

    it("rejects a host name, and an address given twice, in a service's addresses", () => {
      expectError(
        lines(...HEAD.slice(0, 2), '    addresses: [10.96.0.1, api.local]', ...HEAD.slice(2)),
        'services[0].addresses[1]',
        3,
        /'api.local' is not an IP address; a service address is an IPv4 or IPv6 literal/,
      );
      expectError(
        lines(...HEAD.slice(0, 2), '    addresses: [fd00::1, fd00::1]', ...HEAD.slice(2)),
        'services[0].addresses[1]',
        3,
        /address fd00::1 is listed twice/,
      );
    });

    it('rejects a host name as an endpoint address', () => {
      expectError(
        lines(...HEAD.slice(0, 5), '      - { address: api.example.com, port: 1 }'),
        'services[0].endpoints[0].address',
        6,
        /'api.example.com' is not an IP address/,
      );
    });

    it('accepts IPv6 addresses and rejects duplicate endpoints', () => {
      expectError(
        lines(
          ...HEAD.slice(0, 5),
          '      - { address: "fd00::1", port: 1 }',
          '      - { address: "fd00::1", port: 1 }',
        ),
        'services[0].endpoints[1]',
        7,
        /\[fd00::1\]:1 is already endpoints\[0\]/,
      );
    });

    it('allows hashOn only with ring_hash or maglev', () => {
      expectError(
        lines(
          ...HEAD,
          '    policy:',
          '      loadBalancer: least_request',
          '      hashOn: { header: x-user }',
        ),
        'services[0].policy.hashOn',
        11,
        /needs loadBalancer ring_hash or maglev; the load balancer is least_request/,
      );
    });

    it('reports hashOn with two keys', () => {
      expectError(
        lines(
          ...HEAD,
          '    policy:',
          '      loadBalancer: ring_hash',
          '      hashOn: { header: a, sourceIp: true }',
        ),
        'services[0].policy.hashOn',
        11,
        /exactly one of header, cookie, sourceIp/,
      );
    });

    it('reports status codes that retry_on ignores', () => {
      expectError(
        lines(
          ...HEAD,
          '    policy:',
          '      retries:',
          '        attempts: 1',
          '        on: [5xx]',
          '        retriableStatusCodes: [502]',
        ),
        'services[0].policy.retries.retriableStatusCodes',
        13,
        /unless 'on' includes retriable-status-codes/,
      );
    });

    it('reports regular expressions that do not compile', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        match:',
          '          - path: { regex: "/(a" }',
        ),
        'services[0].routes[0].match[0].path.regex',
        12,
        /invalid regular expression/,
      );
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        match:',
          '          - headers: { x-id: { regex: "[" } }',
        ),
        'services[0].routes[0].match[0].headers.x-id.regex',
        12,
        /invalid regular expression/,
      );
    });

    it('reports, at its line, RE2 syntax that sidecars would refuse (backreference, lookahead)', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        match:',
          '          - path: { regex: "/(a)\\\\1" }',
        ),
        'services[0].routes[0].match[0].path.regex',
        12,
        /invalid regular expression: regex "\/\(a\)\\\\1" is not valid RE2: invalid escape sequence: \\1/,
      );
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        match:',
          '          - headers: { x-id: { regex: "a(?=b)" } }',
        ),
        'services[0].routes[0].match[0].headers.x-id.regex',
        12,
        /is not valid RE2: invalid perl operator: \(\?=/,
      );
    });

    it('reports a header match with two kinds', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        match:',
          '          - headers: { x-a: { exact: a, present: true } }',
        ),
        'services[0].routes[0].match[0].headers.x-a',
        12,
        /exactly one of exact, prefix, regex, present/,
      );
    });

    it('reports duplicate route names', () => {
      expectError(
        lines(...HEAD, '    routes:', '      - name: r', '      - name: r'),
        'services[0].routes[1].name',
        11,
        /duplicate route name 'r'/,
      );
    });

    it('reports backends whose weights add up to zero', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        backends:',
          '          - { subset: v1, weight: 0 }',
        ),
        'services[0].routes[0].backends',
        12,
        /weights add up to 0/,
      );
    });

    it('reports a backend subset the service does not have', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        backends:',
          '          - { subset: v2 }',
        ),
        'services[0].routes[0].backends[0].subset',
        12,
        /service 'api' has no subset 'v2' \(its subsets: v1\)/,
      );
    });

    it('reports a backend service that does not exist, in the route service namespace', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        backends:',
          '          - { service: web }',
        ),
        'services[0].routes[0].backends[0].service',
        12,
        /no service 'web' in namespace 'default'/,
      );
    });

    it('reports a backend port the target service does not have', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        backends:',
          '          - { service: web, port: 81 }',
          '  - name: web',
          '    ports: [{ port: 80, protocol: http }]',
        ),
        'services[0].routes[0].backends[0].port',
        12,
        /service 'web' has no port 81 \(its ports: 80\)/,
      );
    });

    it('reports a backend without a port when the target lacks the incoming port', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        backends:',
          '          - { service: web }',
          '  - name: web',
          '    ports: [{ port: 80, protocol: http }]',
        ),
        'services[0].routes[0].backends[0]',
        12,
        /service 'web' has no port 8080 .*set port/,
      );
    });

    it('reports a subset of another service that does not exist', () => {
      expectError(
        lines(
          ...HEAD,
          '    routes:',
          '      - name: r',
          '        backends:',
          '          - { service: web, subset: v1, port: 80 }',
          '  - name: web',
          '    ports: [{ port: 80, protocol: http }]',
        ),
        'services[0].routes[0].backends[0].subset',
        12,
        /service 'web' has no subset 'v1' \(it has no subsets\)/,
      );
    });

    it('reports routes on a service with only tcp ports', () => {
      expectError(
        lines(
          'services:',
          '  - name: db',
          '    ports: [{ port: 5432, protocol: tcp }]',
          '    routes:',
          '      - name: r',
        ),
        'services[0].routes',
        5,
        /only tcp ports/,
      );
    });
  });

  describe('YAML syntax', () => {
    it('reports a syntax error with its line', () => {
      const [error] = errorsOf(lines('services:', '  - name: api', '    ports: [{ port: 80', 'x'));
      assert.equal(error.file, FILE);
      assert.equal(error.field, '');
      assert.ok(error.line >= 3, `line ${error.line}`);
    });

    it('reports duplicate keys', () => {
      const errors = errorsOf(lines('services:', '  - name: api', '    name: web'));
      assert.equal(errors.length, 1);
      assert.equal(errors[0].line, 3);
      assert.match(errors[0].message, /unique/);
    });

    it('reports an alias to an unknown anchor', () => {
      const errors = errorsOf(lines('services: []', 'mesh: *nothing'));
      assert.deepEqual(
        errors.map((e) => [e.line, e.message]),
        [[2, 'unknown alias *nothing']],
      );
    });
  });

  it('collects every error of both stages in one pass, in file order', () => {
    const errors = errorsOf(
      lines(
        'mesh: { mtls: strict }', // 1: enum
        'services:',
        '  - name: api',
        '    ports:',
        '      - { port: 8080, protocol: http }',
        '      - { port: 8080, protocol: grpc, nmae: g }', // 6: duplicate port, unknown key
        '    endpoints:',
        '      - { address: localhost, port: 1 }', // 8: host name
        '    policy: { timeout: 3 }', // 9: duration without a unit
        '    routes:',
        '      - name: r',
        '        backends: [{ subset: v9 }]', // 12: unknown subset
      ),
    );
    assert.deepEqual(
      errors.map((e) => [e.line, e.field]),
      [
        [1, 'mesh.mtls'],
        [6, 'services[0].ports[1].port'],
        [6, 'services[0].ports[1].nmae'],
        [8, 'services[0].endpoints[0].address'],
        [9, 'services[0].policy.timeout'],
        [12, 'services[0].routes[0].backends[0].subset'],
      ],
    );
  });

  it('formats errors as FILE:LINE:COL: FIELD: MESSAGE', () => {
    const [error] = errorsOf(lines(...HEAD, '    polcy: {}'));
    assert.equal(
      formatMeshError(error),
      "mesh.yaml:9:5: services[0].polcy: unknown property 'polcy'; did you mean 'policy'?",
    );
    assert.equal(
      formatMeshError({ file: 'm.yaml', line: 2, column: 1, field: '', message: 'bad' }),
      'm.yaml:2:1: bad',
    );
    assert.equal(
      formatMeshError({ file: 'm.yaml', line: 0, column: 0, field: '', message: 'gone' }),
      'm.yaml: gone',
    );
  });

  it('MeshFileError carries every error and a stable code', () => {
    const errors = errorsOf(lines('mesh: { mtls: x }', 'services: [{ name: a }]'));
    const err = new MeshFileError(errors);
    assert.equal(err.code, 'FERRY_MESH_INVALID');
    assert.equal(err.errors.length, 2);
    assert.equal(err.message, errors.map(formatMeshError).join('\n'));
    assert.ok(err instanceof Error);
  });
});
