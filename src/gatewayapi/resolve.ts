/**
 * The Gateway API's semantics over one configuration: which Gateways are Ferry's, which of
 * their listeners are valid or conflict, which routes attach to which listeners (parentRef
 * sectionName and port, allowedRoutes namespaces and kinds, hostname intersection), which
 * backendRefs and certificateRefs resolve (ReferenceGrant for other namespaces), and GAMMA
 * routes attached to Services. The result carries every status condition the spec asks
 * for; translation (src/controlplane/translate) and the Kubernetes status writer read it.
 * Pure: the same input gives the same output.
 * https://gateway-api.sigs.k8s.io/reference/spec/
 */
import { type Condition, condition } from './conditions.js';
import { intersectHostnames } from './hostnames.js';
import {
  type BackendRef,
  FERRY_CONTROLLER_NAME,
  GATEWAY_GROUP,
  type Gateway,
  type GatewayApiConfig,
  type GatewayClass,
  type HttpRoute,
  isHttpRoute,
  type LabelSelector,
  type Listener,
  type ListenerProtocol,
  type ObjectReference,
  type ParentRef,
  type Route,
} from './model.js';
import { referencePermitted } from './reference-grant.js';

/** What the rest of the mesh tells the semantics: services, secrets, namespaces. */
export interface ResolveContext {
  /** A mesh service's ports, or undefined when there is no such service. */
  readonly servicePorts: (namespace: string, name: string) => readonly number[] | undefined;
  /** Whether a usable TLS secret (certificate and key) of that name exists. */
  readonly secretExists: (namespace: string, name: string) => boolean;
  /**
   * Why a Secret's current content is refused while its last good certificate is still
   * served (undefined when it is as it should be).
   */
  readonly secretProblem?: (namespace: string, name: string) => string | undefined;
  /** A namespace's labels (allowedRoutes namespaces `Selector`); {} when unknown. */
  readonly namespaceLabels: (namespace: string) => Readonly<Record<string, string>>;
  /**
   * True in the mesh file, where every Gateway is Ferry's: a Gateway whose class is not
   * declared is still served. In Kubernetes only classes with Ferry's controllerName are.
   */
  readonly undeclaredClassIsOurs: boolean;
  /** Default FERRY_CONTROLLER_NAME. */
  readonly controllerName?: string;
}

export interface GatewayClassState {
  readonly gatewayClass: GatewayClass;
  readonly conditions: readonly Condition[];
}

export interface ListenerState {
  readonly gateway: Gateway;
  readonly listener: Listener;
  readonly conditions: readonly Condition[];
  readonly supportedKinds: readonly { readonly group: string; readonly kind: string }[];
  readonly attachedRoutes: number;
  /** Usable: not conflicted, its references resolved. Only usable listeners are served. */
  readonly usable: boolean;
  /** The certificates it serves, all resolved and permitted. */
  readonly certificateRefs: readonly ObjectReference[];
}

export interface GatewayState {
  readonly gateway: Gateway;
  readonly conditions: readonly Condition[];
  readonly listeners: readonly ListenerState[];
}

/** A route on one listener, on the hostnames both agree on. */
export interface Attachment {
  readonly listener: ListenerState;
  readonly hostnames: readonly string[];
}

export interface RouteParentState {
  readonly parentRef: ParentRef;
  readonly conditions: readonly Condition[];
  readonly attachments: readonly Attachment[];
  /** GAMMA: the Service the route attached to, and its port if the parentRef names one. */
  readonly service?: GammaParent;
}

/**
 * The Service a GAMMA route attached to. A route in the Service's namespace is a producer
 * route (every client of the mesh); one in another namespace is a consumer route, for the
 * clients of its own namespace only (GEP-1294, "Namespace boundaries").
 */
export interface GammaParent {
  readonly namespace: string;
  readonly name: string;
  readonly port?: number;
  /** The namespace whose clients the route is for; undefined for a producer route. */
  readonly consumer?: string;
}

export interface RouteState {
  readonly route: Route;
  readonly parents: readonly RouteParentState[];
  /** backendRefs (and mirror backendRefs) that do not resolve: they get no traffic. */
  readonly invalidBackends: ReadonlySet<BackendRef>;
  /**
   * The same for a Service parent, where another namespace's Service needs no ReferenceGrant:
   * a mesh route augments a Service every client can already reach (GEP-1294, "Namespace
   * boundaries"); only a missing Service or port, or another kind, is invalid.
   */
  readonly invalidMeshBackends: ReadonlySet<BackendRef>;
}

export interface GatewayApiState {
  readonly gatewayClasses: readonly GatewayClassState[];
  /** Ferry's Gateways only. */
  readonly gateways: readonly GatewayState[];
  readonly routes: readonly RouteState[];
}

const HTTP_KINDS = ['HTTPRoute', 'GRPCRoute'];
const KINDS_OF: Record<ListenerProtocol, readonly string[]> = {
  HTTP: HTTP_KINDS,
  HTTPS: HTTP_KINDS,
  TLS: ['TLSRoute'],
  TCP: ['TCPRoute'],
};

export function resolveGatewayApi(config: GatewayApiConfig, ctx: ResolveContext): GatewayApiState {
  const controller = ctx.controllerName ?? FERRY_CONTROLLER_NAME;
  const gatewayClasses = config.gatewayClasses
    .filter((c) => c.controllerName === controller)
    .map((c) => ({
      gatewayClass: c,
      conditions: [condition('Accepted', true, 'Accepted', `handled by ${controller}`)],
    }));
  const ours = (g: Gateway): boolean => {
    const declared = config.gatewayClasses.find((c) => c.metadata.name === g.gatewayClassName);
    return declared ? declared.controllerName === controller : ctx.undeclaredClassIsOurs;
  };
  const gateways = config.gateways.filter(ours);

  // Routes first: a listener's attachedRoutes counts them.
  const listenerStates = new Map<Listener, ListenerDraft>();
  for (const g of gateways) {
    for (const d of draftListeners(g, config, ctx)) listenerStates.set(d.listener, d);
  }
  const drafts = config.routes.map((route) =>
    resolveRoute(route, gateways, listenerStates, config, ctx),
  );
  // Every route has attached: the listeners' states are final.
  const finished = new Map<ListenerDraft, ListenerState>();
  for (const d of listenerStates.values()) finished.set(d, finishListener(d));
  const routes: RouteState[] = drafts.map((r) => ({
    ...r,
    parents: r.parents.map((p) => ({
      ...p,
      attachments: p.attachments.map((a) => ({
        listener: finished.get(a.draft)!,
        hostnames: a.hostnames,
      })),
    })),
  }));

  return {
    gatewayClasses,
    gateways: gateways.map((g) => {
      const listeners = g.listeners.map((l) => finished.get(listenerStates.get(l)!)!);
      const accepted = listeners.some((l) => l.usable);
      return {
        gateway: g,
        conditions: [
          accepted
            ? condition('Accepted', true, 'Accepted')
            : condition('Accepted', false, 'ListenersNotValid', 'no listener is valid'),
          accepted
            ? condition('Programmed', true, 'Programmed')
            : condition('Programmed', false, 'Invalid', 'no listener is valid'),
        ],
        listeners,
      };
    }),
    routes,
  };
}

interface ListenerDraft {
  readonly gateway: Gateway;
  readonly listener: Listener;
  readonly conflict?: Condition;
  readonly refs: Condition;
  readonly supportedKinds: readonly { readonly group: string; readonly kind: string }[];
  readonly certificateRefs: readonly ObjectReference[];
  /** ResolvedRefs is False only for Secrets whose last good certificate is still served. */
  readonly refsStale: boolean;
  attachedRoutes: number;
}

function usable(d: ListenerDraft): boolean {
  return d.conflict === undefined && (d.refs.status === 'True' || d.refsStale);
}

/**
 * Listener conflicts, as the spec resolves them: on one port the first listener wins; a later
 * one with another protocol conflicts (ProtocolConflict; HTTPS and TLS share a port, both
 * routed by SNI), and one with the same protocol and hostname too (HostnameConflict).
 */
function conflictOf(l: Listener, winners: readonly Listener[]): Condition | undefined {
  const tlsFamily = (p: ListenerProtocol) => p === 'HTTPS' || p === 'TLS';
  for (const earlier of winners) {
    if (earlier.port !== l.port) continue;
    const sameFamily =
      earlier.protocol === l.protocol || (tlsFamily(earlier.protocol) && tlsFamily(l.protocol));
    if (!sameFamily) {
      return condition(
        'Conflicted',
        true,
        'ProtocolConflict',
        `listener ${earlier.name} uses port ${l.port} for ${earlier.protocol}`,
      );
    }
    if ((earlier.hostname ?? '') === (l.hostname ?? '') || l.protocol === 'TCP') {
      return condition(
        'Conflicted',
        true,
        'HostnameConflict',
        `listener ${earlier.name} has the same port and hostname`,
      );
    }
  }
  return undefined;
}

function draftListeners(
  g: Gateway,
  config: GatewayApiConfig,
  ctx: ResolveContext,
): ListenerDraft[] {
  const winners: Listener[] = [];
  return g.listeners.map((listener) => {
    const conflict = conflictOf(listener, winners);
    if (!conflict) winners.push(listener);
    const protocolKinds = KINDS_OF[listener.protocol];
    const asked = listener.allowedRoutes.kinds;
    const supportedKinds = (
      asked.length > 0 ? asked : protocolKinds.map((kind) => ({ group: GATEWAY_GROUP, kind }))
    ).filter((k) => k.group === GATEWAY_GROUP && protocolKinds.includes(k.kind));
    let refs = condition('ResolvedRefs', true, 'ResolvedRefs');
    if (asked.length > 0 && supportedKinds.length < asked.length) {
      const bad = asked.filter((k) => !supportedKinds.includes(k)).map((k) => k.kind);
      refs = condition(
        'ResolvedRefs',
        false,
        'InvalidRouteKinds',
        `${listener.protocol} listeners do not take ${bad.join(', ')}`,
      );
    }
    const certificateRefs: ObjectReference[] = [];
    let refsStale = refs.status === 'True';
    for (const ref of listener.tls?.mode === 'Terminate' ? listener.tls.certificateRefs : []) {
      const problem = certificateProblem(g, ref, config, ctx);
      if (problem?.stale) certificateRefs.push(ref);
      else if (problem) refsStale = false;
      else certificateRefs.push(ref);
      if (problem && refs.status === 'True') {
        const { stale: _, ...c } = problem;
        refs = c;
      }
    }
    refsStale &&= refs.status === 'False';
    return {
      gateway: g,
      listener,
      conflict,
      refs,
      supportedKinds,
      certificateRefs,
      refsStale,
      attachedRoutes: 0,
    };
  });
}

/**
 * Why a reference to a core object of `kind` is refused: another kind, or no grant (`all`:
 * every namespace may be referred to).
 */
function refusal(
  from: { readonly kind: string; readonly namespace: string },
  ref: ObjectReference,
  kind: string,
  grants: GatewayApiConfig['referenceGrants'] | 'all',
): 'kind' | 'grant' | undefined {
  if (ref.group !== '' || ref.kind !== kind) return 'kind';
  if (grants === 'all') return undefined;
  const permitted = referencePermitted(
    {
      from: { group: GATEWAY_GROUP, kind: from.kind, namespace: from.namespace },
      to: { group: '', kind, namespace: ref.namespace, name: ref.name },
    },
    grants,
  );
  return permitted ? undefined : 'grant';
}

function certificateProblem(
  g: Gateway,
  ref: ObjectReference,
  config: GatewayApiConfig,
  ctx: ResolveContext,
): (Condition & { readonly stale?: true }) | undefined {
  const name = `${ref.namespace}/${ref.name}`;
  const refused = refusal(
    { kind: 'Gateway', namespace: g.metadata.namespace },
    ref,
    'Secret',
    config.referenceGrants,
  );
  if (refused === 'kind') {
    const why = `${ref.kind} ${name} is not a core Secret`;
    return condition('ResolvedRefs', false, 'InvalidCertificateRef', why);
  }
  if (refused === 'grant') {
    const why = `no ReferenceGrant in ${ref.namespace} lets Gateway ${g.metadata.namespace}/${g.metadata.name} use Secret ${name}`;
    return condition('ResolvedRefs', false, 'RefNotPermitted', why);
  }
  if (!ctx.secretExists(ref.namespace, ref.name)) {
    const why = `Secret ${name} does not exist or holds no certificate and key`;
    return condition('ResolvedRefs', false, 'InvalidCertificateRef', why);
  }
  const stale = ctx.secretProblem?.(ref.namespace, ref.name);
  if (stale !== undefined) {
    // The spec's reason for a malformed Secret; the last good pair keeps the listener up
    // (a bad edit of a Secret must not take a working HTTPS listener down).
    const why = `Secret ${name} is refused (${stale}); its previous certificate is still served`;
    return { ...condition('ResolvedRefs', false, 'InvalidCertificateRef', why), stale: true };
  }
  return undefined;
}

function finishListener(d: ListenerDraft): ListenerState {
  const ok = usable(d);
  return {
    gateway: d.gateway,
    listener: d.listener,
    conditions: [
      condition('Accepted', true, 'Accepted'),
      d.conflict ?? condition('Conflicted', false, 'NoConflicts'),
      d.refs,
      ok
        ? condition('Programmed', true, 'Programmed')
        : condition('Programmed', false, 'Invalid', d.conflict?.message ?? d.refs.message),
    ],
    supportedKinds: d.supportedKinds,
    attachedRoutes: d.attachedRoutes,
    usable: ok,
    certificateRefs: d.certificateRefs,
  };
}

function selectorMatches(s: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(s.matchLabels)) if (labels[k] !== v) return false;
  return s.matchExpressions.every((e) => {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In':
        return has && e.values.includes(labels[e.key]);
      case 'NotIn':
        return !has || !e.values.includes(labels[e.key]);
      case 'Exists':
        return has;
      default:
        return !has;
    }
  });
}

function namespaceAllowed(d: ListenerDraft, routeNamespace: string, ctx: ResolveContext): boolean {
  const from = d.listener.allowedRoutes.namespaces;
  if (from.from === 'All') return true;
  if (from.from === 'Same') return routeNamespace === d.gateway.metadata.namespace;
  return selectorMatches(from.selector, ctx.namespaceLabels(routeNamespace));
}

interface DraftAttachment {
  readonly draft: ListenerDraft;
  readonly hostnames: readonly string[];
}

interface RouteDraft extends Omit<RouteState, 'parents'> {
  readonly parents: readonly (Omit<RouteParentState, 'attachments'> & {
    readonly attachments: readonly DraftAttachment[];
  })[];
}

function resolveRoute(
  route: Route,
  gateways: readonly Gateway[],
  listeners: Map<Listener, ListenerDraft>,
  config: GatewayApiConfig,
  ctx: ResolveContext,
): RouteDraft {
  const { invalid, refs } = resolveBackends(route, config, ctx, true);
  const mesh = resolveBackends(route, config, ctx, false);
  const parents = route.parentRefs.flatMap((parentRef): RouteDraft['parents'] => {
    if (parentRef.group === '' && parentRef.kind === 'Service') {
      const { accepted, service } = serviceParent(route, parentRef, ctx);
      return [
        {
          parentRef,
          attachments: [],
          conditions: [accepted, mesh.refs],
          ...(service ? { service } : {}),
        },
      ];
    }
    if (parentRef.group !== GATEWAY_GROUP || parentRef.kind !== 'Gateway') {
      return [
        {
          parentRef,
          attachments: [],
          conditions: [
            condition(
              'Accepted',
              false,
              'NoMatchingParent',
              `a route cannot attach to ${parentRef.kind}`,
            ),
            refs,
          ],
        },
      ];
    }
    const gateway = gateways.find(
      (g) => g.metadata.namespace === parentRef.namespace && g.metadata.name === parentRef.name,
    );
    if (!gateway) {
      return [
        {
          parentRef,
          attachments: [],
          conditions: [
            condition(
              'Accepted',
              false,
              'NoMatchingParent',
              `Gateway ${parentRef.namespace}/${parentRef.name} does not exist or is not Ferry's`,
            ),
            refs,
          ],
        },
      ];
    }
    const { accepted, attachments } = attach(route, parentRef, gateway, listeners, ctx);
    return [{ parentRef, attachments, conditions: [accepted, refs] }];
  });
  return { route, parents, invalidBackends: invalid, invalidMeshBackends: mesh.invalid };
}

function attach(
  route: Route,
  parentRef: ParentRef,
  gateway: Gateway,
  listeners: Map<Listener, ListenerDraft>,
  ctx: ResolveContext,
): { accepted: Condition; attachments: DraftAttachment[] } {
  const named = gateway.listeners.filter(
    (l) =>
      (parentRef.sectionName === undefined || l.name === parentRef.sectionName) &&
      (parentRef.port === undefined || l.port === parentRef.port),
  );
  if (named.length === 0) {
    return {
      accepted: condition(
        'Accepted',
        false,
        'NoMatchingParent',
        'no listener has the sectionName and port of the parentRef',
      ),
      attachments: [],
    };
  }
  const allowed = named
    .map((l) => listeners.get(l)!)
    .filter(
      (d) =>
        d.supportedKinds.some((k) => k.kind === route.kind) &&
        namespaceAllowed(d, route.metadata.namespace, ctx),
    );
  if (allowed.length === 0) {
    return {
      accepted: condition(
        'Accepted',
        false,
        'NotAllowedByListeners',
        `no listener allows a ${route.kind} from namespace ${route.metadata.namespace}`,
      ),
      attachments: [],
    };
  }
  const drafts: { draft: ListenerDraft; hostnames: string[] }[] = [];
  for (const draft of allowed) {
    const hostnames =
      route.kind === 'TCPRoute'
        ? ['*']
        : intersectHostnames(draft.listener.hostname, route.hostnames);
    if (hostnames.length > 0) drafts.push({ draft, hostnames });
  }
  if (drafts.length === 0) {
    return {
      accepted: condition(
        'Accepted',
        false,
        'NoMatchingListenerHostname',
        'no listener hostname intersects the route hostnames',
      ),
      attachments: [],
    };
  }
  for (const { draft } of drafts) draft.attachedRoutes++;
  return { accepted: condition('Accepted', true, 'Accepted'), attachments: drafts };
}

function serviceParent(
  route: Route,
  parentRef: ParentRef,
  ctx: ResolveContext,
): { accepted: Condition; service?: RouteParentState['service'] } {
  const ports = ctx.servicePorts(parentRef.namespace, parentRef.name);
  const name = `${parentRef.namespace}/${parentRef.name}`;
  if (route.kind !== 'HTTPRoute' && route.kind !== 'GRPCRoute') {
    return {
      accepted: condition(
        'Accepted',
        false,
        'NotAllowedByParent',
        `Ferry attaches only HTTPRoute and GRPCRoute to a Service`,
      ),
    };
  }
  if (!ports) {
    return {
      accepted: condition('Accepted', false, 'NoMatchingParent', `Service ${name} does not exist`),
    };
  }
  if (parentRef.port !== undefined && !ports.includes(parentRef.port)) {
    return {
      accepted: condition(
        'Accepted',
        false,
        'NoMatchingParent',
        `Service ${name} has no port ${parentRef.port}`,
      ),
    };
  }
  // A consumer route is accepted whether or not its namespace has clients yet: like a
  // producer route of a Service nobody calls, it applies as soon as one connects.
  const consumer =
    parentRef.namespace !== route.metadata.namespace ? route.metadata.namespace : undefined;
  return {
    accepted: condition(
      'Accepted',
      true,
      'Accepted',
      consumer !== undefined
        ? `consumer route: applies to clients in namespace ${consumer} only`
        : undefined,
    ),
    service: {
      namespace: parentRef.namespace,
      name: parentRef.name,
      ...(parentRef.port !== undefined ? { port: parentRef.port } : {}),
      ...(consumer !== undefined ? { consumer } : {}),
    },
  };
}

/** Every backendRef of a route (mirrors too), with its rule's position for messages. */
export function routeBackends(route: Route): BackendRef[] {
  if (!isHttpRoute(route)) return route.rules.flatMap((r) => r.backendRefs);
  return route.rules.flatMap((r) => [
    ...r.backendRefs,
    ...r.filters.flatMap((f) => (f.type === 'RequestMirror' ? [f.backendRef] : [])),
  ]);
}

function backendProblem(
  route: Route,
  b: BackendRef,
  config: GatewayApiConfig,
  ctx: ResolveContext,
  needsGrant: boolean,
): Condition | undefined {
  const name = `${b.namespace}/${b.name}`;
  const refused = refusal(
    { kind: route.kind, namespace: route.metadata.namespace },
    b,
    'Service',
    needsGrant ? config.referenceGrants : 'all',
  );
  if (refused === 'kind') {
    const why = `${b.group === '' ? '' : `${b.group}/`}${b.kind} ${name} is not a Service`;
    return condition('ResolvedRefs', false, 'InvalidKind', why);
  }
  if (refused === 'grant') {
    const why = `no ReferenceGrant in ${b.namespace} lets ${route.kind} ${route.metadata.namespace}/${route.metadata.name} send to Service ${name}`;
    return condition('ResolvedRefs', false, 'RefNotPermitted', why);
  }
  const ports = ctx.servicePorts(b.namespace, b.name);
  if (!ports)
    return condition('ResolvedRefs', false, 'BackendNotFound', `Service ${name} does not exist`);
  if (b.port !== undefined && !ports.includes(b.port)) {
    return condition(
      'ResolvedRefs',
      false,
      'BackendNotFound',
      `Service ${name} has no port ${b.port}`,
    );
  }
  return undefined;
}

/** `needsGrant`: a Gateway parent's references to other namespaces need a ReferenceGrant. */
function resolveBackends(
  route: Route,
  config: GatewayApiConfig,
  ctx: ResolveContext,
  needsGrant: boolean,
) {
  const invalid = new Set<BackendRef>();
  let refs = condition('ResolvedRefs', true, 'ResolvedRefs');
  for (const b of routeBackends(route)) {
    const problem = backendProblem(route, b, config, ctx, needsGrant);
    if (!problem) continue;
    invalid.add(b);
    if (refs.status === 'True') refs = problem;
  }
  return { invalid, refs };
}

/** The HTTPRoutes and GRPCRoutes attached to a Service (GAMMA), with the port they name. */
export function gammaRoutes(
  state: GatewayApiState,
): { route: HttpRoute; state: RouteState; service: GammaParent }[] {
  const out: { route: HttpRoute; state: RouteState; service: GammaParent }[] = [];
  for (const s of state.routes) {
    if (!isHttpRoute(s.route)) continue;
    for (const p of s.parents)
      if (p.service) out.push({ route: s.route, state: s, service: p.service });
  }
  return out;
}
