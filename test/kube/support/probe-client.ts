/**
 * The client side of the capture tests, run inside a test network namespace (possibly as
 * the proxy's uid): `node probe-client.js HOST PORT` connects, prints the server's JSON
 * line, or `{"error": CODE}` when the connection fails.
 */
import net from 'node:net';

const [host, port] = process.argv.slice(2);
const socket = net.connect({ host: host!, port: Number(port) });
let data = '';
socket.setTimeout(5000, () =>
  socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
);
socket.setEncoding('utf8').on('data', (d: string) => {
  data += d;
});
socket.on('end', () => process.stdout.write(data));
socket.on('error', (err: NodeJS.ErrnoException) => {
  process.stdout.write(`${JSON.stringify({ error: err.code ?? err.message })}\n`);
});
