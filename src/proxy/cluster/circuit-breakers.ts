/**
 * Circuit breakers of one cluster, with Envoy's semantics and defaults: at most
 * max_requests requests and max_retries retries in flight (1024 and 3 by default), and
 * max_connections / max_pending_requests per endpoint pool. A request over a limit is
 * answered at once (503, UO) instead of queueing without bound.
 * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/circuit_breaking
 *
 * Retries: with a retry_budget, the retries in flight may be at most budget_percent of the
 * requests in flight, and never fewer than min_retry_concurrency (Envoy ignores max_retries
 * then). Without any retry setting, Ferry applies Linkerd's and Envoy's suggested budget of
 * 20% with a minimum of 3, so a failing upstream cannot be retried into a storm.
 *
 * The state (what is in flight) outlives configuration updates; thresholds are replaced.
 */
import type { envoy } from '../../xds/index.js';

export interface BreakerThresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  /** Fixed limit on retries in flight, when no budget applies. */
  readonly maxRetries: number;
  /** Retries in flight as a share of requests in flight. */
  readonly retryBudget?: { readonly percent: number; readonly minConcurrency: number };
}

export const DEFAULT_THRESHOLDS: BreakerThresholds = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
  retryBudget: { percent: 20, minConcurrency: 3 },
};

/** The Cluster fields read. */
export type CircuitBreakersResource = Pick<envoy.Cluster, 'circuit_breakers'>;

/** The DEFAULT priority's thresholds, Envoy's defaults for what is not set. */
export function parseThresholds(resource: CircuitBreakersResource): BreakerThresholds {
  const t = resource.circuit_breakers?.thresholds?.find(
    (x) => x.priority === undefined || x.priority === 'DEFAULT',
  );
  if (!t) return DEFAULT_THRESHOLDS;
  const d = DEFAULT_THRESHOLDS;
  const budget = t.retry_budget
    ? {
        // A double: the codec renders NaN and the infinities as strings.
        percent: Number(t.retry_budget.budget_percent?.value ?? 20),
        minConcurrency: t.retry_budget.min_retry_concurrency?.value ?? 3,
      }
    : t.max_retries
      ? undefined
      : d.retryBudget;
  return {
    maxConnections: t.max_connections?.value ?? d.maxConnections,
    maxPendingRequests: t.max_pending_requests?.value ?? d.maxPendingRequests,
    maxRequests: t.max_requests?.value ?? d.maxRequests,
    maxRetries: t.max_retries?.value ?? d.maxRetries,
    ...(budget ? { retryBudget: budget } : {}),
  };
}

export class CircuitBreakers {
  activeRequests = 0;
  activeRetries = 0;
  /** Requests refused because max_requests was reached. */
  requestOverflows = 0;
  /** Retries not sent because the retry limit or budget was reached. */
  retryOverflows = 0;
  /** Connection-long users (TCP proxy connections) holding a max_connections slot. */
  activeConnections = 0;
  /** Connections refused because max_connections was reached (Envoy's upstream_cx_overflow). */
  connectionOverflows = 0;

  constructor(public thresholds: BreakerThresholds = DEFAULT_THRESHOLDS) {}

  /** Takes a request slot; false when the cluster is at max_requests. */
  tryRequest(): boolean {
    if (this.activeRequests >= this.thresholds.maxRequests) {
      this.requestOverflows++;
      return false;
    }
    this.activeRequests++;
    return true;
  }

  releaseRequest(): void {
    this.activeRequests--;
  }

  /**
   * Takes a connection slot for a proxied TCP connection; false when the cluster is at
   * max_connections. Envoy's tcp_proxy holds one upstream connection per downstream one,
   * so max_connections bounds the connections it proxies, and one over it is closed at
   * once (upstream_cx_overflow, flag UO).
   * https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/circuit_breaking
   */
  tryConnection(): boolean {
    if (this.activeConnections >= this.thresholds.maxConnections) {
      this.connectionOverflows++;
      return false;
    }
    this.activeConnections++;
    return true;
  }

  releaseConnection(): void {
    this.activeConnections--;
  }

  /** Takes a retry slot; false when retries in flight are at their limit or budget. */
  tryRetry(): boolean {
    const budget = this.thresholds.retryBudget;
    const limit = budget
      ? Math.max(budget.minConcurrency, Math.floor((budget.percent / 100) * this.activeRequests))
      : this.thresholds.maxRetries;
    if (this.activeRetries >= limit) {
      this.retryOverflows++;
      return false;
    }
    this.activeRetries++;
    return true;
  }

  releaseRetry(): void {
    this.activeRetries--;
  }

  toJSON(): object {
    return {
      thresholds: this.thresholds,
      active_requests: this.activeRequests,
      active_retries: this.activeRetries,
      request_overflows: this.requestOverflows,
      retry_overflows: this.retryOverflows,
      active_connections: this.activeConnections,
      connection_overflows: this.connectionOverflows,
    };
  }
}
