/**
 * The apps of the two-node capture test, run inside a pod's network namespace:
 * `node app-server.js http:PORT:NAME echo:PORT ...`
 * (`...@HOST` listens on HOST only, default 0.0.0.0). An `http` listener answers every request
 * with JSON naming itself, the path, the body and the peer it saw; an `echo` listener sends
 * back what it receives, prefixed with `NAME ` once; a `greet` listener speaks first
 * (`NAME hello\n`, as SMTP or MySQL servers do), then echoes. Prints `ready` once all listen.
 */
import http from 'node:http';
import net from 'node:net';

const servers = process.argv.slice(2).map((spec) => {
  // `kind:port:name@host` listens on host only (an IPv6 address may follow the @).
  const [listener = '', host = '0.0.0.0'] = spec.split('@');
  const [kind, port, name = kind] = listener.split(':');
  if (kind === 'http') {
    const server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({ name, path: req.url, body, peer: req.socket.remoteAddress ?? '' }),
        );
      });
    });
    return { server, port: Number(port), host };
  }
  if (kind === 'echo') {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.write(`${name} ${socket.remoteAddress} `);
      socket.pipe(socket);
    });
    return { server, port: Number(port), host };
  }
  if (kind === 'greet') {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.write(`${name} hello\n`);
      socket.pipe(socket);
    });
    return { server, port: Number(port), host };
  }
  throw new Error(`unknown listener ${spec}`);
});

await Promise.all(
  servers.map(
    ({ server, port, host }) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      }),
  ),
);
process.stdout.write('ready\n');
