/** The data path's own counters (shown on the admin /stats page and as Prometheus metrics). */
import { countFlags } from '../failure/index.js';
import type { Exchange } from './exchange.js';

export class ProxyStats {
  requests = 0;
  responses2xx = 0;
  responses3xx = 0;
  responses4xx = 0;
  responses5xx = 0;
  retries = 0;
  noRoute = 0;
  noCluster = 0;
  noHealthyUpstream = 0;
  upstreamTimeouts = 0;
  upstreamConnectFailures = 0;
  downstreamResets = 0;
  /** Requests aborted by fault injection. */
  faults = 0;
  /** Requests refused by a local rate limit (429). */
  rateLimited = 0;
  /** Hosts ejected by outlier detection. */
  ejections = 0;
  /** Requests refused by authorization (RBAC, 403). */
  denied = 0;
  /** Requests refused by a circuit breaker (UO). */
  overflows = 0;
  /** Retries not sent because of the retry limit or budget. */
  retryOverflows = 0;
  /** TCP connections closed at once because their cluster was at max_connections. */
  connectionOverflows = 0;
  /** Shadow (mirrored) requests sent, and of those, the ones that failed or timed out. */
  shadows = 0;
  shadowsFailed = 0;
  /** Shadows not sent: over the cap of shadows in flight, no mirror cluster or host, its breaker. */
  shadowsDropped = 0;
  /** Shadows not sent because the request body was over the buffer limit. */
  shadowsBodyTooLarge = 0;
  /** Shadows in flight now. */
  shadowsActive = 0;
  /**
   * Requests refused as malformed (400/431/501/505 DPE) or whose body broke HTTP/1.1's
   * framing, and upstream responses the downstream protocol cannot carry (502 UPE).
   */
  downstreamProtocolErrors = 0;
  upstreamProtocolErrors = 0;
  /**
   * Errors that reached the process's last-resort handler. Each one is a bug (an 'error'
   * not handled where its object was made): the sidecar logs and counts it instead of
   * dying with every connection of its pod.
   */
  uncaughtErrors = 0;
  /**
   * Inbound connections closed unserved because the configuration describes no inbound
   * listener for the port (none yet, or a sidecar started without `--app-port`).
   */
  inboundUnconfigured = 0;

  record(x: Exchange): void {
    this.requests++;
    const s = x.status;
    if (s >= 500) this.responses5xx++;
    else if (s >= 400) this.responses4xx++;
    else if (s >= 300) this.responses3xx++;
    else if (s >= 200) this.responses2xx++;
    // Failures by their flags, as the failure table maps them to counters.
    if (x.flags) countFlags(this, x.flags);
  }

  /** A request answered without an exchange (no route, no cluster). */
  recordLocal(status: number, flag: 'NR' | 'NC'): void {
    this.requests++;
    if (status >= 500) this.responses5xx++;
    else if (status >= 400) this.responses4xx++;
    if (flag === 'NR') this.noRoute++;
    else this.noCluster++;
  }

  snapshot(): Record<string, number> {
    return { ...this } as unknown as Record<string, number>;
  }
}
