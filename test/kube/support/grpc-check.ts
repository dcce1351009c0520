/**
 * `node grpc-check.js HOST PORT [SERVICE]`: one grpc.health.v1.Health/Check over plaintext
 * (through the app prober's gRPC client), printing `{"ok", "detail"}`; run inside a namespace.
 */
import { AppProber } from '../../../src/proxy/prober/index.js';

const [host = '', port = '', service] = process.argv.slice(2);
const path = '/app-health/check/livez';
const prober = new AppProber(
  { [path]: { grpc: { port: Number(port), ...(service ? { service } : {}) }, timeoutSeconds: 5 } },
  host,
);
process.stdout.write(`${JSON.stringify(await prober.run(path))}\n`);
