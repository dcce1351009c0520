/** The canary every fuzz target sends after each case: GET /canary/<token> on a fresh connection. */
import { RawClient } from '../support/raw-http.js';
import { FuzzFinding } from './fuzz-loop.js';
import { h2Get } from './h2-get.js';
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

/** The canary over HTTP/2 (h2c, prior knowledge) on a fresh session. */
export async function h2Canary(port: number, tokens: Tokens, n: number): Promise<void> {
  const target = `/canary/${tokens.forCanary(n)}`;
  const r = await h2Get(port, target, 'fuzz:8080', CANARY_MS);
  const body = r.text.slice(r.text.indexOf('}') + 1);
  if (r.status !== 200 || body !== `fz-echo GET ${target}`)
    throw new FuzzFinding(`the HTTP/2 canary ${target} got ${r.status} ${JSON.stringify(r.text)}`);
}
