/**
 * A proxyless gRPC client (grpc-js-xds), run as its own process by tests: it calls each
 * target given on the command line every few milliseconds and prints one JSON line per
 * call: { target, backend, code, at }. It stops when its standard input closes.
 * The xDS bootstrap comes from GRPC_XDS_BOOTSTRAP_CONFIG.
 */
import * as grpc from '@grpc/grpc-js';
import * as xds from '@grpc/grpc-js-xds';
import { EchoClient } from './echo-grpc.js';

xds.register();

interface EchoCaller {
  Call(
    req: Buffer,
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, reply?: Buffer) => void,
  ): void;
}

const targets = process.argv.slice(2);
const intervalMs = Number(process.env.CALL_INTERVAL_MS ?? 10);
const clients = targets.map((target) => ({
  target,
  client: new EchoClient(target, grpc.credentials.createInsecure()),
}));
let stopping = false;

function callOnce(target: string, client: grpc.Client): Promise<void> {
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + 5000);
    (client as unknown as EchoCaller).Call(
      Buffer.from('ping'),
      { deadline },
      (err: grpc.ServiceError | null, reply?: Buffer) => {
        const line = {
          target,
          backend: reply?.toString() ?? null,
          code: err ? err.code : 0,
          error: err ? err.details : undefined,
          at: Date.now(),
        };
        process.stdout.write(`${JSON.stringify(line)}\n`);
        resolve();
      },
    );
  });
}

async function loop(): Promise<void> {
  while (!stopping) {
    await Promise.all(clients.map(({ target, client }) => callOnce(target, client)));
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  for (const { client } of clients) client.close();
  process.exit(0);
}

process.stdin.on('end', () => {
  stopping = true;
});
process.stdin.resume();
loop();
