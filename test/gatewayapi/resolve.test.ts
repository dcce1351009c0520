/**
 * Status conditions, after the Gateway API conformance scenarios (conformance/tests in
 * kubernetes-sigs/gateway-api): each invalid resource gets the condition and reason the spec
 * names, and the valid ones Accepted / Programmed / ResolvedRefs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { gatewayApiState } from '../../src/controlplane/translate/index.js';
import {
  brief,
  gateway,
  HTTP_LISTENER,
  httpRoute,
  meshOf,
  routeState,
  stateOf,
} from './support.js';

const TO_API = `      parentRefs: [{ name: gw }]
      rules: [{ backendRefs: [{ name: api, port: 8080 }] }]
`;

describe('gateway API status', () => {
  it('accepts a valid Gateway and route, and counts the attached route', () => {
    const state = stateOf(gateway(HTTP_LISTENER) + httpRoute('r', TO_API));
    const [gw] = state.gateways;
    assert.deepEqual(brief(gw.conditions), [
      'Accepted=True/Accepted',
      'Programmed=True/Programmed',
    ]);
    const [l] = gw.listeners;
    assert.deepEqual(brief(l.conditions), [
      'Accepted=True/Accepted',
      'Conflicted=False/NoConflicts',
      'ResolvedRefs=True/ResolvedRefs',
      'Programmed=True/Programmed',
    ]);
    assert.equal(l.attachedRoutes, 1);
    assert.deepEqual(
      l.supportedKinds.map((k) => k.kind),
      ['HTTPRoute', 'GRPCRoute'],
    );
    assert.deepEqual(brief(routeState(state, 'r').parents[0].conditions), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
  });

  it("GatewayClass: Accepted for Ferry's controllerName; Gateways of other classes are not served", () => {
    const classes = `  - apiVersion: gateway.networking.k8s.io/v1
    kind: GatewayClass
    metadata: { name: ferry }
    spec: { controllerName: ferry.io/gateway-controller }
  - apiVersion: gateway.networking.k8s.io/v1
    kind: GatewayClass
    metadata: { name: theirs }
    spec: { controllerName: example.com/other }
`;
    const theirs = gateway(HTTP_LISTENER, 'other-gw').replace(
      'gatewayClassName: ferry',
      'gatewayClassName: theirs',
    );
    const state = stateOf(classes + gateway(HTTP_LISTENER) + theirs);
    assert.deepEqual(
      state.gatewayClasses.map((c) => [c.gatewayClass.metadata.name, ...brief(c.conditions)]),
      [['ferry', 'Accepted=True/Accepted']],
    );
    assert.deepEqual(
      state.gateways.map((g) => g.gateway.metadata.name),
      ['gw'],
    );
  });

  // HTTPRouteInvalidCrossNamespaceParentRef / allowedRoutes from: Same.
  it('a route from another namespace on a listener that allows Same: NotAllowedByListeners', () => {
    const state = stateOf(
      gateway(HTTP_LISTENER) +
        httpRoute(
          'r',
          TO_API.replace('{ name: gw }', '{ name: gw, namespace: default }')
            .replace('name: api, port', 'name: billing, namespace: other, port')
            .replace('8080 }] }]', '9090 }] }]'),
          'other',
        ),
    );
    const [parent] = routeState(state, 'r').parents;
    assert.deepEqual(brief(parent.conditions), [
      'Accepted=False/NotAllowedByListeners',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    assert.equal(state.gateways[0].listeners[0].attachedRoutes, 0);
  });

  it('allowedRoutes from: Selector admits the namespaces whose labels match', () => {
    const listener = `        - name: http
          port: 80
          protocol: HTTP
          allowedRoutes: { namespaces: { from: Selector, selector: { matchLabels: { team: a } } } }
`;
    const route = httpRoute(
      'r',
      TO_API.replace('{ name: gw }', '{ name: gw, namespace: default }'),
      'other',
    );
    const mesh = stateOf(gateway(listener) + route);
    assert.equal(routeState(mesh, 'r').parents[0].conditions[0].reason, 'NotAllowedByListeners');
  });

  // HTTPRouteInvalidParentRefNotMatchingSectionName / ListenerPort.
  it('a sectionName or port no listener has: NoMatchingParent', () => {
    for (const ref of ['{ name: gw, sectionName: nope }', '{ name: gw, port: 81 }']) {
      const state = stateOf(
        gateway(HTTP_LISTENER) + httpRoute('r', TO_API.replace('{ name: gw }', ref)),
      );
      assert.equal(routeState(state, 'r').parents[0].conditions[0].reason, 'NoMatchingParent', ref);
    }
  });

  it('a parentRef to a Gateway that does not exist: NoMatchingParent', () => {
    const state = stateOf(
      gateway(HTTP_LISTENER) + httpRoute('r', TO_API.replace('{ name: gw }', '{ name: nowhere }')),
    );
    assert.equal(routeState(state, 'r').parents[0].conditions[0].reason, 'NoMatchingParent');
  });

  // HTTPRouteHostnameIntersection: no intersecting hostname.
  it('route hostnames that no listener hostname intersects: NoMatchingListenerHostname', () => {
    const listener =
      '        - { name: http, port: 80, protocol: HTTP, hostname: "*.example.com" }\n';
    const spec = `${TO_API}      hostnames: [other.net, example.com]\n`;
    const state = stateOf(gateway(listener) + httpRoute('r', spec));
    assert.deepEqual(brief(routeState(state, 'r').parents[0].conditions), [
      'Accepted=False/NoMatchingListenerHostname',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
  });

  // HTTPRouteInvalidCrossNamespaceBackendRef and HTTPRouteReferenceGrant.
  it('a backendRef to another namespace: RefNotPermitted without a ReferenceGrant, resolved with one', () => {
    const spec = TO_API.replace(
      'name: api, port: 8080',
      'name: billing, namespace: other, port: 9090',
    );
    const without = stateOf(gateway(HTTP_LISTENER) + httpRoute('r', spec));
    const refused = routeState(without, 'r');
    assert.deepEqual(brief(refused.parents[0].conditions), [
      'Accepted=True/Accepted',
      'ResolvedRefs=False/RefNotPermitted',
    ]);
    assert.equal(refused.invalidBackends.size, 1);
    const grant = `  - apiVersion: gateway.networking.k8s.io/v1beta1
    kind: ReferenceGrant
    metadata: { name: allow-default, namespace: other }
    spec:
      from: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default }]
      to: [{ group: "", kind: Service, name: billing }]
`;
    const granted = routeState(stateOf(gateway(HTTP_LISTENER) + httpRoute('r', spec) + grant), 'r');
    assert.deepEqual(brief(granted.parents[0].conditions), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    // A grant for another kind, or another Service, does not count.
    for (const other of [
      grant.replace('kind: HTTPRoute', 'kind: GRPCRoute'),
      grant.replace('name: billing', 'name: ledger'),
    ]) {
      const s = routeState(stateOf(gateway(HTTP_LISTENER) + httpRoute('r', spec) + other), 'r');
      assert.equal(s.parents[0].conditions[1].reason, 'RefNotPermitted');
    }
  });

  // HTTPRouteInvalidNonExistentBackendRef and HTTPRouteInvalidBackendRefUnknownKind.
  it('a missing Service or port: BackendNotFound; another kind: InvalidKind', () => {
    const cases: [string, string][] = [
      ['name: nothing, port: 8080', 'BackendNotFound'],
      ['name: api, port: 9999', 'BackendNotFound'],
      ['name: api, port: 8080, group: example.com, kind: Bucket', 'InvalidKind'],
    ];
    for (const [ref, reason] of cases) {
      const state = stateOf(
        gateway(HTTP_LISTENER) + httpRoute('r', TO_API.replace('name: api, port: 8080', ref)),
      );
      const c = routeState(state, 'r').parents[0].conditions;
      assert.deepEqual(brief(c), ['Accepted=True/Accepted', `ResolvedRefs=False/${reason}`], ref);
    }
  });

  // GatewayInvalidRouteKind.
  it('allowedRoutes kinds the protocol cannot take: ResolvedRefs InvalidRouteKinds', () => {
    const only =
      '        - { name: http, port: 80, protocol: HTTP, allowedRoutes: { kinds: [{ kind: InvalidRoute }] } }\n';
    const [l] = stateOf(gateway(only)).gateways[0].listeners;
    assert.deepEqual(l.supportedKinds, []);
    assert.equal(l.conditions[2].reason, 'InvalidRouteKinds');
    assert.equal(l.conditions[2].status, 'False');
    const mixed = only.replace(
      '[{ kind: InvalidRoute }]',
      '[{ kind: InvalidRoute }, { kind: HTTPRoute }]',
    );
    const [m] = stateOf(gateway(mixed)).gateways[0].listeners;
    assert.deepEqual(m.supportedKinds, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]);
    assert.equal(m.conditions[2].reason, 'InvalidRouteKinds');
  });

  // GatewayInvalidTLSConfiguration, GatewaySecretMissingReferenceGrant / ReferenceGrantSpecific.
  it('certificateRefs: a missing Secret is InvalidCertificateRef, another namespace needs a grant', () => {
    const https = (ref: string) => `        - name: https
          port: 443
          protocol: HTTPS
          tls: { mode: Terminate, certificateRefs: [${ref}] }
`;
    const secrets = `secrets:
  - { name: cert, certFile: c.pem, keyFile: k.pem }
  - { name: cert, namespace: certs, certFile: c.pem, keyFile: k.pem }
`;
    const missing = stateOf(gateway(https('{ name: nothing }'))).gateways[0];
    assert.equal(missing.listeners[0].conditions[2].reason, 'InvalidCertificateRef');
    assert.deepEqual(brief(missing.conditions), [
      'Accepted=False/ListenersNotValid',
      'Programmed=False/Invalid',
    ]);
    // Permission is checked before existence: the Secret need not be loaded to be refused.
    const cross = stateOf(gateway(https('{ name: cert, namespace: certs }')), secrets);
    assert.equal(cross.gateways[0].listeners[0].conditions[2].reason, 'RefNotPermitted');
  });

  it('certificateRefs: a refused Secret still serving its last good pair is InvalidCertificateRef, the listener stays up', () => {
    const https = (refs: string, kinds = '') => `        - name: https
          port: 443
          protocol: HTTPS
          tls: { mode: Terminate, certificateRefs: [${refs}] }${kinds}
`;
    const pair = { certificateChain: 'c', privateKey: 'k' };
    const withSecrets = (resources: string) =>
      gatewayApiState({
        ...meshOf(resources),
        tlsSecrets: [
          { name: 'good', namespace: 'default', ...pair },
          { name: 'stale', namespace: 'default', ...pair, problem: 'the key does not belong' },
        ],
      }).gateways[0].listeners[0];
    const stale = withSecrets(gateway(https('{ name: stale }, { name: good }')));
    assert.deepEqual(brief([stale.conditions[2]]), ['ResolvedRefs=False/InvalidCertificateRef']);
    assert.match(stale.conditions[2].message, /the key does not belong.*previous certificate/);
    assert.equal(stale.usable, true);
    assert.deepEqual(
      stale.certificateRefs.map((r) => r.name),
      ['stale', 'good'],
    );
    // Next to a missing one, the listener is not served (as with the missing one alone).
    const mixed = withSecrets(gateway(https('{ name: stale }, { name: nothing }')));
    assert.equal(mixed.conditions[2].reason, 'InvalidCertificateRef');
    assert.equal(mixed.usable, false);
  });

  // TLSRouteTerminateSimpleSameNamespace, TLSRouteMixedTerminationSameNamespace: a TLS
  // listener in Terminate mode takes TLSRoutes and is programmed with its certificates; one in
  // Passthrough mode may share its port (Ferry reports TLSRouteModeMixed).
  it('TLS listeners in Terminate and Passthrough mode: accepted on one port, TLSRoutes attach to both', () => {
    const listeners = `        - name: term
          port: 8443
          protocol: TLS
          hostname: term.example.com
          tls: { mode: Terminate, certificateRefs: [{ name: cert }] }
        - name: pass
          port: 8443
          protocol: TLS
          hostname: pass.example.com
          tls: { mode: Passthrough }
`;
    const tlsRoute = (
      name: string,
      section: string,
      host: string,
    ) => `  - apiVersion: gateway.networking.k8s.io/v1alpha2
    kind: TLSRoute
    metadata: { name: ${name} }
    spec:
      parentRefs: [{ name: gw, sectionName: ${section} }]
      hostnames: [${host}]
      rules: [{ backendRefs: [{ name: db, port: 5432 }] }]
`;
    const resources =
      gateway(listeners) +
      tlsRoute('t', 'term', 'term.example.com') +
      tlsRoute('p', 'pass', 'pass.example.com');
    const state = gatewayApiState({
      ...meshOf(resources),
      tlsSecrets: [{ name: 'cert', namespace: 'default', certificateChain: 'c', privateKey: 'k' }],
    });
    const [gw] = state.gateways;
    assert.deepEqual(brief(gw.conditions), [
      'Accepted=True/Accepted',
      'Programmed=True/Programmed',
    ]);
    for (const l of gw.listeners) {
      assert.deepEqual(brief(l.conditions), [
        'Accepted=True/Accepted',
        'Conflicted=False/NoConflicts',
        'ResolvedRefs=True/ResolvedRefs',
        'Programmed=True/Programmed',
      ]);
      assert.deepEqual(
        l.supportedKinds.map((k) => k.kind),
        ['TLSRoute'],
      );
      assert.equal(l.attachedRoutes, 1, l.listener.name);
    }
    assert.deepEqual(
      gw.listeners[0].certificateRefs.map((r) => r.name),
      ['cert'],
    );
    for (const name of ['t', 'p']) {
      const [parent] = routeState(state, name).parents;
      assert.deepEqual(brief(parent.conditions), [
        'Accepted=True/Accepted',
        'ResolvedRefs=True/ResolvedRefs',
      ]);
    }
    // Terminate mode without its Secret: the listener is not programmed, as an HTTPS one.
    const [term] = stateOf(resources).gateways[0].listeners;
    assert.deepEqual(brief(term.conditions.slice(2)), [
      'ResolvedRefs=False/InvalidCertificateRef',
      'Programmed=False/Invalid',
    ]);
    assert.equal(term.usable, false);
  });

  // GatewayWithAttachedRoutes / listener conflicts.
  it('a second listener on a port with another protocol or the same hostname is Conflicted', () => {
    const listeners = `        - { name: a, port: 80, protocol: HTTP }
        - { name: b, port: 80, protocol: TCP }
        - { name: c, port: 80, protocol: HTTP }
        - { name: d, port: 80, protocol: HTTP, hostname: d.example.com }
`;
    const [gw] = stateOf(gateway(listeners)).gateways;
    assert.deepEqual(
      gw.listeners.map((l) => `${l.listener.name} ${brief([l.conditions[1]])[0]} ${l.usable}`),
      [
        'a Conflicted=False/NoConflicts true',
        'b Conflicted=True/ProtocolConflict false',
        'c Conflicted=True/HostnameConflict false',
        'd Conflicted=False/NoConflicts true',
      ],
    );
  });

  it('GAMMA: a route on a Service is accepted, in its namespace or another (a consumer route); a missing Service is not', () => {
    const spec = (ref: string) => `      parentRefs: [${ref}]
      rules: [{ backendRefs: [{ name: api-v2, port: 8080 }] }]
`;
    const ok = stateOf(httpRoute('r', spec('{ group: "", kind: Service, name: api, port: 8080 }')));
    const [p] = routeState(ok, 'r').parents;
    assert.deepEqual(p.service, { namespace: 'default', name: 'api', port: 8080 });
    assert.deepEqual(brief(p.conditions), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    const missing = stateOf(httpRoute('r', spec('{ group: "", kind: Service, name: nothing }')));
    assert.equal(routeState(missing, 'r').parents[0].conditions[0].reason, 'NoMatchingParent');
    const consumer = stateOf(
      httpRoute('r', spec('{ group: "", kind: Service, name: billing, namespace: other }')),
    );
    const [c] = routeState(consumer, 'r').parents;
    assert.deepEqual(brief(c.conditions), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    assert.equal(
      c.conditions[0].message,
      'consumer route: applies to clients in namespace default only',
    );
    assert.deepEqual(c.service, { namespace: 'other', name: 'billing', consumer: 'default' });
  });

  it('GAMMA: backendRefs to another namespace need no ReferenceGrant (GEP-1294); a missing one is BackendNotFound', () => {
    const spec = (backend: string) => `      parentRefs: [{ group: "", kind: Service, name: api }]
      rules: [{ backendRefs: [${backend}] }]
`;
    const other = routeState(
      stateOf(httpRoute('r', spec('{ name: billing, namespace: other, port: 9090 }'))),
      'r',
    );
    assert.deepEqual(brief(other.parents[0].conditions), [
      'Accepted=True/Accepted',
      'ResolvedRefs=True/ResolvedRefs',
    ]);
    assert.equal(other.invalidMeshBackends.size, 0);
    assert.equal(other.invalidBackends.size, 1, 'a Gateway parent would still need the grant');
    const missing = routeState(
      stateOf(httpRoute('r', spec('{ name: nothing, namespace: other, port: 9090 }'))),
      'r',
    );
    assert.deepEqual(brief(missing.parents[0].conditions), [
      'Accepted=True/Accepted',
      'ResolvedRefs=False/BackendNotFound',
    ]);
    assert.equal(missing.invalidMeshBackends.size, 1);
  });
});
