/**
 * The upstream of the request fuzzers: node's HTTP server, answering every request with
 * `fz-echo <method> <target>` so the client can tell whose response it got. Every request a
 * sidecar forwards carries x-envoy-attempt-count (the sidecar sets it); a request that
 * arrives without it is bytes the sidecar passed on as something else (a body, a tunnel)
 * that the app parsed as a request of its own: a desync between sidecar and app. Upgrade
 * requests (the sidecar writes them itself, without the count) and CONNECT tunnels (a
 * connection whose first request came without it) are the exceptions.
 * Targets containing `/early` are answered before their body has arrived.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface EchoUpstream {
  readonly port: number;
  /** Request lines that reached the app without passing through the sidecar's parser. */
  readonly unproxied: string[];
  close(): Promise<void>;
}

export async function startEchoUpstream(): Promise<EchoUpstream> {
  const unproxied: string[] = [];
  /** How each connection began: forwarded requests, an upgrade, or a CONNECT tunnel's bytes. */
  const began = new WeakMap<object, 'forwarded' | 'upgrade' | 'tunnel'>();
  const server = http.createServer((req, res) => {
    const forwarded = req.headers['x-envoy-attempt-count'] !== undefined;
    const upgrade = req.headers.upgrade !== undefined;
    let kind = began.get(req.socket);
    if (!kind) {
      // A connection whose first request the sidecar did not write is a CONNECT tunnel:
      // what a client sends through it reaches the app as it is, by design.
      kind = forwarded ? 'forwarded' : upgrade ? 'upgrade' : 'tunnel';
      began.set(req.socket, kind);
    }
    // The upgrade path writes the upgrade request itself, without an attempt count.
    if (!forwarded && kind !== 'tunnel' && !(upgrade && kind === 'upgrade'))
      unproxied.push(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
    const answer = () => {
      if (res.headersSent) return;
      const body = `fz-echo ${req.method} ${req.url}`;
      res.writeHead(200, {
        'content-type': 'text/plain',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    };
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    req.resume();
    if (req.url?.includes('/early')) answer();
    else req.on('end', answer);
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    unproxied,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
