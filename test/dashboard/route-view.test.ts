/** A service's routes and policy as the dashboard prints them. */
import assert from 'node:assert/strict';
import { policyLines, routeRows } from '../../src/dashboard/index.js';
import { parseMesh } from '../../src/mesh/index.js';
import { HARNESS_MESH } from './dashboard-harness.js';

describe('dashboard: routes and policy as text', () => {
  const parsed = parseMesh(HARNESS_MESH, 'mesh.yaml');
  assert.ok(parsed.ok, parsed.ok ? '' : JSON.stringify(parsed));
  const reviews = parsed.config.services.find((s) => s.name === 'reviews');
  assert.ok(reviews);

  it('one row per route: matches, each backend share in percent, mirror, fault; then the default', () => {
    assert.deepEqual(routeRows(reviews), [
      {
        name: 'canary-pinned',
        matches: ['header x-canary = true'],
        destinations: ['reviews v2 100%'],
        mirror: undefined,
        fault: 'abort HTTP 503 to 5%',
        limits: undefined,
      },
      {
        name: 'split',
        matches: ['path ^= /api'],
        destinations: ['reviews v1 80%', 'reviews v2 20%'],
        mirror: 'reviews v2 (5%)',
        fault: undefined,
        limits: undefined,
      },
      {
        name: '(default)',
        matches: ['anything else'],
        destinations: ['reviews 100%'],
        mirror: undefined,
        fault: undefined,
        limits: undefined,
      },
    ]);
  });

  it('the policy as short lines', () => {
    const lines = policyLines(reviews.policy);
    assert.equal(lines[0], 'load balancer: round_robin');
    assert.ok(
      lines.some((l) => l.startsWith('outlier detection: ')),
      lines.join('\n'),
    );
  });
});
