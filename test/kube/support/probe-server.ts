/**
 * A TCP server for the capture tests, run inside a test network namespace:
 *   node probe-server.js NAME:PORT[:split] [...]
 * listens on [::]:PORT (IPv4 too, as v4-mapped addresses) for each, or with `:split` on
 * 0.0.0.0:PORT and [::]:PORT apart (so IPv4 arrives on an AF_INET socket), prints "ready" once all listen, and answers
 * every connection with one JSON line: which listener took it, the local address, and the
 * original destination from SO_ORIGINAL_DST (null when not redirected, "unavailable" when
 * the addon is not built).
 */
import net from 'node:net';
import {
  originalDestination,
  originalDestinationAvailable,
} from '../../../src/kube/capture/index.js';

const specs = process.argv.slice(2).flatMap((arg) => {
  const [name, port, split] = arg.split(':');
  return split === 'split'
    ? [
        { name: name!, port: Number(port), host: '0.0.0.0', ipv6Only: false },
        { name: name!, port: Number(port), host: '::', ipv6Only: true },
      ]
    : [{ name: name!, port: Number(port), host: '::', ipv6Only: false }];
});

let listening = 0;
for (const { name, port, host, ipv6Only } of specs) {
  const server = net.createServer((socket) => {
    const original = originalDestinationAvailable()
      ? (originalDestination(socket) ?? null)
      : 'unavailable';
    socket.end(
      `${JSON.stringify({ listener: name, local: `${socket.localAddress}:${socket.localPort}`, original })}\n`,
    );
  });
  server.listen({ port, host, ipv6Only }, () => {
    listening += 1;
    if (listening === specs.length) process.stdout.write('ready\n');
  });
}
