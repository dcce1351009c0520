/** The canary every fuzz target sends after each case: GET /canary/<token> on a fresh connection. */
import { RawClient } from '../support/raw-http.js';
import { FuzzFinding } from './fuzz-loop.js';
import type { Tokens } from './tokens.js';

/** Longest a canary may take: generous, the machine may be busy. */
const CANARY_MS = 5000;

/**
 * Sends the canary through `port` as `host` and checks the answer is the upstream's echo of
 * exactly this request. `expect` turns the token into the body the upstream sends.
 */
export async function httpCanary(
  port: number,
  tokens: Tokens,
  n: number,
  host = 'fuzz:8080',
  expect: (target: string) => string = (target) => `fz-echo GET ${target}`,
): Promise<void> {
  const target = `/canary/${tokens.forCanary(n)}`;
  const client = await RawClient.connect(port);
  try {
    client.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    const r = await client.response(CANARY_MS);
    if (r.status !== 200 || r.body !== expect(target))
      throw new FuzzFinding(`the canary ${target} got ${r.status} ${JSON.stringify(r.body)}`);
  } finally {
    client.destroy();
  }
}
