/**
 * The benchmark's Node servers, each run as its own process; each prints "port N" once it
 * listens.
 *   node proxy-servers.js upstream             100-byte HTTP/1.1 answers (used when nginx
 *                                              is not installed)
 *   node proxy-servers.js http-proxy PORT      http-proxy in front of 127.0.0.1:PORT, with
 *                                              a keep-alive agent of up to 256 sockets
 */
import http from 'node:http';
import httpProxy from 'http-proxy';

export const BODY_BYTES = 100;

function listen(server: http.Server): void {
  server.keepAliveTimeout = 300_000;
  server.headersTimeout = 310_000;
  server.requestTimeout = 0;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`port ${(server.address() as { port: number }).port}\n`);
  });
}

function upstream(): void {
  const body = Buffer.alloc(BODY_BYTES, 'x');
  listen(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
      res.end(body);
    }),
  );
}

function proxy(targetPort: number): void {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const p = httpProxy.createProxyServer({ target: `http://127.0.0.1:${targetPort}`, agent });
  p.on('error', (_err, _req, res) => {
    if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502);
    res.end();
  });
  listen(http.createServer((req, res) => p.web(req, res)));
}

const [role, target] = process.argv.slice(2);
if (role === 'upstream') upstream();
else if (role === 'http-proxy' && Number(target) > 0) proxy(Number(target));
else {
  process.stderr.write('usage: proxy-servers.js upstream | http-proxy PORT\n');
  process.exit(2);
}
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => process.exit(0));
