import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { API_HEAD, configOf, errorSummary, expectError, lines } from './mesh-fixtures.js';

/** A Gateway and an HTTPRoute as the Gateway API documentation writes them (lines 5-31; its HTTPRoute's match on line 31). */
const DOCS_EXAMPLE = [
  'gatewayApi:',
  '  - apiVersion: gateway.networking.k8s.io/v1', // 6
  '    kind: Gateway',
  '    metadata:',
  '      name: prod-web',
  '    spec:', // 10
  '      gatewayClassName: ferry',
  '      listeners:',
  '        - protocol: HTTP',
  '          port: 80',
  '          name: prod-web-gw', // 15
  '          allowedRoutes:',
  '            namespaces:',
  '              from: Same',
  '  - apiVersion: gateway.networking.k8s.io/v1',
  '    kind: HTTPRoute', // 20
  '    metadata:',
  '      name: foo',
  '    spec:',
  '      parentRefs:',
  '        - name: prod-web', // 25
  '      rules:',
  '        - backendRefs:',
  '            - name: api',
  '              port: 8080',
  '          matches:', // 30
  '            - path: { type: PathPrefix, value: /login }',
];

describe('mesh file: gatewayApi and secrets', () => {
  it('accepts a Gateway and HTTPRoute copied from the Gateway API documentation', () => {
    const config = configOf(lines(...API_HEAD, ...DOCS_EXAMPLE));
    const api = config.gatewayApi!;
    assert.equal(api.gateways.length, 1);
    const [gw] = api.gateways;
    assert.equal(gw.metadata.namespace, 'default');
    assert.deepEqual(gw.listeners[0].allowedRoutes, { namespaces: { from: 'Same' }, kinds: [] });
    const [route] = api.routes;
    assert.equal(route.kind, 'HTTPRoute');
    assert.deepEqual(route.parentRefs, [
      {
        group: 'gateway.networking.k8s.io',
        kind: 'Gateway',
        namespace: 'default',
        name: 'prod-web',
      },
    ]);
    assert.ok(route.kind === 'HTTPRoute');
    assert.deepEqual(route.rules[0].backendRefs, [
      { group: '', kind: 'Service', name: 'api', namespace: 'default', port: 8080, weight: 1 },
    ]);
    assert.deepEqual(route.rules[0].matches[0].path, { type: 'PathPrefix', value: '/login' });
  });

  it('defaults a rule without matches to PathPrefix /', () => {
    const text = lines(...API_HEAD, ...DOCS_EXAMPLE.slice(0, 25));
    const route = configOf(text).gatewayApi!.routes[0];
    assert.ok(route.kind === 'HTTPRoute');
    assert.deepEqual(route.rules[0].matches, [
      { path: { type: 'PathPrefix', value: '/' }, headers: [], queryParams: [] },
    ]);
  });

  it('reports a misspelt field inside a spec at its line, with a suggestion', () => {
    const text = lines(...API_HEAD, ...DOCS_EXAMPLE).replace('gatewayClassName', 'gatewayClasName');
    const summary = errorSummary(text);
    assert.deepEqual(summary, [
      "11 gatewayApi[0].spec.gatewayClassName: required property 'gatewayClassName' is missing",
      "11 gatewayApi[0].spec.gatewayClasName: unknown property 'gatewayClasName'; did you mean 'gatewayClassName'?",
    ]);
  });

  it('reports an apiVersion that does not ship the kind', () => {
    const text = lines(...API_HEAD, ...DOCS_EXAMPLE).replace(
      'gateway.networking.k8s.io/v1\n    kind: HTTPRoute',
      'gateway.networking.k8s.io/v1alpha2\n    kind: HTTPRoute',
    );
    expectError(
      text,
      'gatewayApi[1].apiVersion',
      19,
      /must be one of gateway.networking.k8s.io\/v1, /,
    );
  });

  it('reports an unknown kind with the kinds it knows', () => {
    const text = lines(...API_HEAD, ...DOCS_EXAMPLE).replace('kind: Gateway\n', 'kind: Gateways\n');
    expectError(text, 'gatewayApi[0].kind', 7, /must be one of GatewayClass, Gateway, HTTPRoute/);
  });

  it('reports an invalid regular expression at its value', () => {
    const text = lines(...API_HEAD, ...DOCS_EXAMPLE).replace(
      '{ type: PathPrefix, value: /login }',
      "{ type: RegularExpression, value: '/(?=x)' }",
    );
    expectError(
      text,
      'gatewayApi[1].spec.rules[0].matches[0].path.value',
      31,
      /invalid regular expression/,
    );
  });

  it('reports a path match that does not start with /', () => {
    const text = lines(...API_HEAD, ...DOCS_EXAMPLE).replace('value: /login', 'value: login');
    expectError(
      text,
      'gatewayApi[1].spec.rules[0].matches[0].path.value',
      31,
      /must start with '\/'/,
    );
  });

  it('reports a filter whose field does not match its type', () => {
    const text = lines(
      ...API_HEAD,
      ...DOCS_EXAMPLE,
      '          filters:', // 32
      '            - type: RequestHeaderModifier',
      '              responseHeaderModifier: { set: [{ name: x, value: y }] }',
    );
    assert.deepEqual(errorSummary(text), [
      '33 gatewayApi[1].spec.rules[0].filters[0]: type RequestHeaderModifier needs requestHeaderModifier',
      '34 gatewayApi[1].spec.rules[0].filters[0].responseHeaderModifier: not allowed with type RequestHeaderModifier',
    ]);
  });

  it('refuses ReplacePrefixMatch on a rule with an Exact match', () => {
    const text = lines(
      ...API_HEAD,
      ...DOCS_EXAMPLE.slice(0, 26),
      '            - path: { type: Exact, value: /login }', // 31
      '          filters:',
      '            - type: URLRewrite', // 33
      '              urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /x } }',
    );
    expectError(
      text,
      'gatewayApi[1].spec.rules[0].filters',
      33,
      /ReplacePrefixMatch needs every match/,
    );
  });

  it('refuses a RequestRedirect together with backendRefs', () => {
    const text = lines(
      ...API_HEAD,
      ...DOCS_EXAMPLE,
      '          filters:', // 32
      '            - type: RequestRedirect',
      '              requestRedirect: { scheme: https, statusCode: 301 }',
    );
    expectError(text, 'gatewayApi[1].spec.rules[0].filters', 33, /cannot have backendRefs/);
  });

  it('refuses an HTTPS listener without tls, and a duplicate listener name', () => {
    const text = lines(
      ...API_HEAD,
      ...DOCS_EXAMPLE.slice(0, 14),
      '        - { name: prod-web-gw, protocol: HTTPS, port: 443 }', // 19
    );
    assert.deepEqual(errorSummary(text), [
      '19 gatewayApi[0].spec.listeners[1].tls: protocol HTTPS needs tls (mode and certificateRefs)',
      "19 gatewayApi[0].spec.listeners[1].name: duplicate listener name 'prod-web-gw'; see item 0",
    ]);
  });

  it('refuses two resources of one kind with the same namespace and name', () => {
    const text = lines(...API_HEAD, ...DOCS_EXAMPLE, ...DOCS_EXAMPLE.slice(1, 14));
    expectError(
      text,
      'gatewayApi[2].metadata.name',
      35,
      /duplicate Gateway 'prod-web' in namespace 'default'; see item 0/,
    );
  });

  it('reads secrets and refuses a duplicate', () => {
    const head = lines(
      ...API_HEAD,
      'secrets:',
      '  - { name: web-cert, certFile: a.pem, keyFile: a-key.pem }',
    );
    assert.deepEqual(configOf(head).secrets, [
      { name: 'web-cert', namespace: 'default', certFile: 'a.pem', keyFile: 'a-key.pem' },
    ]);
    expectError(
      `${head}  - { name: web-cert, namespace: default, certFile: b.pem, keyFile: b-key.pem }\n`,
      'secrets[1].name',
      7,
      /duplicate secret 'web-cert'/,
    );
    expectError(
      lines(...API_HEAD, 'secrets:', '  - { name: web-cert, certFile: a.pem }'),
      'secrets[0].keyFile',
      6,
      /required property 'keyFile'/,
    );
  });

  it('reads a GRPCRoute method match as the path it means', () => {
    const text = lines(
      ...API_HEAD,
      'gatewayApi:',
      '  - apiVersion: gateway.networking.k8s.io/v1',
      '    kind: GRPCRoute',
      '    metadata: { name: g }',
      '    spec:',
      '      rules:',
      '        - matches:',
      '            - method: { service: helloworld.Greeter, method: SayHello }',
      '            - method: { service: helloworld.Greeter }',
      '          backendRefs: [{ name: api, port: 8080 }]',
    );
    const route = configOf(text).gatewayApi!.routes[0];
    assert.ok(route.kind === 'GRPCRoute');
    assert.deepEqual(
      route.rules[0].matches.map((m) => m.path),
      [
        { type: 'Exact', value: '/helloworld.Greeter/SayHello' },
        { type: 'PathPrefix', value: '/helloworld.Greeter' },
      ],
    );
  });
});

describe("README's Gateway API example", () => {
  it('parses as written, with the services it names', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('### The Gateway API: gateways and GAMMA routes');
    const block = readme.slice(
      readme.indexOf('```yaml\n', start) + 8,
      readme.indexOf('```\n', readme.indexOf('```yaml\n', start) + 8),
    );
    const services = lines(
      'services:',
      '  - { name: api, ports: [{ port: 8080, protocol: http }] }',
      '  - { name: api-v2, ports: [{ port: 8080, protocol: http }] }',
    );
    const config = configOf(services + block);
    assert.equal(config.gatewayApi?.gateways.length, 1);
    assert.equal(config.gatewayApi?.routes.length, 2);
    assert.equal(config.secrets?.length, 1);
  });
});
