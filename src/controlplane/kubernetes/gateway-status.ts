/**
 * The `status` Ferry writes on the cluster's Gateway API objects: GatewayClass `Accepted`;
 * Gateway `Accepted`/`Programmed` and per listener `Accepted`, `Conflicted`, `ResolvedRefs`,
 * `Programmed` with `supportedKinds` and `attachedRoutes`; each route's `status.parents[]`
 * entry for a parent of Ferry's (`controllerName: ferry.io/gateway-controller`), with
 * `Accepted` and `ResolvedRefs`. Other controllers' parent entries are kept as they are.
 * `observedGeneration` is the object's generation; `lastTransitionTime` moves only when a
 * condition's status changes. Pure: the writer (gateway-api-source.ts) sends what differs.
 * https://gateway-api.sigs.k8s.io/reference/spec/#gatewaystatus
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  type Condition,
  FERRY_CONTROLLER_NAME,
  GATEWAY_GROUP,
  type GatewayApiState,
  type ParentRef,
} from '../../gatewayapi/index.js';

/** A cluster object as listed, with the kind and version it was listed as. */
export interface GatewayApiObject extends KubernetesObject {
  readonly kind: string;
  readonly apiVersion: string;
  readonly spec?: unknown;
  readonly status?: Record<string, unknown>;
}

/** A status to write: where, and the whole new `status`. */
export interface StatusUpdate {
  readonly object: GatewayApiObject;
  readonly status: Record<string, unknown>;
}

interface KubeCondition extends Condition {
  readonly observedGeneration: number;
  readonly lastTransitionTime: string;
}

function key(o: { metadata?: { namespace?: string; name?: string } }): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/** Conditions as Kubernetes keeps them, a transition time kept from `previous` when unchanged. */
function kubeConditions(
  conditions: readonly Condition[],
  generation: number,
  previous: unknown,
  now: string,
): KubeCondition[] {
  const before = Array.isArray(previous) ? (previous as Partial<KubeCondition>[]) : [];
  return conditions.map((c) => {
    const old = before.find((p) => p.type === c.type);
    const lastTransitionTime =
      old?.status === c.status && typeof old.lastTransitionTime === 'string'
        ? old.lastTransitionTime
        : now;
    return {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      observedGeneration: generation,
      lastTransitionTime,
    };
  });
}

function parentRefOut(p: ParentRef): Record<string, unknown> {
  return {
    group: p.group,
    kind: p.kind,
    namespace: p.namespace,
    name: p.name,
    ...(p.sectionName !== undefined ? { sectionName: p.sectionName } : {}),
    ...(p.port !== undefined ? { port: p.port } : {}),
  };
}

function sameParent(a: unknown, b: ParentRef, routeNamespace: string): boolean {
  const r = (a ?? {}) as Record<string, unknown>;
  return (
    (r.group ?? GATEWAY_GROUP) === b.group &&
    (r.kind ?? 'Gateway') === b.kind &&
    (r.namespace ?? routeNamespace) === b.namespace &&
    r.name === b.name &&
    r.sectionName === b.sectionName &&
    r.port === b.port
  );
}

export interface StatusInputs {
  readonly state: GatewayApiState;
  /** Every listed object, by kind. */
  readonly objects: readonly GatewayApiObject[];
  /** Objects that did not validate, with why: they get Accepted False. */
  readonly invalid: ReadonlyMap<GatewayApiObject, string>;
  /** RFC 3339, for conditions whose status changed. */
  readonly now: string;
  readonly controllerName?: string;
}

/** The statuses that differ from what the objects carry now. */
export function statusUpdates(inputs: StatusInputs): StatusUpdate[] {
  const { state, objects, invalid, now } = inputs;
  const controller = inputs.controllerName ?? FERRY_CONTROLLER_NAME;
  const generation = (o: GatewayApiObject) => o.metadata?.generation ?? 0;
  const updates: StatusUpdate[] = [];
  const push = (object: GatewayApiObject, status: Record<string, unknown>) => {
    if (canonical(status) !== canonical(object.status ?? {})) {
      updates.push({ object, status });
    }
  };
  const byKey = (kind: string) =>
    new Map(objects.filter((o) => o.kind === kind).map((o) => [key(o), o]));

  const classes = byKey('GatewayClass');
  for (const c of state.gatewayClasses) {
    const o = classes.get(`/${c.gatewayClass.metadata.name}`);
    if (!o) continue;
    push(o, {
      ...o.status,
      conditions: kubeConditions(c.conditions, generation(o), o.status?.conditions, now),
    });
  }

  const gateways = byKey('Gateway');
  const ours = new Set<string>();
  for (const g of state.gateways) {
    const k = `${g.gateway.metadata.namespace}/${g.gateway.metadata.name}`;
    ours.add(k);
    const o = gateways.get(k);
    if (!o) continue;
    const gen = generation(o);
    const oldListeners = Array.isArray(o.status?.listeners)
      ? (o.status.listeners as { name?: string; conditions?: unknown }[])
      : [];
    push(o, {
      ...o.status,
      conditions: kubeConditions(g.conditions, gen, o.status?.conditions, now),
      listeners: g.listeners.map((l) => ({
        name: l.listener.name,
        supportedKinds: l.supportedKinds.map((k) => ({ group: k.group, kind: k.kind })),
        attachedRoutes: l.attachedRoutes,
        conditions: kubeConditions(
          l.conditions,
          gen,
          oldListeners.find((x) => x.name === l.listener.name)?.conditions,
          now,
        ),
      })),
    });
  }

  for (const r of state.routes) {
    const o = byKey(r.route.kind).get(`${r.route.metadata.namespace}/${r.route.metadata.name}`);
    if (!o) continue;
    const gen = generation(o);
    const old = Array.isArray(o.status?.parents)
      ? (o.status.parents as {
          parentRef?: unknown;
          controllerName?: string;
          conditions?: unknown;
        }[])
      : [];
    const mine = r.parents
      // A Gateway of another controller's is theirs to report on.
      .filter(
        (p) =>
          p.parentRef.kind === 'Service' ||
          ours.has(`${p.parentRef.namespace}/${p.parentRef.name}`) ||
          !gateways.has(`${p.parentRef.namespace}/${p.parentRef.name}`),
      )
      .map((p) => ({
        parentRef: parentRefOut(p.parentRef),
        controllerName: controller,
        conditions: kubeConditions(
          p.conditions,
          gen,
          old.find(
            (x) =>
              x.controllerName === controller &&
              sameParent(x.parentRef, p.parentRef, r.route.metadata.namespace),
          )?.conditions,
          now,
        ),
      }));
    const others = old.filter((x) => x.controllerName !== controller);
    // Nothing of Ferry's to say, and nothing said before: not Ferry's route to write.
    if (mine.length === 0 && others.length === old.length) continue;
    push(o, { ...o.status, parents: [...others, ...mine] });
  }

  const ourClasses = new Set(
    objects
      .filter((o) => o.kind === 'GatewayClass' && specOf(o).controllerName === controller)
      .map((o) => o.metadata?.name),
  );
  const isOurs = (o: GatewayApiObject): boolean => {
    if (o.kind === 'GatewayClass') return ourClasses.has(o.metadata?.name);
    if (o.kind === 'Gateway') return ourClasses.has(specOf(o).gatewayClassName as string);
    const refs = Array.isArray(specOf(o).parentRefs) ? (specOf(o).parentRefs as unknown[]) : [];
    return refs.some((ref) => {
      const r = (ref ?? {}) as Record<string, unknown>;
      const ns = (r.namespace as string | undefined) ?? o.metadata?.namespace ?? 'default';
      return r.kind === 'Service' || ours.has(`${ns}/${String(r.name)}`);
    });
  };
  for (const [o, why] of invalid) {
    if (!isOurs(o)) continue;
    const gen = generation(o);
    const refused = (type: string, reason: string) =>
      kubeConditions([{ type, status: 'False', reason, message: why }], gen, undefined, now);
    if (o.kind === 'Gateway' || o.kind === 'GatewayClass') {
      push(o, { ...o.status, conditions: refused('Accepted', 'Invalid') });
    } else if (o.kind !== 'ReferenceGrant') {
      const refs = specOf(o).parentRefs;
      push(o, {
        ...o.status,
        parents: (Array.isArray(refs) ? refs : []).map((parentRef: unknown) => ({
          parentRef,
          controllerName: controller,
          conditions: refused('Accepted', 'UnsupportedValue'),
        })),
      });
    }
  }
  return updates;
}

function specOf(o: GatewayApiObject): Record<string, unknown> {
  return typeof o.spec === 'object' && o.spec !== null ? (o.spec as Record<string, unknown>) : {};
}

/** JSON with object keys sorted: the API server returns a CRD's fields in its own order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
            a < b ? -1 : a > b ? 1 : 0,
          ),
        )
      : v,
  );
}
