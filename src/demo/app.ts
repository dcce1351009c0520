/**
 * A demo service: a small HTTP server. `frontend` calls catalog and reviews through its
 * sidecar's outbound port and returns what they said; the others answer on their own.
 * Run as `node app.js NAME VERSION PORT OUTBOUND_PORT`; it prints "listening" when ready.
 */
import http from 'node:http';

const [name = 'app', version = 'v1', portArg = '0', outboundArg = '0'] = process.argv.slice(2);
const outbound = Number(outboundArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function call(service: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.get(
      { port: outbound, path, agent, headers: { host: `${service}:8080` } },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', (err) => resolve({ status: 503, body: err.message }));
  });
}

const server = http.createServer(async (req, res) => {
  if (name === 'frontend') {
    const [catalog, reviews] = await Promise.all([
      call('catalog', '/items'),
      call('reviews', '/reviews'),
    ]);
    const ok = catalog.status === 200 && reviews.status === 200;
    res.writeHead(ok ? 200 : 502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ frontend: version, catalog: catalog.body, reviews: reviews.body }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`${name}-${version}${req.url === '/reviews' ? ' ★★★★☆' : ''}`);
});

server.listen(Number(portArg), '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as { port: number }).port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => undefined);
