/**
 * The sidecar's side of rewritten probes: the kubelet asks the sidecar's health port
 * (excluded from capture, so its plaintext reaches the sidecar whatever the mTLS mode and
 * the authorization rules) for `/app-health/<container>/<kind>`; the sidecar runs the
 * container's original probe against the app from inside the pod and answers 200 when it
 * passed, 503 when it failed. Only the configured paths exist: the prober cannot be used to
 * reach any other port or path of the pod. Each probe's runner is chosen once, here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { APP_HEALTH_PREFIX, type AppProbe, type AppProbes } from './app-probe.js';
import { probeGrpc } from './grpc-probe.js';
import { probeHttp } from './http-probe.js';
import type { ProbeResult } from './probe-result.js';
import { probeTcp } from './tcp-probe.js';

type Runner = () => Promise<ProbeResult>;

function runner(p: AppProbe, host: string): Runner {
  const timeoutMs = p.timeoutSeconds * 1000;
  if ('httpGet' in p) return () => probeHttp(p.httpGet, host, timeoutMs);
  if ('tcpSocket' in p) return () => probeTcp(p.tcpSocket, host, timeoutMs);
  // The kubelet's gRPC probe always dials the pod's own address (the probe has no host).
  return () => probeGrpc(p.grpc, host, timeoutMs);
}

export class AppProber {
  private readonly runners: ReadonlyMap<string, Runner>;

  /** `host`: where probes without a host of their own go, the pod's IP as for the kubelet. */
  constructor(probes: AppProbes, host: string) {
    this.runners = new Map(Object.entries(probes).map(([path, p]) => [path, runner(p, host)]));
  }

  get size(): number {
    return this.runners.size;
  }

  /** Runs the probe at `path`; undefined when no probe is configured there. */
  run(path: string): Promise<ProbeResult> | undefined {
    return this.runners.get(path)?.();
  }

  /**
   * Answers a request for an app-health path (true), or leaves it to `fallback`'s server
   * (false). The path is matched exactly; the query string is ignored.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '/';
    if (!url.startsWith(APP_HEALTH_PREFIX)) return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const pending = this.run(path);
    if (!pending) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no probe at ${path}\n`);
      return true;
    }
    void pending.then((r) => {
      res.writeHead(r.ok ? 200 : 503, { 'content-type': 'text/plain' }).end(`${r.detail}\n`);
    });
    return true;
  }
}
