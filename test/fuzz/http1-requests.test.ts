/**
 * Fuzzing: HTTP/1.1 requests into a live sidecar process (`ferry proxy`, configured by a
 * real control plane, in front of a real app), byte by byte or in pieces, mutated from a
 * seed corpus, with the client closing or resetting at random points of the exchange.
 * Besides the loop's checks (alive, canary answered right, descriptors and memory bounded)
 * each case checks for desync: no response on the connection carries another exchange's
 * token, and the app receives no request the sidecar did not parse and forward itself.
 */
import assert from 'node:assert/strict';
import { fuzzSettings } from '../support/seeded-random.js';
import { httpCanary } from './canary.js';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.js';
import { FuzzFinding, runFuzz } from './fuzz-loop.js';
import { REQUEST_DICTIONARY, REQUEST_SEEDS, UPGRADE_SEEDS } from './http1-request-corpus.js';
import { KNOWN_CRASHES } from './known-crashes.js';
import { type LiveSidecar, startFuzzSidecar } from './live-sidecar.js';
import { Mutator } from './mutator.js';
import { describePlan, planClient, playRaw } from './raw-session.js';
import { Tokens } from './tokens.js';

const settings = fuzzSettings();

describe('fuzz: HTTP/1.1 requests into a live sidecar', function () {
  this.timeout(settings.seconds * 1000 + 60_000);
  let app: EchoUpstream;
  let sidecar: LiveSidecar;
  let stop: (() => Promise<void>) | undefined;

  before(async () => {
    app = await startEchoUpstream();
    ({ sidecar, stop } = await startFuzzSidecar(app.port));
  });

  after(async () => {
    await stop?.();
    await app?.close();
  });

  it('survives mutated requests and client closes at every point, with no desync', async () => {
    const tokens = new Tokens();
    const mutator = new Mutator(REQUEST_DICTIONARY);
    const seeds = [...REQUEST_SEEDS, ...UPGRADE_SEEDS];
    let checkedUnproxied = 0;
    /** Every case's input by its token, to name the case behind a request the app received late. */
    const byToken = new Map<string, string>();

    const report = await runFuzz({
      name: 'http1-requests',
      settings,
      concurrency: 8,
      process: () => sidecar,
      restart: () => sidecar.restart(),
      knownCrashes: KNOWN_CRASHES,
      canary: (n) => httpCanary(sidecar.ports.outbound, tokens, n),
      async runCase(rng, n, input) {
        const token = tokens.forCase(rng);
        const seed = Buffer.from(rng.pick(seeds)(token), 'latin1');
        const bytes = rng.chance(0.1) ? seed : mutator.mutate(rng, seed);
        const plan = planClient(rng, bytes.length);
        const text = `${describePlan(plan)} ${bytes.toString('latin1')}`;
        input(text);
        byToken.set(token, `case ${n}: ${JSON.stringify(text)}`);
        const received = (await playRaw(sidecar.ports.outbound, bytes, plan, rng)).toString(
          'latin1',
        );
        const foreign = tokens.foreign(received, token);
        if (foreign)
          throw new FuzzFinding(`a response for ${foreign} arrived: ${JSON.stringify(received)}`);
        const unproxied = app.unproxied.slice(checkedUnproxied);
        checkedUnproxied = app.unproxied.length;
        if (unproxied.length > 0) {
          const cases = unproxied.map(
            (r) => byToken.get(/tk[0-9a-z]{10}/.exec(r)?.[0] ?? '') ?? '?',
          );
          throw new FuzzFinding(
            `the app received requests the sidecar did not forward: ${JSON.stringify(unproxied)}, from ${cases.join('; ')}`,
          );
        }
      },
    });
    assert.ok(report.cases > 0);
  });
});
