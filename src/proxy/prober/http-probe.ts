/**
 * An httpGet probe as the kubelet runs it (pkg/probe/http in kubernetes/kubernetes): a GET
 * with `User-Agent: kube-probe/...` and `Accept: *\/*` unless the probe's headers say
 * otherwise, its Host header from the probe's headers when given, no keep-alive, TLS
 * without certificate verification for HTTPS, and success for a status from 200 to 399.
 * Redirects to the same host are followed (at most 10, as Go's client does) and the last
 * answer decides; a redirect to another host is not followed and counts as success, as the
 * kubelet does (it warns "probe terminated redirects").
 */
import http from 'node:http';
import https from 'node:https';
import type { HttpGetProbe } from './app-probe.js';
import { hostPort, type ProbeResult } from './probe-result.js';

const USER_AGENT = 'kube-probe/ferry';
const MAX_REDIRECTS = 10;

interface Answer {
  readonly status: number;
  readonly location: string | undefined;
}

/** One GET; fails after `leftMs`, saying the probe's own timeout (`timeoutMs`). */
function get(
  url: URL,
  headers: Record<string, string>,
  leftMs: number,
  timeoutMs: number,
): Promise<Answer> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(url, {
      method: 'GET',
      headers,
      agent: false,
      // The kubelet does not check the app's certificate either.
      ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
    });
    const timer = setTimeout(() => {
      req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: '' }));
    }, leftMs);
    req.on('response', (res) => {
      clearTimeout(timer);
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode ?? 0, location: res.headers.location });
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

export async function probeHttp(
  p: HttpGetProbe,
  host: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const target = p.host ?? host;
  const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: '*/*' };
  for (const h of p.httpHeaders ?? []) headers[h.name.toLowerCase()] = h.value;
  headers.host ??= hostPort(target, p.port);
  headers.connection = 'close';
  const scheme = p.scheme === 'HTTPS' ? 'https' : 'http';
  let url = new URL(`${scheme}://${hostPort(target, p.port)}${p.path}`);
  const deadline = performance.now() + timeoutMs;
  const what = `GET ${p.path}`;
  try {
    for (let hops = 0; ; hops++) {
      const left = Math.max(1, Math.round(deadline - performance.now()));
      const answer = await get(url, headers, left, timeoutMs);
      const ok = answer.status >= 200 && answer.status < 400;
      const redirect = answer.status >= 300 && answer.status < 400 && answer.location;
      if (!redirect || hops === MAX_REDIRECTS) {
        return { ok, detail: `${what}: HTTP ${answer.status}` };
      }
      const next = new URL(answer.location as string, url);
      if (next.hostname !== url.hostname) {
        return { ok: true, detail: `${what}: HTTP ${answer.status} to another host, not followed` };
      }
      url = next;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, detail: `${what}: ${e.code || e.message}` };
  }
}
