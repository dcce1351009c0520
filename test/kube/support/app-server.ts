/**
 * The apps of the two-node capture test, run inside a pod's network namespace:
 * `node app-server.js http:PORT:NAME echo:PORT ...`. An `http` listener answers every request
 * with JSON naming itself, the path, the body and the peer it saw; an `echo` listener sends
 * back what it receives, prefixed with `NAME ` once; a `greet` listener speaks first
 * (`NAME hello\n`, as SMTP or MySQL servers do), then echoes. Prints `ready` once all listen.
 */
import http from 'node:http';
import net from 'node:net';

const servers = process.argv.slice(2).map((spec) => {
  const [kind, port, name = kind] = spec.split(':');
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
    return { server, port: Number(port) };
  }
  if (kind === 'echo') {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.write(`${name} ${socket.remoteAddress} `);
      socket.pipe(socket);
    });
    return { server, port: Number(port) };
  }
  if (kind === 'greet') {
    const server = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.write(`${name} hello\n`);
      socket.pipe(socket);
    });
    return { server, port: Number(port) };
  }
  throw new Error(`unknown listener ${spec}`);
});

await Promise.all(
  servers.map(
    ({ server, port }) =>
      new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '0.0.0.0', () => resolve());
      }),
  ),
);
process.stdout.write('ready\n');
