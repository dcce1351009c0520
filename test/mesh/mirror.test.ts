import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { API_HEAD, configOf, errorSummary, lines } from './mesh-fixtures.js';

describe('mesh file: request mirroring', () => {
  it('reads a mirror to another service and to a subset, 100% by default', () => {
    const [api] = configOf(
      lines(
        ...API_HEAD,
        '    subsets:',
        '      - { name: v2, labels: { version: v2 } }',
        '    routes:',
        '      - name: search',
        '        match: [{ path: { prefix: /search } }]',
        '        mirror: { service: shadow, namespace: test, port: 9090, percentage: 2.5 }',
        '      - name: rest',
        '        mirror: { subset: v2 }',
        '  - name: shadow',
        '    namespace: test',
        '    ports: [{ port: 9090, protocol: http }]',
      ),
    ).services;
    assert.deepEqual(api.routes[0].mirror, {
      service: 'shadow',
      namespace: 'test',
      port: 9090,
      percentage: 2.5,
    });
    assert.deepEqual(api.routes[1].mirror, {
      service: 'api',
      namespace: 'default',
      subset: 'v2',
      percentage: 100,
    });
  });

  it('names the mirror field at fault: unknown service, subset or port, percentage out of range', () => {
    const errors = errorSummary(
      lines(
        ...API_HEAD,
        '    subsets:', // 5
        '      - { name: v1, labels: { version: v1 } }', // 6
        '    routes:', // 7
        '      - name: a', // 8
        '        mirror: { service: nowhere }', // 9
        '      - name: b', // 10
        '        mirror: { subset: v3 }', // 11
        '      - name: c', // 12
        '        mirror: { service: db, percentage: 101 }', // 13
        '      - name: d', // 14
        '        mirror: { service: web, port: 9999 }', // 15
        '      - name: e', // 16
        '        mirror: { percentage: 50 }', // 17
        '      - name: f', // 18
        '        mirror: { service: web, percent: 50 }', // 19
        '  - name: web', // 20
        '    ports: [{ port: 8080, protocol: http }]', // 21
        '  - name: db', // 22
        '    ports: [{ port: 5432, protocol: tcp }]', // 23
      ),
    );
    assert.deepEqual(errors, [
      "9 services[0].routes[0].mirror.service: there is no service 'nowhere' in namespace 'default'",
      "11 services[0].routes[1].mirror.subset: service 'api' has no subset 'v3' (its subsets: v1)",
      "13 services[0].routes[2].mirror: service 'db' has no port 8080 (its ports: 5432); set port",
      '13 services[0].routes[2].mirror.percentage: must be at most 100; got 101',
      "15 services[0].routes[3].mirror.port: service 'web' has no port 9999 (its ports: 8080)",
      '17 services[0].routes[4].mirror: needs service, subset or both: without them the copies would go where the route sends',
      "19 services[0].routes[5].mirror.percent: unknown property 'percent' (allowed: service, namespace, port, subset, percentage)",
    ]);
  });
});
