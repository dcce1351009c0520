/**
 * The data path's listeners, wired: the outbound listener (HTTP, with TCP routed by original
 * destination), the inbound listener (HTTP, TCP with network authorization, mTLS as the
 * configuration says), and the TCP forwards. Every handler reads the configuration in
 * force (LiveConfig) per connection or request; nothing here changes with it.
 */
import type net from 'node:net';
import type { Logger } from '../../log/index.js';
import {
  createConnectHandler,
  createRequestHandler,
  createUpgradeHandler,
  DEFAULT_MAX_SHADOWS,
  DEFAULT_RETRY_BUFFER_LIMIT,
  type IstioMetrics,
  type ProxyStats,
  RequestMirror,
} from '../http/index.js';
import {
  type HttpListener,
  type LimitCounters,
  type LimitName,
  type ListenerTls,
  listenHttp,
  type requestRawSocket,
} from '../listener/index.js';
import { TapHub, TapPoint } from '../tap/index.js';
import type { LiveTelemetry } from '../telemetry/index.js';
import type { WorkloadTls } from '../tls/index.js';
import type { UpstreamPools } from '../upstream/index.js';
import { denialLogger } from './denial-log.js';
import { InboundRouting } from './inbound-routing.js';
import { createInboundTcp } from './inbound-tcp.js';
import type { LiveConfig } from './live-config.js';
import { createOutboundRouter } from './outbound-router.js';
import type { SidecarSettings } from './sidecar-options.js';
import { listenTcpForwards } from './tcp-forwards.js';
import { tcpTelemetry } from './tcp-telemetry.js';

export interface DataListenersEnv {
  readonly settings: SidecarSettings;
  /** Where the listeners bind (checked: `::` falls back to 0.0.0.0 without IPv6). */
  readonly bind: string;
  readonly live: LiveConfig;
  readonly pools: UpstreamPools;
  readonly stats: ProxyStats;
  readonly limitCounters: LimitCounters;
  readonly istio: IstioMetrics;
  readonly telemetry: LiveTelemetry;
  readonly tls: WorkloadTls | undefined;
  /** The node id, for tap's description of this sidecar. */
  readonly nodeId: string;
}

export interface DataListeners {
  readonly outbound: HttpListener;
  readonly inbound: HttpListener;
  readonly tcpForwards: readonly net.Server[];
  /** Shadow copies of mirrored requests, shared by both listeners. */
  readonly mirror: RequestMirror;
  /** Both listeners' tap points, unless tap is off. */
  readonly tapHub: TapHub | undefined;
}

/** Listens on the outbound and inbound ports and the TCP forwards; closes what it opened on failure. */
export async function listenDataPath(env: DataListenersEnv): Promise<DataListeners> {
  const { settings: o, bind, live, stats, istio, limitCounters } = env;
  const log: Logger = o.log;
  const mirror = new RequestMirror({
    pools: env.pools,
    random: o.random,
    stats,
    bodyLimit: DEFAULT_RETRY_BUFFER_LIMIT,
    maxActive: DEFAULT_MAX_SHADOWS,
  });
  const common = {
    pools: env.pools,
    random: o.random,
    stats,
    retryBufferLimit: DEFAULT_RETRY_BUFFER_LIMIT,
    mirror,
  };
  const onDenied = denialLogger(log);
  // The inbound listener's port is known once it listens; connections come after.
  let inboundPort = 0;
  const listenerPort = () => inboundPort;
  const routing = new InboundRouting(live, listenerPort, stats, log);
  const idleMs = o.limits.tcpIdleTimeoutMs;
  const inboundTcp = tcpTelemetry(
    istio.tcpRecorder('destination'),
    () => live.inboundView,
    idleMs,
    limitCounters,
    stats,
  );
  const outboundTcp = tcpTelemetry(
    istio.tcpRecorder('source'),
    () => live.outboundView,
    idleMs,
    limitCounters,
    stats,
  );
  const opaqueInbound = createInboundTcp({
    live,
    routing,
    listenerPort,
    stats,
    onDenied,
    tcp: inboundTcp,
  });
  const outboundAccept = createOutboundRouter({
    live,
    opaquePorts: o.opaquePorts,
    tcp: outboundTcp,
    log,
  });
  const opened: Array<{ close(): unknown }> = [mirror];
  try {
    const tcpForwards = await listenTcpForwards(
      o.tcpForwards ?? [],
      bind,
      o.namespace,
      live,
      outboundTcp,
      log,
    );
    for (const s of tcpForwards) opened.push(s);
    const workloadTls = env.tls;
    const inboundTls: ListenerTls | undefined = workloadTls
      ? {
          // Unconfigured ports take no connection at all (InboundRouting.accept); were one
          // to get here, STRICT is the side to err on.
          mode: () => live.inboundPolicy?.mode ?? 'STRICT',
          context: () => workloadTls.context(),
        }
      : undefined;
    // Requests refused as malformed before routing (400 DPE), on either listener.
    const refused = () => {
      stats.downstreamProtocolErrors++;
    };
    // Each listener's handlers with its metrics recorder. Unless tap is off, a tap point
    // swaps the recorder in these objects while someone taps (src/proxy/tap/tap-point.ts).
    const outRecorder = istio.recorder('source');
    const inRecorder = istio.recorder('destination');
    const outView = () => live.outboundView;
    // Inbound: the routes for the port of the app the request's connection was sent to.
    const inView = (req: Parameters<typeof requestRawSocket>[0]) => routing.viewOf(req);
    const outHttp = { ...common, view: outView, istio: outRecorder };
    const outUpgrade = { ...common, view: outView, istio: outRecorder };
    const outConnect = { ...common, view: outView, istio: outRecorder };
    const inHttp = {
      ...common,
      view: inView,
      istio: inRecorder,
      inbound: true,
      onDenied,
    };
    const inUpgrade = { ...common, view: inView, istio: inRecorder, inbound: true, onDenied };
    let tapHub: TapHub | undefined;
    if (o.tap !== false) {
      const tapOut = new TapPoint('outbound', o.workload, outRecorder, (r) => {
        outHttp.istio = r;
        outUpgrade.istio = r;
        outConnect.istio = r;
      });
      const tapIn = new TapPoint('inbound', o.workload, inRecorder, (r) => {
        inHttp.istio = r;
        inUpgrade.istio = r;
      });
      tapHub = new TapHub([tapOut, tapIn], () => ({ node: env.nodeId, workload: o.workload }));
    }
    const limitHit = (limit: LimitName) => limitCounters.hit(limit);
    const limits = o.limits;
    const fastPath = o.http1 !== 'node';
    const outbound = await listenHttp(
      bind,
      o.outboundPort ?? 15001,
      createRequestHandler(outHttp),
      {
        fastPath,
        refused,
        limits,
        limitHit,
        accept: outboundAccept,
        upgrade: createUpgradeHandler(outUpgrade),
        connect: createConnectHandler(outConnect),
      },
    );
    opened.push({ close: () => outbound.close(0) });
    const inbound = await listenHttp(bind, o.inboundPort ?? 15006, createRequestHandler(inHttp), {
      fastPath,
      refused,
      limits,
      limitHit,
      tls: inboundTls,
      opaque: opaqueInbound,
      accept: (socket) => routing.accept(socket),
      upgrade: createUpgradeHandler(inUpgrade),
    });
    inboundPort = inbound.port;
    return { outbound, inbound, tcpForwards, mirror, tapHub };
  } catch (err) {
    for (const c of opened) c.close();
    throw err;
  }
}
