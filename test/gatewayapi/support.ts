/**
 * Gateway API test configurations written as the API's YAML, parsed by the mesh file parser:
 * a few services (the backends) and the resources a test adds.
 */
import assert from 'node:assert/strict';
import { gatewayApiState } from '../../src/controlplane/translate/index.js';
import type { Condition, GatewayApiState, RouteState } from '../../src/gatewayapi/index.js';
import { type MeshConfig, parseMesh } from '../../src/mesh/index.js';

export const SERVICES = `services:
  - name: api
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 10.0.0.1, port: 18080 }]
  - name: api-v2
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 10.0.0.2, port: 18080 }]
  - name: mirror
    ports: [{ port: 8080, protocol: http }]
    endpoints: [{ address: 10.0.0.3, port: 18080 }]
  - name: db
    ports: [{ port: 5432, protocol: tcp }]
    endpoints: [{ address: 10.0.0.4, port: 5432 }]
  - name: billing
    namespace: other
    ports: [{ port: 9090, protocol: http }]
    endpoints: [{ address: 10.0.0.5, port: 9090 }]
`;

/** `resources` are YAML list items (each starting with `- apiVersion:`), indented by 2. */
export function meshOf(resources: string, extra = ''): MeshConfig {
  const text = `${SERVICES}gatewayApi:\n${resources}${extra}`;
  const parsed = parseMesh(text, 'mesh.yaml');
  if (!parsed.ok)
    assert.fail(parsed.errors.map((e) => `${e.line}: ${e.field}: ${e.message}`).join('\n'));
  return parsed.config;
}

export function stateOf(resources: string, extra = ''): GatewayApiState {
  return gatewayApiState(meshOf(resources, extra));
}

/** A Gateway `gw` in `default` with the given listeners (YAML list items, indented 8). */
export function gateway(listeners: string, name = 'gw', namespace = 'default'): string {
  return `  - apiVersion: gateway.networking.k8s.io/v1
    kind: Gateway
    metadata: { name: ${name}, namespace: ${namespace} }
    spec:
      gatewayClassName: ferry
      listeners:
${listeners}`;
}

export const HTTP_LISTENER = '        - { name: http, port: 80, protocol: HTTP }\n';

/** An HTTPRoute with the given spec body (indented 6). */
export function httpRoute(
  name: string,
  spec: string,
  namespace = 'default',
  created?: string,
): string {
  const ts = created ? `, creationTimestamp: '${created}'` : '';
  return `  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: { name: ${name}, namespace: ${namespace}${ts} }
    spec:
${spec}`;
}

export function routeState(state: GatewayApiState, name: string): RouteState {
  const found = state.routes.find((r) => r.route.metadata.name === name);
  assert.ok(found, `no route ${name}`);
  return found;
}

/** `type=status/reason` of each condition, for compact comparisons. */
export function brief(conditions: readonly Condition[]): string[] {
  return conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
}
