/**
 * The app of the probe test, run inside a pod's network namespace (`node probe-app.js`): an
 * HTTP server on 8080 (`/healthz`, the liveness endpoint, answers 200 until the process gets
 * SIGUSR1, then 500; `/ready` 200; anything else JSON naming the listener, the path and the
 * peer), gRPC health on 50051 (the server SERVING), a TCP echo on 9000 that first writes
 * `echo-9000 <peer> `, and a debug HTTP server on 127.0.0.1:6060 only (what a pprof endpoint
 * is). Prints `ready` once all listen, and `liveness 500` on SIGUSR1.
 */
import http from 'node:http';
import net from 'node:net';
import { startHealthServer } from '../../support/grpc-health-server.js';

let liveness = 200;
const web = http.createServer((req, res) => {
  if (req.url === '/healthz') return res.writeHead(liveness).end(`liveness ${liveness}\n`);
  if (req.url === '/ready') return res.writeHead(200).end('ready\n');
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ name: 'web-8080', path: req.url, peer: req.socket.remoteAddress }));
});
const echo = net.createServer({ allowHalfOpen: true }, (socket) => {
  // A tcpSocket probe connects and closes at once: the greeting may meet a reset socket.
  socket.on('error', () => socket.destroy());
  socket.write(`echo-9000 ${socket.remoteAddress} `);
  socket.pipe(socket);
});
const debug = http.createServer((_req, res) => res.end('debug-6060\n'));
const listen = (server: net.Server, port: number, host = '0.0.0.0') =>
  new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
await listen(web, 8080);
await listen(echo, 9000);
await listen(debug, 6060, '127.0.0.1');
await startHealthServer('0.0.0.0', 50051);
process.on('SIGUSR1', () => {
  liveness = 500;
  process.stdout.write('liveness 500\n');
});
process.stdout.write('ready\n');
