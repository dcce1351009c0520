/**
 * What the TCP proxy reports, for one direction: Istio's TCP metrics (source reporter
 * outbound, destination reporter inbound), the access log of the listener in force when the
 * connection closes, and the idle timeout with its counter.
 */
import type { IstioMetrics, RouteView } from '../http/index.js';
import { LIMIT, type LimitCounters } from '../listener/index.js';
import type { TcpProxyEnv } from '../tcp/index.js';

type TcpRecorder = ReturnType<IstioMetrics['tcpRecorder']>;

export function tcpTelemetry(
  recorder: TcpRecorder,
  view: () => RouteView,
  idleTimeoutMs: number,
  limitCounters: LimitCounters,
  /** Where connections refused by max_connections are counted; absent: not counted. */
  stats?: { connectionOverflows: number },
): TcpProxyEnv {
  return {
    opened: (cluster, socket, to, secure) => recorder.opened(cluster.name, socket, to, secure),
    closed: (x) => {
      recorder.closed({
        clusterName: x.cluster.name,
        sent: x.sent,
        received: x.received,
        downstreamSocket: x.downstream,
        failed: x.failed,
        upstreamHost: x.host,
        upstreamSecure: x.secure,
      });
      view().accessLog?.tcp(x);
    },
    defaultIdleTimeoutMs: idleTimeoutMs,
    idleTimedOut: () => limitCounters.hit(LIMIT.TCP_IDLE_TIMEOUT),
    ...(stats === undefined
      ? {}
      : {
          overflowed: () => {
            stats.connectionOverflows++;
          },
        }),
  };
}
