/** examples/demo/mesh.yaml is a valid mesh file that describes what the demo runs. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_PLAN, DEMO_SERVICE_PORT } from '../../src/demo/index.js';
import { parseMesh } from '../../src/mesh/index.js';

const FILE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../examples/demo/mesh.yaml',
);

describe('examples/demo/mesh.yaml', () => {
  it('parses without errors, declares every demo service with an app, and lists no endpoints', async () => {
    const result = parseMesh(await readFile(FILE, 'utf8'), FILE);
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors, null, 2));
    const { services } = result.config;
    for (const { service } of DEMO_PLAN.filter((i) => i.app)) {
      const s = services.find((x) => x.name === service);
      assert.ok(s, `${service} is declared`);
      assert.deepEqual(
        s.ports.map((p) => [p.port, p.protocol]),
        [[DEMO_SERVICE_PORT, 'http']],
      );
      // Endpoints come from the sidecars that register.
      assert.deepEqual(s.endpoints, [], `${service} lists no static endpoints`);
    }
  });

  it('splits reviews 80/20 between the subsets of the versions the demo runs', async () => {
    const result = parseMesh(await readFile(FILE, 'utf8'), FILE);
    assert.ok(result.ok);
    const reviews = result.config.services.find((s) => s.name === 'reviews')!;
    assert.deepEqual(
      reviews.subsets.map((s) => [s.name, s.labels]),
      DEMO_PLAN.filter((i) => i.service === 'reviews').map((i) => [
        i.version,
        { version: i.version },
      ]),
    );
    const split = reviews.routes.find((r) => r.name === 'split')!;
    assert.deepEqual(
      split.backends.map((b) => [b.subset, b.weight]),
      [
        ['v1', 80],
        ['v2', 20],
      ],
    );
  });
});
