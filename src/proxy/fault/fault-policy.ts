/**
 * Envoy's HTTP fault filter, compiled once per configuration into a decision per request:
 * whether to delay it, and whether to answer it at once with an error instead of forwarding.
 *
 * Semantics, as Envoy's fault filter: a request that does not match all of `headers` gets no
 * fault. Otherwise the delay applies to `delay.percentage` of requests and the abort to
 * `abort.percentage`, each rolled on its own random number (delay first), so a request can be
 * delayed and then aborted. A route's config (typed_per_filter_config) replaces the
 * listener-level one entirely; an empty HTTPFault, as Ferry's listeners carry, injects nothing.
 *
 * Supported: fixed delays, HTTP and gRPC aborts, header conditions. Refused, naming the field:
 * header-controlled delays and aborts, upstream_cluster, downstream_nodes, max_active_faults
 * and response_rate_limit (Ferry's control plane emits none of them).
 * https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_filters/fault_filter
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/extensions/filters/http/fault/v3/fault.proto
 */
import { durationMs, type envoy, types } from '../../xds/index.js';
import type { RequestHeaders } from '../router/index.js';
import { FilterConfigError } from './fault-error.js';
import { type FilterTypedConfig, filterMessage } from './filter-config.js';
import { compileFraction, type Fraction, inFraction } from './fractional-percent.js';
import { compileHeaderCondition, type HeaderCondition } from './header-condition.js';

export interface FaultAbort {
  /** Answer with this HTTP status (200..599). */
  readonly httpStatus?: number;
  /** Answer with this gRPC status (grpc-status trailer of an HTTP 200 response). */
  readonly grpcStatus?: number;
}

/** What to do to one request: wait `delayMs` (0: no delay), then abort when `abort` is set. */
export interface FaultDecision {
  readonly delayMs: number;
  readonly abort?: FaultAbort;
}

/** A random number in [0, 1). */
export type Random = () => number;

export interface FaultPolicy {
  /**
   * The fault for a request with these headers (lower-case names), or undefined for none.
   * Calls `random` once per configured fault kind. Allocates nothing: every decision is built
   * at compile time.
   */
  decide(headers: RequestHeaders, random: Random): FaultDecision | undefined;
}

const UNSUPPORTED = [
  'upstream_cluster',
  'downstream_nodes',
  'max_active_faults',
  'response_rate_limit',
] as const;

function positiveMs(d: envoy.Duration | undefined, field: string): number {
  const ms = durationMs(d);
  if (ms === undefined) throw new FilterConfigError(field, 'is required');
  if (Number.isNaN(ms)) throw new FilterConfigError(field, 'is not a valid duration');
  if (!(ms > 0)) throw new FilterConfigError(field, 'must be greater than 0');
  return ms;
}

interface CompiledDelay {
  readonly ms: number;
  readonly fraction: Fraction;
}

function compileDelay(d: envoy.FaultDelay, field: string): CompiledDelay {
  if (d.header_delay !== undefined) {
    throw new FilterConfigError(`${field}.header_delay`, 'is not supported by Ferry');
  }
  return {
    ms: positiveMs(d.fixed_delay, `${field}.fixed_delay`),
    fraction: compileFraction(d.percentage, `${field}.percentage`),
  };
}

interface CompiledAbort {
  readonly abort: FaultAbort;
  readonly fraction: Fraction;
}

function compileAbort(a: envoy.FaultAbort, field: string): CompiledAbort {
  if (a.header_abort !== undefined) {
    throw new FilterConfigError(`${field}.header_abort`, 'is not supported by Ferry');
  }
  const set = (['http_status', 'grpc_status'] as const).filter((k) => a[k] !== undefined);
  if (set.length !== 1) {
    throw new FilterConfigError(
      field,
      set.length === 0
        ? 'needs http_status or grpc_status'
        : 'has both http_status and grpc_status',
    );
  }
  let abort: FaultAbort;
  if (a.http_status !== undefined) {
    const s = a.http_status;
    // Envoy's validation: [200, 600).
    if (!Number.isInteger(s) || s < 200 || s >= 600) {
      throw new FilterConfigError(`${field}.http_status`, `must be from 200 to 599, not ${s}`);
    }
    abort = Object.freeze({ httpStatus: s });
  } else {
    const s = a.grpc_status as number;
    if (!Number.isInteger(s) || s < 0) {
      throw new FilterConfigError(`${field}.grpc_status`, `must be a gRPC status code, not ${s}`);
    }
    abort = Object.freeze({ grpcStatus: s });
  }
  return { abort, fraction: compileFraction(a.percentage, `${field}.percentage`) };
}

class CompiledFault implements FaultPolicy {
  private readonly delayed: FaultDecision | undefined;
  private readonly aborted: FaultDecision | undefined;
  private readonly both: FaultDecision | undefined;

  constructor(
    private readonly when: HeaderCondition | undefined,
    private readonly delay: CompiledDelay | undefined,
    private readonly abort: CompiledAbort | undefined,
  ) {
    this.delayed = delay && Object.freeze({ delayMs: delay.ms });
    this.aborted = abort && Object.freeze({ delayMs: 0, abort: abort.abort });
    this.both = delay && abort && Object.freeze({ delayMs: delay.ms, abort: abort.abort });
  }

  decide(headers: RequestHeaders, random: Random): FaultDecision | undefined {
    if (this.when !== undefined && !this.when(headers)) return undefined;
    const delayed = this.delay !== undefined && inFraction(this.delay.fraction, random());
    const aborted = this.abort !== undefined && inFraction(this.abort.fraction, random());
    if (delayed) return aborted ? this.both : this.delayed;
    return aborted ? this.aborted : undefined;
  }
}

const NO_FAULT: FaultPolicy = Object.freeze({ decide: () => undefined });

/**
 * Compiles an HTTPFault (the filter's typed_config, or a route's typed_per_filter_config,
 * possibly wrapped in a FilterConfig). Throws FilterConfigError naming the bad field.
 */
export function compileFault(config: FilterTypedConfig<envoy.HttpFault>): FaultPolicy {
  const found = filterMessage<envoy.HttpFault>(config, types.HTTP_FAULT, 'HTTPFault');
  if (!found) return NO_FAULT;
  const { message: fault, field } = found;
  for (const key of UNSUPPORTED) {
    if (fault[key] !== undefined) {
      throw new FilterConfigError(`${field}.${key}`, 'is not supported by Ferry');
    }
  }
  const delay = fault.delay && compileDelay(fault.delay, `${field}.delay`);
  const abort = fault.abort && compileAbort(fault.abort, `${field}.abort`);
  if (delay === undefined && abort === undefined) return NO_FAULT;
  return new CompiledFault(compileHeaderCondition(fault.headers, `${field}.headers`), delay, abort);
}
