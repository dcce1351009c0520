import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'mocha';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_RETRY_BACKOFF_BASE_MS,
  DEFAULT_RETRY_BACKOFF_MAX_MS,
  DEFAULT_RETRY_ON,
  parseMesh,
} from '../../src/mesh/index.js';
import { configOf, lines } from './mesh-fixtures.js';

const EXAMPLE = new URL('../../../examples/mesh.yaml', import.meta.url);

describe('parseMesh', () => {
  it('accepts the example mesh file', async () => {
    const text = await readFile(EXAMPLE, 'utf8');
    const result = parseMesh(text, 'examples/mesh.yaml');
    assert.ok(result.ok, result.ok ? '' : JSON.stringify(result.errors, null, 2));
    const services = result.config.services.map((s) => `${s.name}.${s.namespace}`);
    assert.deepEqual(services, ['echo.default', 'web.default', 'api.default']);

    const echo = result.config.services[0];
    assert.deepEqual(echo.ports, [{ port: 50051, protocol: 'grpc', name: 'grpc-50051' }]);
    assert.deepEqual(
      echo.endpoints.map((e) => [e.address, e.ports[50051], e.labels.version, e.zone]),
      [
        ['127.0.0.1', 50061, 'v1', 'a'],
        ['127.0.0.1', 50062, 'v1', 'b'],
        ['127.0.0.1', 50063, 'v2', 'a'],
      ],
    );

    const api = result.config.services[2];
    assert.deepEqual(
      api.subsets.map((s) => s.name),
      ['v1', 'v2'],
    );
    const split = api.routes.find((r) => r.name === 'split');
    assert.deepEqual(split?.backends, [
      { service: 'api', namespace: 'default', subset: 'v1', weight: 90 },
      { service: 'api', namespace: 'default', subset: 'v2', weight: 10 },
    ]);
    assert.equal(api.policy.retries?.attempts, 3);
    assert.equal(api.policy.outlierDetection?.baseEjectionTimeMs, 30_000);
    assert.equal(api.policy.circuitBreaker?.maxRequests, 200);
  });

  it('applies defaults', () => {
    const config = configOf(
      lines(
        'services:',
        '  - name: echo',
        '    ports:',
        '      - { port: 50051, protocol: grpc }',
        '    endpoints:',
        '      - { address: 10.0.0.1, port: 50061 }',
      ),
    );
    assert.deepEqual(config.mesh, {
      trustDomain: 'cluster.local',
      domain: 'cluster.local',
      mtls: 'PERMISSIVE',
    });
    assert.deepEqual(config.services, [
      {
        name: 'echo',
        namespace: 'default',
        hostname: 'echo.default.svc.cluster.local',
        ports: [{ port: 50051, protocol: 'grpc', name: 'grpc-50051' }],
        endpoints: [
          {
            address: '10.0.0.1',
            ports: { 50051: 50061 },
            labels: {},
            region: '',
            zone: '',
            weight: 1,
            health: 'HEALTHY',
            meshed: false,
            serviceAccount: 'echo',
            source: 'mesh-file',
          },
        ],
        policy: { loadBalancer: 'round_robin', connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS },
        subsets: [],
        routes: [],
      },
    ]);
  });

  it('builds host names from the mesh domain and the namespace', () => {
    const config = configOf(
      lines(
        'mesh: { domain: mesh.example, trustDomain: example.org, mtls: STRICT }',
        'services:',
        '  - { name: api, namespace: shop, ports: [{ port: 80, protocol: http }] }',
      ),
    );
    assert.equal(config.services[0].hostname, 'api.shop.svc.mesh.example');
    assert.equal(config.mesh.trustDomain, 'example.org');
    assert.equal(config.mesh.mtls, 'STRICT');
  });

  it('fills an endpoint port for every service port', () => {
    const config = configOf(
      lines(
        'services:',
        '  - name: multi',
        '    ports:',
        '      - { port: 8080, protocol: http }',
        '      - { port: 9090, protocol: grpc, name: admin }',
        '    endpoints:',
        '      - { address: "::1", port: 7000 }',
        '      - { address: 10.0.0.2, ports: { "8080": 18080, "9090": 19090 } }',
      ),
    );
    const [one, two] = config.services[0].endpoints;
    assert.deepEqual(one.ports, { 8080: 7000, 9090: 7000 });
    assert.deepEqual(two.ports, { 8080: 18080, 9090: 19090 });
    assert.equal(config.services[0].ports[1].name, 'admin');
  });

  it('converts durations to milliseconds and fills retry defaults', () => {
    const config = configOf(
      lines(
        'services:',
        '  - name: api',
        '    ports: [{ port: 80, protocol: http }]',
        '    policy:',
        '      timeout: 1.5s',
        '      connectTimeout: 250ms',
        '      retries: { attempts: 2 }',
        '      outlierDetection: { interval: 1m, baseEjectionTime: 1h }',
        '    routes:',
        '      - name: slow',
        '        timeout: 1m30s',
        '        retries: { attempts: 1, on: [5xx], backoff: { base: 100ms } }',
      ),
    );
    const { policy, routes } = config.services[0];
    assert.equal(policy.timeoutMs, 1500);
    assert.equal(policy.connectTimeoutMs, 250);
    assert.deepEqual(policy.outlierDetection, {
      intervalMs: 60_000,
      baseEjectionTimeMs: 3_600_000,
    });
    assert.deepEqual(policy.retries, {
      attempts: 2,
      on: DEFAULT_RETRY_ON,
      retriableStatusCodes: [503],
      backoffBaseMs: DEFAULT_RETRY_BACKOFF_BASE_MS,
      backoffMaxMs: DEFAULT_RETRY_BACKOFF_MAX_MS,
    });
    assert.equal(routes[0].timeoutMs, 90_000);
    // A base without a max: Envoy's default max, ten times the base. No status codes without
    // retriable-status-codes.
    assert.deepEqual(routes[0].retries, {
      attempts: 1,
      on: ['5xx'],
      retriableStatusCodes: [],
      backoffBaseMs: 100,
      backoffMaxMs: 1000,
    });
  });

  it('normalizes routes: matches, backends in other services, rewrites', () => {
    const config = configOf(
      lines(
        'services:',
        '  - name: web',
        '    namespace: front',
        '    ports: [{ port: 8080, protocol: http }]',
        '    subsets: [{ name: v2, labels: { version: v2 } }]',
        '    routes:',
        '      - name: mixed',
        '        match:',
        '          - path: { regex: "^/u/[0-9]+$" }',
        '            headers:',
        '              X-User: { exact: alice }',
        '              x-debug: { present: true }',
        '              x-gone: { present: false }',
        '              x-no: { prefix: b, invert: true }',
        '            queryParams: { debug: { exact: "1" }, trace: { present: true } }',
        '            method: GET',
        '          - path: { prefix: /api }',
        '        backends:',
        '          - { subset: v2, weight: 3 }',
        '          - { service: api, namespace: back, port: 9090 }',
        '        rewrite: { prefix: /, authority: api.internal }',
        '  - name: api',
        '    namespace: back',
        '    ports: [{ port: 8080, protocol: http }, { port: 9090, protocol: http2 }]',
      ),
    );
    const [route] = config.services[0].routes;
    assert.deepEqual(route.match, [
      {
        path: { regex: '^/u/[0-9]+$' },
        headers: [
          { name: 'x-user', match: { exact: 'alice' }, invert: false },
          { name: 'x-debug', invert: false },
          { name: 'x-gone', invert: true },
          { name: 'x-no', match: { prefix: 'b' }, invert: true },
        ],
        queryParams: [{ name: 'debug', match: { exact: '1' } }, { name: 'trace' }],
        method: 'GET',
      },
      { path: { prefix: '/api' }, headers: [], queryParams: [] },
    ]);
    assert.deepEqual(route.backends, [
      { service: 'web', namespace: 'front', subset: 'v2', weight: 3 },
      { service: 'api', namespace: 'back', port: 9090, weight: 1 },
    ]);
    assert.deepEqual(route.rewrite, { prefix: '/', authority: 'api.internal' });
  });

  it('reads consistent-hash policies', () => {
    const config = configOf(
      lines(
        'services:',
        '  - name: a',
        '    ports: [{ port: 80, protocol: http }]',
        '    policy: { loadBalancer: ring_hash, hashOn: { cookie: session, ttl: 1h } }',
        '  - name: b',
        '    ports: [{ port: 80, protocol: http }]',
        '    policy: { loadBalancer: maglev, hashOn: { header: X-User } }',
        '  - name: c',
        '    ports: [{ port: 80, protocol: http }]',
        '    policy: { loadBalancer: maglev, hashOn: { sourceIp: true } }',
      ),
    );
    assert.deepEqual(
      config.services.map((s) => s.policy.hashOn),
      [{ cookie: 'session', ttlMs: 3_600_000 }, { header: 'x-user' }, { sourceIp: true }],
    );
  });

  it('accepts an empty list of services', () => {
    assert.deepEqual(configOf('services: []\n').services, []);
  });

  it('returns a frozen config', () => {
    const config = configOf(
      lines('services:', '  - name: a', '    ports: [{ port: 80, protocol: http }]'),
    );
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.services[0].ports[0]));
  });
});
