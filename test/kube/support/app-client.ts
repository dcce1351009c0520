/**
 * The client app of the two-node capture test, run inside a pod's network namespace:
 * - `node app-client.js http URL [BODY [HOST]]`: a plain HTTP request (POST with a non-empty
 *   body, else GET; HOST replaces the Host header); prints `{"status", "body"}`;
 * - `node app-client.js greet HOST PORT PAYLOAD`: waits for the server to speak first, then
 *   as `tcp`; prints `{"received", "greetingMs"}`;
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
  const [url, body, host] = args;
  const req = http.request(url!, {
    method: body ? 'POST' : 'GET',
    timeout: 10_000,
    ...(host ? { headers: { host } } : {}),
  });
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
  req.end(body || undefined);
} else if (kind === 'tcp' || kind === 'greet') {
  const [host, port, payload] = args;
  const started = performance.now();
  let greetingMs: number | undefined;
  const socket = net.connect({ host: host!, port: Number(port), allowHalfOpen: true });
  let received = '';
  socket.setTimeout(10_000, () =>
    socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
  );
  socket.setEncoding('utf8').on('data', (d: string) => {
    received += d;
    if (kind === 'greet' && greetingMs === undefined) {
      greetingMs = Math.round(performance.now() - started);
      socket.end(payload);
    }
  });
  socket.on('connect', () => {
    if (kind === 'tcp') socket.end(payload);
  });
  socket.on('end', () => process.stdout.write(`${JSON.stringify({ received, greetingMs })}\n`));
  socket.on('error', fail);
} else {
  fail(new Error(`unknown command ${kind}`));
}
