/**
 * Fuzzing: raw HTTP/2 frames (h2c with prior knowledge) into a live sidecar process:
 * generated connections (see h2-frame-generator.ts), a third of them mutated byte by byte
 * after the preface, with the client ending at random points. Besides the loop's checks
 * (alive, canary over HTTP/1.1 and HTTP/2 answered right, descriptors and memory bounded)
 * each case checks the server answered only streams the client opened and no response
 * carries another exchange's token.
 */
import assert from 'node:assert/strict';
import { FrameType, PREFACE, readFrames } from '../support/h2-frames.js';
import { fuzzSettings } from '../support/seeded-random.js';
import { h2Canary, httpCanary } from './canary.js';
import { type EchoUpstream, startEchoUpstream } from './echo-upstream.js';
import { FuzzFinding, runFuzz } from './fuzz-loop.js';
import { generateH2, H2_DICTIONARY } from './h2-frame-generator.js';
import { KNOWN_CRASHES } from './known-crashes.js';
import { type LiveSidecar, startFuzzSidecar } from './live-sidecar.js';
import { Mutator } from './mutator.js';
import { describePlan, planClient, playRaw } from './raw-session.js';
import { Tokens } from './tokens.js';

const settings = fuzzSettings();

describe('fuzz: HTTP/2 frames into a live sidecar', function () {
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

  it('survives generated and mutated frames, answering only streams the client opened', async () => {
    const tokens = new Tokens();
    const mutator = new Mutator(H2_DICTIONARY);
    const report = await runFuzz({
      name: 'http2-frames',
      settings,
      concurrency: 8,
      process: () => sidecar,
      restart: () => sidecar.restart(),
      knownCrashes: KNOWN_CRASHES,
      canary: (n) =>
        n % 2 === 0
          ? httpCanary(sidecar.ports.outbound, tokens, n)
          : h2Canary(sidecar.ports.outbound, tokens, n),
      async runCase(rng, _n, input) {
        const token = tokens.forCase(rng);
        const generated = generateH2(rng, token);
        const bytes = rng.chance(0.3) ? mutator.mutate(rng, generated, 6) : generated;
        const plan = planClient(rng, bytes.length);
        input(`${describePlan(plan)} ${bytes.toString('hex')}`);
        const received = await playRaw(sidecar.ports.outbound, bytes, plan, rng, PREFACE);
        const opened = new Set(
          readFrames(bytes.subarray(0, plan.at))
            .filter((f) => f.type === FrameType.HEADERS)
            .map((f) => f.stream),
        );
        const answered = readFrames(received).filter(
          (f) =>
            (f.type === FrameType.HEADERS || f.type === FrameType.DATA) && !opened.has(f.stream),
        );
        if (answered.length > 0)
          throw new FuzzFinding(
            `the server answered stream(s) ${answered.map((f) => f.stream)} the client never opened`,
          );
        const foreign = tokens.foreign(received.toString('latin1'), token);
        if (foreign) throw new FuzzFinding(`a response for ${foreign} arrived`);
      },
    });
    assert.ok(report.cases > 0);
  });
});
