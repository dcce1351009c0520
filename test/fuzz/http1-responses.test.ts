/**
 * Fuzzing: HTTP/1.1 responses from a scripted upstream, mutated from a seed corpus and cut
 * off or reset at random points, carried by a live sidecar process to HTTP/1.1 clients and
 * to HTTP/2 clients (h2c). Besides the loop's checks (alive, canary answered right through
 * the same upstream, so a reused connection holding a previous response's leftover bytes
 * shows; descriptors and memory bounded), no client may receive another exchange's token.
 */
import assert from 'node:assert/strict';
import { fuzzSettings } from '../support/seeded-random.js';
import { httpCanary } from './canary.js';
import { FuzzFinding, runFuzz } from './fuzz-loop.js';
import { h2Get } from './h2-get.js';
import { RESPONSE_DICTIONARY, RESPONSE_SEEDS } from './http1-response-corpus.js';
import { KNOWN_CRASHES } from './known-crashes.js';
import { type LiveSidecar, startFuzzSidecar } from './live-sidecar.js';
import { Mutator } from './mutator.js';
import { playRaw } from './raw-session.js';
import {
  type ScriptedUpstream,
  startScriptedUpstream,
  type UpstreamEnd,
} from './scripted-upstream.js';
import { Tokens } from './tokens.js';

const settings = fuzzSettings();
const CASE_MS = 1000;

describe('fuzz: HTTP/1.1 responses through a live sidecar to HTTP/1.1 and HTTP/2 clients', function () {
  this.timeout(settings.seconds * 1000 + 60_000);
  let app: ScriptedUpstream;
  let sidecar: LiveSidecar;
  let stop: (() => Promise<void>) | undefined;

  before(async () => {
    app = await startScriptedUpstream();
    ({ sidecar, stop } = await startFuzzSidecar(app.port));
  });

  after(async () => {
    await stop?.();
    await app?.close();
  });

  it('survives mutated, truncated and reset responses, with no desync', async () => {
    const tokens = new Tokens();
    const mutator = new Mutator(RESPONSE_DICTIONARY);
    const report = await runFuzz({
      name: 'http1-responses',
      settings,
      concurrency: 8,
      process: () => sidecar,
      restart: () => sidecar.restart(),
      knownCrashes: KNOWN_CRASHES,
      canary: (n) => httpCanary(sidecar.ports.outbound, tokens, n),
      async runCase(rng, _n, input) {
        const token = tokens.forCase(rng);
        const seed = Buffer.from(rng.pick(RESPONSE_SEEDS)(token), 'latin1');
        let bytes = rng.chance(0.15) ? seed : mutator.mutate(rng, seed);
        const end = rng.pick<UpstreamEnd>(['keep', 'keep', 'close', 'reset']);
        // Cut short: with 'keep' the upstream then stalls mid-response.
        if (rng.chance(0.3)) bytes = bytes.subarray(0, rng.int(bytes.length + 1));
        const client = rng.pick(['http1', 'http1-reset', 'http2', 'http2-cancel'] as const);
        input(`${client} ← ${end} ${bytes.toString('latin1')}`);
        app.scripts.set(token, { bytes, end });
        const path = `/r/${token}`;
        let received: string;
        if (client.startsWith('http2')) {
          received = (
            await h2Get(
              sidecar.ports.outbound,
              path,
              'fuzz:8080',
              CASE_MS,
              client === 'http2-cancel',
            )
          ).text;
        } else {
          const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: fuzz:8080\r\n\r\n`, 'latin1');
          const plan = {
            end: client === 'http1' ? 'wait' : 'reset-on-response',
            at: request.length,
            chunking: 'whole',
          } as const;
          received = (await playRaw(sidecar.ports.outbound, request, plan, rng)).toString('latin1');
        }
        app.scripts.delete(token);
        const foreign = tokens.foreign(received, token);
        if (foreign)
          throw new FuzzFinding(`a response for ${foreign} arrived: ${JSON.stringify(received)}`);
      },
    });
    assert.ok(report.cases > 0);
  });
});
