/**
 * The client app of the two-node capture test, run inside a pod's network namespace:
 * - `node app-client.js http URL [BODY]`: a plain HTTP request (POST with a body, else GET);
 *   prints `{"status", "body"}`;
 * - `node app-client.js tcp HOST PORT PAYLOAD`: connects, writes PAYLOAD, half-closes and
 *   prints `{"received"}` once the server has closed;
 * either prints `{"error"}` when it fails.
 */
import http from 'node:http';
import net from 'node:net';

const [kind, ...args] = process.argv.slice(2);
const fail = (err: NodeJS.ErrnoException) =>
  process.stdout.write(`${JSON.stringify({ error: err.code ?? err.message })}\n`);

if (kind === 'http') {
  const [url, body] = args;
  const req = http.request(url!, { method: body === undefined ? 'GET' : 'POST', timeout: 10_000 });
  req.on('response', (res) => {
    let text = '';
    res.setEncoding('utf8').on('data', (d: string) => {
      text += d;
    });
    res.on('end', () =>
      process.stdout.write(`${JSON.stringify({ status: res.statusCode, body: text })}\n`),
    );
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
  req.on('error', fail);
  req.end(body);
} else if (kind === 'tcp') {
  const [host, port, payload] = args;
  const socket = net.connect({ host: host!, port: Number(port), allowHalfOpen: true });
  let received = '';
  socket.setTimeout(10_000, () =>
    socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
  );
  socket.setEncoding('utf8').on('data', (d: string) => {
    received += d;
  });
  socket.on('connect', () => socket.end(payload));
  socket.on('end', () => process.stdout.write(`${JSON.stringify({ received })}\n`));
  socket.on('error', fail);
} else {
  fail(new Error(`unknown command ${kind}`));
}
