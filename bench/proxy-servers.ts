/**
 * The benchmark's helper servers, each run as its own process and printing "port N":
 *   node proxy-servers.js upstream            a 100-byte HTTP/1.1 responder
 *   node proxy-servers.js http-proxy PORT     http-proxy in front of the upstream at PORT
 */
import http from 'node:http';
import httpProxy from 'http-proxy';

const [role, target] = process.argv.slice(2);
const BODY = Buffer.alloc(100, 'x');

function listen(server: http.Server): void {
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`port ${(server.address() as { port: number }).port}\n`);
  });
}

if (role === 'upstream') {
  listen(
    http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
      res.end(BODY);
    }),
  );
} else if (role === 'http-proxy') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const proxy = httpProxy.createProxyServer({ target: `http://127.0.0.1:${target}`, agent });
  proxy.on('error', (_err, _req, res) => {
    (res as http.ServerResponse).writeHead?.(502);
    res.end();
  });
  listen(http.createServer((req, res) => proxy.web(req, res)));
} else {
  process.stderr.write(`unknown role ${role}\n`);
  process.exit(2);
}
