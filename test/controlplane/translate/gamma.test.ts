/**
 * GAMMA: an HTTPRoute whose parentRef is a Service gives the sidecars the same outbound
 * routes as the equivalent route in the mesh file.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { translateMesh } from '../../../src/controlplane/translate/index.js';
import type { MeshConfig } from '../../../src/mesh/index.js';
import { httpRoute, meshOf, SERVICES } from '../../gatewayapi/support.js';
import { configOf } from '../../mesh/mesh-fixtures.js';
import { get } from './resource-helpers.js';

const GAMMA_SPLIT = httpRoute(
  'split',
  `      parentRefs: [{ group: "", kind: Service, name: api, port: 8080 }]
      rules:
        - backendRefs:
            - { name: api, port: 8080, weight: 80 }
            - { name: api-v2, port: 8080, weight: 20 }
`,
);

/** The same split as a mesh file route of `api`. */
const FILE_SPLIT = SERVICES.replace(
  '    endpoints: [{ address: 10.0.0.1, port: 18080 }]\n',
  `    endpoints: [{ address: 10.0.0.1, port: 18080 }]
    routes:
      - name: split
        match: [{ path: { prefix: / } }]
        backends: [{ service: api, weight: 80 }, { service: api-v2, weight: 20 }]
`,
);

function outboundRoutes(config: MeshConfig): unknown {
  return get(translateMesh(config).resources.routes, 'outbound.default');
}

describe('translate: GAMMA routes', () => {
  it('an 80/20 HTTPRoute on a Service gives the same RDS as the mesh file route', () => {
    const gamma = outboundRoutes(meshOf(GAMMA_SPLIT));
    const file = outboundRoutes(configOf(FILE_SPLIT));
    assert.deepEqual(gamma, file);
    // And it is a split, not the plain service route.
    assert.match(JSON.stringify(gamma), /"weighted_clusters".*"weight":\{"value":80\}/);
  });

  it("matches in precedence order ahead of the service's own routes; unsupported filters are said", () => {
    const route = httpRoute(
      'r',
      `      parentRefs: [{ group: "", kind: Service, name: api }]
      rules:
        - matches: [{ path: { type: PathPrefix, value: /a } }]
          backendRefs: [{ name: api-v2, port: 8080 }]
        - matches: [{ path: { type: Exact, value: /a/b } }]
          backendRefs: [{ name: mirror, port: 8080 }]
        - matches: [{ path: { type: Exact, value: /c } }]
          filters: [{ type: RequestRedirect, requestRedirect: { hostname: x.io } }]
`,
    );
    const t = translateMesh(meshOf(route));
    const rc = get(t.resources.routes, 'outbound.default');
    const vh = rc.virtual_hosts.find(
      (v: { name: string }) => v.name === 'api.default.svc.cluster.local:8080',
    );
    assert.deepEqual(
      vh.routes.map((r: { name: string; match: unknown }) => [r.name, r.match]),
      [
        ['r-1-0', { path: '/a/b' }],
        ['r-0-0', { prefix: '/a' }],
        ['default', { prefix: '/' }],
      ],
    );
    assert.match(
      t.warnings.join('\n'),
      /HTTPRoute default\/r rule 2: RequestRedirect is not supported on a Service parent yet; left out/,
    );
  });

  it('a backend refused (another namespace, no ReferenceGrant) is left out of the split', () => {
    const route = httpRoute(
      'r',
      `      parentRefs: [{ group: "", kind: Service, name: api }]
      rules:
        - backendRefs: [{ name: api-v2, port: 8080 }, { name: billing, namespace: other, port: 9090 }]
`,
    );
    const t = translateMesh(meshOf(route));
    const rc = get(t.resources.routes, 'outbound.default');
    const vh = rc.virtual_hosts.find(
      (v: { name: string }) => v.name === 'api.default.svc.cluster.local:8080',
    );
    assert.deepEqual(vh.routes[0].route, {
      cluster: 'outbound|8080||api-v2.default.svc.cluster.local',
    });
    assert.match(t.warnings.join('\n'), /ResolvedRefs False \(RefNotPermitted\)/);
  });
});
