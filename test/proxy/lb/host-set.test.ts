import assert from 'node:assert/strict';
import { Host, HostSet } from '../../../src/proxy/lb/index.js';
import type { envoy } from '../../../src/xds/index.js';
import { makeCla } from './fakes.js';

function ok<T>(r: { ok: true; value: T } | { ok: false; errors: readonly unknown[] }): T {
  if (!r.ok) assert.fail(`unexpected errors: ${JSON.stringify(r.errors)}`);
  return r.value;
}

describe('lb: HostSet', () => {
  it('builds hosts from an assignment, grouped densely by priority and locality', () => {
    const set = new HostSet('svc');
    const change = ok(
      set.update(
        makeCla([
          {
            zone: 'a',
            weight: 3,
            endpoints: [{ ip: '10.0.0.1', weight: 5, health: 'HEALTHY' }, '10.0.0.2'],
          },
          {
            priority: 2,
            zone: 'b',
            endpoints: [{ ip: 'fd00::7', port: 8443, health: 'DRAINING' }],
          },
        ]),
      ),
    );
    assert.equal(change.added.length, 3);
    assert.deepEqual(
      set.hosts.map((h) => [h.key, h.weight, h.health, h.priority, h.locality.zone]),
      [
        ['10.0.0.1:80', 5, 'HEALTHY', 0, 'a'],
        ['10.0.0.2:80', 1, 'UNKNOWN', 0, 'a'],
        ['[fd00::7]:8443', 1, 'DRAINING', 2, 'b'],
      ],
    );
    assert.deepEqual(
      set.priorities.map((p) => [p.priority, p.hosts.length, p.localities.map((l) => l.weight)]),
      [
        [0, 2, [3]],
        [1, 0, []],
        [2, 1, [0]],
      ],
    );
    assert.equal(set.get('10.0.0.2:80'), set.hosts[1]);
    assert.equal(set.overprovisioningFactor, 140);
    assert.equal(set.version, 1);
  });

  it('reuses Host objects across updates, so counters and ejection persist', () => {
    const set = new HostSet('svc');
    ok(set.update(makeCla([{ endpoints: ['10.0.0.1', '10.0.0.2', '10.0.0.3'] }])));
    const [a, b, c] = set.hosts;
    a!.active = 3;
    a!.rqTotal = 100;
    a!.rqError = 2;
    b!.ejected = true;

    const change = ok(
      set.update(
        makeCla([
          { endpoints: [{ ip: '10.0.0.2', weight: 7 }] },
          { priority: 1, endpoints: [{ ip: '10.0.0.1', health: 'UNHEALTHY' }, '10.0.0.4'] },
        ]),
      ),
    );
    assert.equal(set.get('10.0.0.1:80'), a);
    assert.equal(set.get('10.0.0.2:80'), b);
    assert.deepEqual(
      [a!.active, a!.rqTotal, a!.rqError, a!.health, a!.priority],
      [3, 100, 2, 'UNHEALTHY', 1],
    );
    assert.deepEqual([b!.ejected, b!.weight], [true, 7]);
    assert.deepEqual(
      change.added.map((h) => h.key),
      ['10.0.0.4:80'],
    );
    assert.deepEqual(change.removed, [c]);
    assert.equal(set.get('10.0.0.3:80'), undefined);

    ok(set.update(makeCla([{ endpoints: ['10.0.0.3'] }])));
    assert.notEqual(set.get('10.0.0.3:80'), c, 'a host that left comes back as a new object');
  });

  it('rejects an invalid assignment whole, reporting every problem, and keeps the last good set', () => {
    const set = new HostSet('svc');
    ok(set.update(makeCla([{ endpoints: ['10.0.0.1'] }])));
    const before = set.hosts;
    const result = set.update({
      endpoints: [
        {
          priority: 129,
          load_balancing_weight: { value: 0 },
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '10.0.0.2', port_value: 0 } } } },
            { endpoint: { address: { pipe: {} } } },
            {
              endpoint: { address: { socket_address: { address: '', port_value: 80 } } },
              load_balancing_weight: { value: 0 },
            },
          ],
        },
      ],
    });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => e.field),
      [
        'endpoints[0].priority',
        'endpoints[0].load_balancing_weight',
        'endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value',
        'endpoints[0].lb_endpoints[1].endpoint.address',
        'endpoints[0].lb_endpoints[2].endpoint.address.socket_address.address',
        'endpoints[0].lb_endpoints[2].load_balancing_weight',
      ],
    );
    assert.ok(result.errors.every((e) => e.code === 'FERRY_LB_INVALID_ENDPOINTS'));
    assert.match(result.errors[0]!.message, /^cluster "svc": /);
    assert.equal(set.hosts, before);
    assert.equal(set.version, 1);
  });

  it('keeps the first of a repeated address:port, with a warning', () => {
    const set = new HostSet('svc');
    const result = set.update(
      makeCla([{ endpoints: ['10.0.0.1'] }, { priority: 1, endpoints: ['10.0.0.1'] }]),
    );
    assert.ok(result.ok);
    assert.equal(set.hosts.length, 1);
    assert.equal(set.hosts[0]!.priority, 0);
    assert.match(result.warnings[0]!, /10\.0\.0\.1:80 is listed twice/);
  });

  it('reads health names and numbers; an unknown status counts as UNKNOWN', () => {
    const set = new HostSet();
    const result = set.update({
      endpoints: [
        {
          lb_endpoints: [1, 3, 'BOGUS'].map((health_status, i) => ({
            endpoint: {
              address: { socket_address: { address: `10.0.0.${i + 1}`, port_value: 80 } },
            },
            // A number: what the decoder leaves for a value the protos do not name.
            health_status: health_status as envoy.LbEndpoint['health_status'],
          })),
        },
      ],
      policy: { overprovisioning_factor: { value: 200 } },
    });
    assert.ok(result.ok);
    assert.deepEqual(
      set.hosts.map((h) => h.health),
      ['HEALTHY', 'DRAINING', 'UNKNOWN'],
    );
    assert.match(result.warnings[0]!, /BOGUS is unknown/);
    assert.equal(set.overprovisioningFactor, 200);
  });

  it('counts HEALTHY and UNKNOWN hosts that are not ejected as healthy', () => {
    const healthy = (init: ConstructorParameters<typeof Host>[2]) =>
      new Host('10.0.0.1', 80, init).healthy;
    assert.equal(healthy({ health: 'HEALTHY' }), true);
    assert.equal(healthy({ health: 'UNKNOWN' }), true);
    for (const health of ['UNHEALTHY', 'DRAINING', 'TIMEOUT', 'DEGRADED'] as const) {
      assert.equal(healthy({ health }), false, health);
    }
    const ejected = new Host('10.0.0.1', 80, { health: 'HEALTHY' });
    ejected.ejected = true;
    assert.equal(ejected.healthy, false);
  });
  it('rejects entries that are not objects instead of throwing', () => {
    const set = new HostSet('svc');
    const result = set.update({
      endpoints: [null as never, { lb_endpoints: [undefined as never] }],
    });
    assert.ok(!result.ok);
    assert.deepEqual(
      result.errors.map((e) => e.field),
      ['endpoints[0]', 'endpoints[1].lb_endpoints[0]'],
    );
  });

  it('serializes a host for the admin page', () => {
    const set = new HostSet('svc');
    assert.ok(set.update(makeCla([{ endpoints: [{ ip: '10.0.0.1', health: 'HEALTHY' }] }])).ok);
    set.hosts[0]!.rqTotal = 3;
    assert.deepEqual(JSON.parse(JSON.stringify(set.hosts)), [
      {
        key: '10.0.0.1:80',
        hostname: '',
        weight: 1,
        health: 'HEALTHY',
        healthy: true,
        ejected: false,
        failedHealthCheck: false,
        locality: { region: 'r1', zone: 'z1', subZone: '' },
        priority: 0,
        active: 0,
        rqTotal: 3,
        rqError: 0,
      },
    ]);
  });
});
