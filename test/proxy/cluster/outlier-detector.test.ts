import assert from 'node:assert/strict';
import {
  Outcome,
  type OutlierConfig,
  OutlierDetector,
  parseOutlierDetection,
} from '../../../src/proxy/cluster/index.js';
import { Host } from '../../../src/proxy/lb/index.js';

const CONFIG: OutlierConfig = {
  consecutive5xx: 5,
  enforcing5xx: 100,
  consecutiveGateway: 5,
  enforcingGateway: 0,
  splitLocalOrigin: false,
  consecutiveLocalOrigin: 5,
  enforcingLocalOrigin: 100,
  intervalMs: 10_000,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 10,
  successRate: { enforcing: 100, minimumHosts: 5, requestVolume: 100, stdevFactor: 1900 },
  failurePercentage: { enforcing: 0, minimumHosts: 5, requestVolume: 50, threshold: 85 },
};

function setup(n: number, config = CONFIG) {
  const hosts = Array.from({ length: n }, (_, i) => new Host('10.0.0.1', 8000 + i));
  let now = 0;
  const log: string[] = [];
  let changes = 0;
  const d = new OutlierDetector(
    config,
    () => hosts,
    {
      changed: () => changes++,
      ejected: (h, reason, ms) => log.push(`eject ${h.port} ${reason} ${ms}`),
      returned: (h) => log.push(`return ${h.port}`),
    },
    () => now,
    () => 0.5,
  );
  return {
    hosts,
    d,
    log,
    changes: () => changes,
    advance: (ms: number) => {
      now += ms;
      d.check();
    },
  };
}

/**
 * A detector over one host per [sent, failed] pair, after one whole interval with that
 * traffic (the first interval only starts the count); which hosts it ejected, and its log.
 */
function judge(config: OutlierConfig, traffic: ReadonlyArray<readonly [number, number]>) {
  const t = setup(traffic.length, config);
  t.advance(config.intervalMs);
  traffic.forEach(([sent, failed], i) => {
    t.hosts[i].rqTotal += sent;
    t.hosts[i].rqError += failed;
  });
  t.advance(config.intervalMs);
  const ejected = t.hosts.map((h) => h.ejected);
  t.d.stop();
  return { ejected, log: t.log };
}

const STEADY: readonly [number, number] = [200, 2];
const SR_ONLY: OutlierConfig = { ...CONFIG, maxEjectionPercent: 50 };
const FP_ONLY: OutlierConfig = {
  ...CONFIG,
  maxEjectionPercent: 50,
  successRate: { ...CONFIG.successRate, enforcing: 0 },
  failurePercentage: { ...CONFIG.failurePercentage, enforcing: 100 },
};

describe('proxy/cluster: outlier detection', () => {
  it("reads Envoy's defaults, and is off without outlier_detection", () => {
    assert.equal(parseOutlierDetection({}), undefined);
    assert.deepEqual(parseOutlierDetection({ outlier_detection: {} }), {
      ...CONFIG,
    });
    const c = parseOutlierDetection({
      outlier_detection: { consecutive_5xx: { value: 3 }, base_ejection_time: { seconds: 1 } },
    });
    assert.equal(c?.consecutive5xx, 3);
    assert.equal(c?.baseEjectionMs, 1000);
  });

  it('ejects after 5 consecutive 5xx (a success in between starts over), for 30 s, then returns', () => {
    const t = setup(20);
    const h = t.hosts[0];
    for (let i = 0; i < 4; i++) t.d.record(h, Outcome.Error5xx);
    t.d.record(h, Outcome.Success);
    for (let i = 0; i < 4; i++) t.d.record(h, Outcome.Error5xx);
    assert.equal(h.ejected, false);
    t.d.record(h, Outcome.Error5xx);
    assert.equal(h.ejected, true);
    assert.equal(h.healthy, false);
    assert.deepEqual(t.log, ['eject 8000 consecutive 5xx 30000']);
    t.advance(20_000);
    assert.equal(h.ejected, true);
    t.advance(10_000);
    assert.equal(h.ejected, false);
    assert.deepEqual(t.log.at(-1), 'return 8000');
    assert.equal(t.changes(), 2, 'one rebuild per ejection and per return');
    t.d.stop();
  });

  it('a second ejection lasts twice as long; locally originated failures count', () => {
    const t = setup(20);
    const h = t.hosts[1];
    for (let i = 0; i < 5; i++) t.d.record(h, Outcome.Local);
    t.advance(30_000);
    for (let i = 0; i < 5; i++) t.d.record(h, Outcome.Local);
    assert.deepEqual(t.log, [
      'eject 8001 consecutive 5xx 30000',
      'return 8001',
      'eject 8001 consecutive 5xx 60000',
    ]);
    t.d.stop();
  });

  it('ejects at most max_ejection_percent of the hosts, but always one', () => {
    const t = setup(5);
    for (const h of t.hosts) for (let i = 0; i < 5; i++) t.d.record(h, Outcome.Error5xx);
    assert.equal(t.hosts.filter((h) => h.ejected).length, 1, '10% of 5 rounds to 0: still one');
    const many = setup(20, { ...CONFIG, maxEjectionPercent: 20 });
    for (const h of many.hosts) for (let i = 0; i < 5; i++) many.d.record(h, Outcome.Error5xx);
    assert.equal(many.hosts.filter((h) => h.ejected).length, 4);
    t.d.stop();
    many.d.stop();
  });

  it('gateway errors eject on their own count only when enforced', () => {
    const t = setup(10, {
      ...CONFIG,
      consecutive5xx: 100,
      consecutiveGateway: 3,
      enforcingGateway: 100,
    });
    for (let i = 0; i < 3; i++) t.d.record(t.hosts[0], Outcome.Gateway);
    assert.equal(t.hosts[0].ejected, true);
    assert.match(t.log[0], /consecutive gateway errors/);
    t.d.stop();
    assert.equal(t.hosts[0].ejected, false, 'stop() returns every host');
  });

  it('split local origin errors: connect failures count apart, and a response starts them over', () => {
    const t = setup(10, { ...CONFIG, splitLocalOrigin: true, consecutiveLocalOrigin: 3 });
    const [a, b] = t.hosts;
    for (let i = 0; i < 2; i++) t.d.record(a, Outcome.Local);
    t.d.record(a, Outcome.Error5xx); // a response: the connection worked
    for (let i = 0; i < 2; i++) t.d.record(a, Outcome.Local);
    assert.equal(a.ejected, false);
    t.d.record(a, Outcome.Local);
    assert.equal(a.ejected, true);
    // Local failures no longer count toward consecutive 5xx: 4 of them, then 4 5xx, stay.
    for (let i = 0; i < 2; i++) t.d.record(b, Outcome.Local);
    for (let i = 0; i < 4; i++) t.d.record(b, Outcome.Error5xx);
    assert.equal(b.ejected, false);
    assert.deepEqual(t.log, ['eject 8000 consecutive local origin failures 30000']);
    t.d.stop();
  });

  it('success rate: a host far under the others is ejected after an interval, given the floors', () => {
    const half = judge(SR_ONLY, [STEADY, STEADY, STEADY, STEADY, STEADY, [200, 100]]);
    assert.deepEqual(half.ejected, [false, false, false, false, false, true]);
    assert.match(half.log[0], /^eject 8005 success rate 50\.0% under \d+\.\d% 30000$/);
    // Under the request volume, or with fewer hosts than the minimum, nothing is judged.
    const quiet: [number, number] = [99, 0];
    const lowVolume = judge(SR_ONLY, [quiet, quiet, quiet, quiet, quiet, [99, 99]]);
    assert.ok(!lowVolume.ejected.includes(true), '99 requests is under the volume of 100');
    const fewHosts = judge(SR_ONLY, [STEADY, STEADY, STEADY, [200, 200]]);
    assert.ok(!fewHosts.ejected.includes(true), '4 hosts is under the minimum of 5');
  });

  it('success rate is off when not enforced; failure percentage ejects at its threshold when enforced', () => {
    const all = [STEADY, STEADY, STEADY, STEADY, [60, 51], [60, 50]] as const;
    assert.ok(
      !judge({ ...FP_ONLY, failurePercentage: CONFIG.failurePercentage }, all).ejected.includes(
        true,
      ),
    );
    // 51 of 60 is 85%, at the threshold; 50 of 60 is 83.3%, under it.
    const fp = judge(FP_ONLY, all);
    assert.deepEqual(fp.ejected, [false, false, false, false, true, false]);
    assert.match(fp.log[0], /^eject 8004 failure percentage 85\.0% 30000$/);
  });
});
