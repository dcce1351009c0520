/**
 * An httpGet probe as the kubelet runs it (pkg/probe/http in kubernetes/kubernetes): a GET
 * with `User-Agent: kube-probe/...` and `Accept: *\/*` unless the probe's headers say
 * otherwise, its Host header from the probe's headers when given, no keep-alive, TLS
 * without certificate verification for HTTPS, and success for a status from 200 to 399.
 * Redirects are not followed: a 3xx counts as success, as it does for the kubelet when the
 * redirect leaves the host.
 */
import http from 'node:http';
import https from 'node:https';
import type { HttpGetProbe } from './app-probe.js';
import { hostPort, type ProbeResult } from './probe-result.js';

const USER_AGENT = 'kube-probe/ferry';

export function probeHttp(p: HttpGetProbe, host: string, timeoutMs: number): Promise<ProbeResult> {
  const target = p.host ?? host;
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: '*/*' };
  for (const h of p.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  headers.host ??= hostPort(target, p.port);
  headers.connection = 'close';
  const client = p.scheme === 'HTTPS' ? https : http;
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(r);
    };
    const req = client.request({
      host: target,
      port: p.port,
      path: p.path,
      method: 'GET',
      headers,
      agent: false,
      // The kubelet does not check the app's certificate either.
      ...(p.scheme === 'HTTPS' ? { rejectUnauthorized: false } : {}),
    });
    const timer = setTimeout(
      () => finish({ ok: false, detail: `GET ${p.path}: no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      finish({ ok: status >= 200 && status < 400, detail: `GET ${p.path}: HTTP ${status}` });
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      finish({ ok: false, detail: `GET ${p.path}: ${err.code ?? err.message}` }),
    );
    req.end();
  });
}
