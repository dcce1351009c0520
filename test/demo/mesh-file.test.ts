/** examples/demo/mesh.yaml is a valid mesh file that describes what the demo runs. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_GATEWAY, DEMO_PLAN, DEMO_SERVICE_PORT, ENTRY_SERVICE } from '../../src/demo/index.js';
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

  it("declares the Gateway the demo's ferry gateway implements, an HTTPRoute on it to frontend", async () => {
    const result = parseMesh(await readFile(FILE, 'utf8'), FILE);
    assert.ok(result.ok);
    const api = result.config.gatewayApi;
    const gateway = api?.gateways.find(
      (g) =>
        g.metadata.name === DEMO_GATEWAY.name && g.metadata.namespace === DEMO_GATEWAY.namespace,
    );
    assert.ok(gateway, `Gateway ${DEMO_GATEWAY.namespace}/${DEMO_GATEWAY.name}`);
    assert.deepEqual(
      gateway.listeners.map((l) => [l.port, l.protocol]),
      [[DEMO_GATEWAY.listenerPort, 'HTTP']],
    );
    const route = api?.routes.find(
      (r) => r.kind === 'HTTPRoute' && r.parentRefs.some((p) => p.name === DEMO_GATEWAY.name),
    );
    assert.ok(route && 'rules' in route, 'an HTTPRoute on the Gateway');
    assert.deepEqual(
      route.rules.flatMap((r) => r.backendRefs.map((b) => [b.name, b.port])),
      [[ENTRY_SERVICE, DEMO_SERVICE_PORT]],
    );
  });
});
