/**
 * The route layer on its own, through fakes of the narrow interfaces it reads (an RBAC
 * engine, rate limiters, a route table, route filters): the order of its steps, what each
 * refusal carries, and a fault's delay and abort.
 */
import assert from 'node:assert/strict';
import { FAILURE } from '../../../src/proxy/failure/index.js';
import type { FaultDecision, FaultPolicy } from '../../../src/proxy/fault/index.js';
import type { LocalRateLimiter } from '../../../src/proxy/ratelimit/index.js';
import type { RbacEngine } from '../../../src/proxy/rbac/index.js';
import type { ForwardRoute, RouteRequest, RouteTable } from '../../../src/proxy/router/index.js';
import {
  Delay,
  decideRoute,
  Refusal,
  type RouteFilterSet,
  type RoutePolicy,
} from '../../../src/proxy/stack/index.js';

const REQUEST: RouteRequest = { authority: 'api:8080', path: '/x', method: 'GET', headers: {} };
const CLUSTER = 'outbound|8080||api.default.svc.cluster.local';
const ROUTE = {
  kind: 'forward',
  perFilterConfig: {},
  pickCluster: () => CLUSTER,
} as unknown as ForwardRoute;

function limiter(tokens: number, status = 429): LocalRateLimiter & { asked: number } {
  const fake = {
    status,
    asked: 0,
    allow(): boolean {
      fake.asked++;
      return tokens-- > 0;
    },
  };
  return fake as unknown as LocalRateLimiter & { asked: number };
}

function table(route: ForwardRoute | undefined): RouteTable {
  return { match: () => route } as unknown as RouteTable;
}

const denyAll = {
  evaluate: () => ({ allowed: false, policy: 'ns.deny-all' }),
} as unknown as RbacEngine;

function filters(set: Partial<RouteFilterSet>) {
  return { of: () => ({ fault: undefined, limiter: undefined, ...set }) };
}

function fault(decision: FaultDecision): FaultPolicy {
  return { decide: () => decision };
}

const random = () => 0.5;

describe('route layer', () => {
  it('authorization first: a denied request takes no rate-limit token and names its rule', () => {
    const limit = limiter(10);
    const policy: RoutePolicy = {
      table: table(ROUTE),
      rbac: denyAll,
      rateLimit: limit,
      port: 8080,
    };
    const d = decideRoute(policy, { random }, REQUEST, 'spiffe://td/ns/a/sa/b');
    assert.ok(d instanceof Refusal);
    assert.equal(d.failure, FAILURE.DENIED);
    assert.equal(d.status, 403);
    assert.equal(d.policy, 'ns.deny-all');
    assert.equal(d.principal, 'spiffe://td/ns/a/sa/b');
    assert.equal(limit.asked, 0);
  });

  it("the listener's limit before route match; its configured status is the refusal's", () => {
    const d = decideRoute(
      { table: table(undefined), rateLimit: limiter(0, 503) },
      { random },
      REQUEST,
      undefined,
    );
    assert.ok(d instanceof Refusal);
    assert.equal(d.failure, FAILURE.RATE_LIMITED);
    assert.equal(d.status, 503);
    assert.equal(d.flags, 'RL');
  });

  it('no route: 404 NR naming the authority and path', () => {
    const d = decideRoute({ table: table(undefined) }, { random }, REQUEST, undefined);
    assert.ok(d instanceof Refusal);
    assert.equal(d.failure, FAILURE.NO_ROUTE);
    assert.equal(d.detail, 'no route for api:8080/x');
  });

  it("regression: the route's refusals name the cluster it chose (metrics' destination)", () => {
    // Counted with destination_service "unknown" before: the refusal had no cluster.
    const env = { random };
    const policy = (set: Partial<RouteFilterSet>, rateLimit?: LocalRateLimiter): RoutePolicy => ({
      table: table(ROUTE),
      filters: filters(set),
      ...(rateLimit ? { rateLimit } : {}),
    });
    const limited = decideRoute(policy({ limiter: limiter(0) }), env, REQUEST, undefined);
    assert.ok(limited instanceof Refusal);
    assert.equal(limited.clusterName, CLUSTER);
    const aborted = decideRoute(
      policy({ fault: fault({ delayMs: 10, abort: { httpStatus: 503 } }) }),
      env,
      REQUEST,
      undefined,
    );
    assert.ok(aborted instanceof Delay && aborted.then instanceof Refusal);
    assert.equal(aborted.then.clusterName, CLUSTER);
    // Before the route is chosen (the listener's own limit) there is no destination yet.
    const early = decideRoute(policy({}, limiter(0)), env, REQUEST, undefined);
    assert.ok(early instanceof Refusal);
    assert.equal(early.clusterName, undefined);
    assert.equal(early.to(CLUSTER).clusterName, CLUSTER);
  });

  it("the route's limit, then its fault: an abort after a delay is flagged DI,FI", () => {
    // The filters are the route table's, compiled with it.
    const withFilters = (set: Partial<RouteFilterSet>): RoutePolicy => ({
      table: table(ROUTE),
      filters: filters(set),
    });
    const env = { random };
    assert.equal(decideRoute(withFilters({}), env, REQUEST, undefined), ROUTE);
    const limited = decideRoute(withFilters({ limiter: limiter(0) }), env, REQUEST, undefined);
    assert.ok(limited instanceof Refusal && limited.failure === FAILURE.RATE_LIMITED);
    const aborted = decideRoute(
      withFilters({ fault: fault({ delayMs: 0, abort: { grpcStatus: 14 } }) }),
      env,
      REQUEST,
      undefined,
    );
    assert.ok(aborted instanceof Refusal);
    assert.deepEqual(
      [aborted.failure, aborted.flags, aborted.grpcStatus],
      [FAILURE.FAULT_ABORT, 'FI', 14],
    );
    const delayed = decideRoute(
      withFilters({ fault: fault({ delayMs: 50, abort: { httpStatus: 418 } }) }),
      env,
      REQUEST,
      undefined,
    );
    assert.ok(delayed instanceof Delay);
    assert.equal(delayed.ms, 50);
    assert.ok(delayed.then instanceof Refusal);
    assert.deepEqual([delayed.then.status, delayed.then.flags], [418, 'DI,FI']);
    const onlyDelayed = decideRoute(
      withFilters({ fault: fault({ delayMs: 5 }) }),
      env,
      REQUEST,
      undefined,
    );
    assert.ok(onlyDelayed instanceof Delay && onlyDelayed.then === ROUTE);
  });
});
