/**
 * The cluster's Gateway API resources against the replay API server (real HTTPS, the
 * API server's list and PATCH semantics): listed into the registry's shape, and each one's
 * status written with the spec's conditions and reasons, only for what is Ferry's. A kind
 * whose CRD is not installed (404) does not hold the others back.
 */
import assert from 'node:assert/strict';
import { GatewayApiSource } from '../../../src/controlplane/kubernetes/index.js';
import { gatewayApiState } from '../../../src/controlplane/translate/index.js';
import { GATEWAY_GROUP, type GatewayApiConfig } from '../../../src/gatewayapi/index.js';
import { silentLogger } from '../../../src/log/index.js';
import type { MeshConfig } from '../../../src/mesh/index.js';
import {
  type RecordedRequest,
  ReplayApiServer,
  status,
} from '../../kube/support/replay-api-server.js';
import { mesh, service } from '../../support/mesh.js';
import { waitFor } from '../../support/wait-for.js';

// biome-ignore lint/suspicious/noExplicitAny: objects are JSON as the API server keeps them.
type Obj = Record<string, any>;

const base = `/apis/${GATEWAY_GROUP}`;

function list(items: Obj[]) {
  return { body: { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '100' }, items } };
}

function meta(name: string, namespace?: string, generation = 3): Obj {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    generation,
    resourceVersion: '7',
    creationTimestamp: '2024-01-01T00:00:00Z',
  };
}

const route = (name: string, spec: Obj, namespace = 'default'): Obj => ({
  metadata: meta(name, namespace),
  spec,
});
const toGw = (extra: Obj = {}) => [{ name: 'gw', namespace: 'infra', ...extra }];
const toApi = [{ backendRefs: [{ name: 'api', port: 8080 }] }];

describe('kubernetes: gateway API resources and their status', function () {
  this.timeout(20_000);
  let server: ReplayApiServer;
  let source: GatewayApiSource;
  let listed: GatewayApiConfig | undefined;
  const patches = new Map<string, Obj>();

  before(async () => {
    server = await ReplayApiServer.start();
    server
      .list(
        `${base}/v1/gatewayclasses`,
        list([
          { metadata: meta('ferry'), spec: { controllerName: 'ferry.io/gateway-controller' } },
          { metadata: meta('other'), spec: { controllerName: 'example.com/other' } },
        ]),
      )
      .list(
        `${base}/v1/gateways`,
        list([
          {
            metadata: meta('gw', 'infra'),
            spec: {
              gatewayClassName: 'ferry',
              listeners: [
                {
                  name: 'http',
                  port: 80,
                  protocol: 'HTTP',
                  allowedRoutes: { namespaces: { from: 'All' } },
                },
              ],
            },
          },
          {
            metadata: meta('theirs', 'infra'),
            spec: {
              gatewayClassName: 'other',
              listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }],
            },
          },
        ]),
      )
      .list(
        `${base}/v1/httproutes`,
        list([
          route('good', { parentRefs: toGw(), rules: toApi }),
          route('cross', {
            parentRefs: toGw(),
            rules: [{ backendRefs: [{ name: 'billing', namespace: 'other', port: 9090 }] }],
          }),
          route('no-section', { parentRefs: toGw({ sectionName: 'nope' }), rules: toApi }),
          route('bad-regex', {
            parentRefs: toGw(),
            rules: [
              {
                matches: [{ path: { type: 'RegularExpression', value: '(?=x)' } }],
                backendRefs: [{ name: 'api', port: 8080 }],
              },
            ],
          }),
          route('to-theirs', {
            parentRefs: [{ name: 'theirs', namespace: 'infra' }],
            rules: toApi,
          }),
          {
            ...route('shared', {
              parentRefs: [...toGw(), { name: 'theirs', namespace: 'infra' }],
              rules: toApi,
            }),
            status: {
              parents: [
                {
                  parentRef: { name: 'theirs', namespace: 'infra' },
                  controllerName: 'example.com/other',
                  conditions: [],
                },
              ],
            },
          },
        ]),
      )
      .list(
        `${base}/v1/grpcroutes`,
        status(404, 'NotFound', 'the server could not find the requested resource'),
      )
      .list(`${base}/v1alpha2/tlsroutes`, list([]))
      .list(`${base}/v1alpha2/tcproutes`, list([]))
      .list(`${base}/v1beta1/referencegrants`, list([]));
    const record = (r: RecordedRequest) => {
      patches.set(r.path, JSON.parse(r.body));
      return { body: {} };
    };
    for (const [path] of [
      ['/gatewayclasses/ferry/status'],
      ['/gatewayclasses/other/status'],
      ['/namespaces/infra/gateways/gw/status'],
      ['/namespaces/infra/gateways/theirs/status'],
      ...['good', 'cross', 'no-section', 'bad-regex', 'to-theirs', 'shared'].map((n) => [
        `/namespaces/default/httproutes/${n}/status`,
      ]),
    ]) {
      server.route('PATCH', `${base}/v1${path}`, record);
    }
    source = new GatewayApiSource({
      kubeConfig: server.kubeConfig(),
      log: silentLogger(),
      debounceMs: 10,
      retryMs: 50,
      onConfig: (config) => {
        listed = config;
      },
    });
    await source.start();
    await waitFor('the gateway API resources to be listed', () => listed !== undefined);
    const config: MeshConfig = {
      ...mesh(
        service('api', 8080, 'http', [18080]),
        service('billing', 9090, 'http', [19090], { namespace: 'other' }),
      ),
      gatewayApi: listed,
    };
    await source.writeStatus(gatewayApiState(config, undefined, { declaredClassesOnly: true }));
  });

  after(async () => {
    await source?.close();
    await server?.close();
  });

  const statusOf = (path: string): Obj => {
    const body = patches.get(`${base}/v1${path}`);
    assert.ok(body, `no status written to ${path}; written: ${[...patches.keys()].join(', ')}`);
    assert.equal(body[0].op, 'add');
    assert.equal(body[0].path, '/status');
    return body[0].value;
  };
  const brief = (conditions: Obj[]) => conditions.map((c) => `${c.type}=${c.status}/${c.reason}`);
  const parentReasons = (name: string) =>
    statusOf(`/namespaces/default/httproutes/${name}/status`).parents.map((p: Obj) =>
      brief(p.conditions),
    );

  it('lists the valid objects (a missing CRD counts as none) and leaves an invalid one out', () => {
    assert.deepEqual(
      listed?.gatewayClasses.map((c) => c.metadata.name),
      ['ferry', 'other'],
    );
    assert.deepEqual(
      listed?.gateways.map((g) => g.metadata.name),
      ['gw', 'theirs'],
    );
    assert.deepEqual(
      listed?.routes.map((r) => r.metadata.name),
      ['good', 'cross', 'no-section', 'to-theirs', 'shared'],
    );
  });

  it("GatewayClass: Accepted for Ferry's controller only", () => {
    const s = statusOf('/gatewayclasses/ferry/status');
    assert.deepEqual(brief(s.conditions), ['Accepted=True/Accepted']);
    assert.equal(s.conditions[0].observedGeneration, 3);
    assert.match(s.conditions[0].lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(patches.has(`${base}/v1/gatewayclasses/other/status`), false);
  });

  it('Gateway: Accepted and Programmed, the listener with supportedKinds and attachedRoutes', () => {
    const s = statusOf('/namespaces/infra/gateways/gw/status');
    assert.deepEqual(brief(s.conditions), ['Accepted=True/Accepted', 'Programmed=True/Programmed']);
    const [l] = s.listeners;
    assert.equal(l.name, 'http');
    // good, cross (accepted, a backend refused) and shared attach; no-section does not.
    assert.equal(l.attachedRoutes, 3);
    assert.deepEqual(l.supportedKinds, [
      { group: GATEWAY_GROUP, kind: 'HTTPRoute' },
      { group: GATEWAY_GROUP, kind: 'GRPCRoute' },
    ]);
    assert.deepEqual(brief(l.conditions), [
      'Accepted=True/Accepted',
      'Conflicted=False/NoConflicts',
      'ResolvedRefs=True/ResolvedRefs',
      'Programmed=True/Programmed',
    ]);
    assert.equal(patches.has(`${base}/v1/namespaces/infra/gateways/theirs/status`), false);
  });

  it("routes: Accepted and ResolvedRefs per parent, with the spec's reasons", () => {
    assert.deepEqual(parentReasons('good'), [
      ['Accepted=True/Accepted', 'ResolvedRefs=True/ResolvedRefs'],
    ]);
    assert.deepEqual(parentReasons('cross'), [
      ['Accepted=True/Accepted', 'ResolvedRefs=False/RefNotPermitted'],
    ]);
    assert.deepEqual(parentReasons('no-section'), [
      ['Accepted=False/NoMatchingParent', 'ResolvedRefs=True/ResolvedRefs'],
    ]);
    assert.deepEqual(parentReasons('bad-regex'), [['Accepted=False/UnsupportedValue']]);
    assert.match(
      statusOf('/namespaces/default/httproutes/bad-regex/status').parents[0].conditions[0].message,
      /invalid regular expression/,
    );
    const good = statusOf('/namespaces/default/httproutes/good/status').parents[0];
    assert.equal(good.controllerName, 'ferry.io/gateway-controller');
    assert.deepEqual(good.parentRef, {
      group: GATEWAY_GROUP,
      kind: 'Gateway',
      namespace: 'infra',
      name: 'gw',
    });
    assert.equal(good.conditions[0].observedGeneration, 3);
  });

  it("leaves other controllers' parents alone, and routes only on their Gateways untouched", () => {
    assert.equal(patches.has(`${base}/v1/namespaces/default/httproutes/to-theirs/status`), false);
    const parents = statusOf('/namespaces/default/httproutes/shared/status').parents;
    assert.deepEqual(
      parents.map((p: Obj) => p.controllerName),
      ['example.com/other', 'ferry.io/gateway-controller'],
    );
  });
});
