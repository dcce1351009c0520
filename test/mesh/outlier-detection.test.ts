import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { API_HEAD, configOf, errorSummary, lines } from './mesh-fixtures.js';

describe('mesh file: outlier detection', () => {
  it('reads local origin failures, success-rate and failure-percentage ejection, on when given', () => {
    const [api] = configOf(
      lines(
        ...API_HEAD,
        '    policy:',
        '      outlierDetection:',
        '        consecutive5xx: 3',
        '        consecutiveLocalOriginFailures: 2',
        '        successRate: { minimumHosts: 3, requestVolume: 20, stdevFactor: 1.5 }',
        '        failurePercentage: {}',
      ),
    ).services;
    assert.deepEqual(api.policy.outlierDetection, {
      consecutive5xx: 3,
      consecutiveLocalOriginFailures: 2,
      successRate: { minimumHosts: 3, requestVolume: 20, stdevFactor: 1.5 },
      failurePercentage: {},
    });
  });

  it('refuses out-of-range settings and unknown fields, naming them', () => {
    assert.deepEqual(
      errorSummary(
        lines(
          ...API_HEAD,
          '    policy:', // 5
          '      outlierDetection:', // 6
          '        successRate: { minimumHosts: 0, stdevFactor: 0 }', // 7
          '        failurePercentage: { threshold: 101, volume: 5 }', // 8
        ),
      ),
      [
        '7 services[0].policy.outlierDetection.successRate.minimumHosts: must be at least 1; got 0',
        '7 services[0].policy.outlierDetection.successRate.stdevFactor: must be > 0',
        '8 services[0].policy.outlierDetection.failurePercentage.threshold: must be at most 100; got 101',
        "8 services[0].policy.outlierDetection.failurePercentage.volume: unknown property 'volume' (allowed: threshold, minimumHosts, requestVolume)",
      ],
    );
  });
});
