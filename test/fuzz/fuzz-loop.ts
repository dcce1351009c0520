/**
 * The fuzzing loop shared by every target: runs generated cases against a live process for
 * a time budget, a few at a time, each from its own seeded source (case n of seed s is the
 * same input on every run), and after each case a well-formed canary on a fresh connection.
 * It fails, naming the seed, the case and its input, when the process dies, when a case's
 * own check finds a desync, when the canary is not answered right, or when the process
 * holds more file descriptors or memory after the run than the bounds allow.
 */
import { describeFds, MiB, openFds, rssBytes } from '../support/process-usage.js';
import { type FuzzSettings, SeededRandom } from '../support/seeded-random.js';
import { sleep, waitFor } from '../support/wait-for.js';

/** The process under test, as the loop sees it. */
export interface LiveProcess {
  readonly pid: number;
  /** Resolves when the process exits. */
  readonly exited: Promise<unknown>;
  readonly dead: boolean;
  stderr(): string;
}

/**
 * A crash already filed and being fixed elsewhere: while its fix is not on main the loop
 * counts it, restarts the process and goes on, so the rest of the target is still fuzzed.
 */
export interface KnownCrash {
  readonly signature: RegExp;
  readonly issue: string;
}

/** A check of a case that found the process misbehaving (not crashing). */
export class FuzzFinding extends Error {}

export interface FuzzTarget {
  readonly name: string;
  readonly settings: FuzzSettings;
  readonly concurrency: number;
  process(): LiveProcess;
  /** Starts a fresh process after a known crash. */
  restart(): Promise<void>;
  /**
   * Generates case n from `rng`, calls `input` with a printable form of it before sending
   * anything, runs it and checks what came back (throwing FuzzFinding).
   */
  runCase(rng: SeededRandom, n: number, input: (text: string) => void): Promise<void>;
  /** A well-formed exchange on a fresh connection that must get the right answer. */
  canary(n: number): Promise<void>;
  readonly knownCrashes?: readonly KnownCrash[];
  /**
   * Descriptors a known, filed leak holds after the run (counted apart, not against the
   * bound), like knownCrashes: to be removed with its fix.
   */
  readonly knownLeak?: { readonly issue: string; count(pid: number): number };
  /** Extra descriptors allowed after the run (pooled connections). Default 32. */
  readonly fdSlack?: number;
  /** Extra resident memory allowed after the run, MiB. Default 96. */
  readonly rssSlackMiB?: number;
}

export interface FuzzReport {
  readonly target: string;
  readonly seed: number;
  /** Inputs tried (the cases that ended in a known crash included). */
  readonly cases: number;
  readonly seconds: number;
  /** Known crashes hit, by issue. */
  readonly known: Record<string, number>;
  readonly fds: readonly [number, number];
  readonly rssMiB: readonly [number, number];
}

const printable = (text: string) =>
  JSON.stringify(text.length > 800 ? `${text.slice(0, 800)}…(${text.length} chars)` : text);

export async function runFuzz(t: FuzzTarget): Promise<FuzzReport> {
  const { seed, seconds } = t.settings;
  const inputs = new Map<number, string>();
  const known: Record<string, number> = {};
  const fail = (what: string, n: number | undefined, detail = ''): never => {
    // The case that failed first, then every other case in flight (which may be the cause).
    const order = [...inputs.keys()].sort((a, b) => (a === n ? -1 : b === n ? 1 : a - b));
    const cases = order.map((k) => `  case ${k}: ${printable(inputs.get(k) ?? '')}`).join('\n');
    throw new Error(
      `fuzz ${t.name}: ${what} (seed ${seed}; reproduce with FERRY_FUZZ_SEED=${seed})\n${cases}${detail ? `\n${detail}` : ''}`,
    );
  };

  let baseline = await settleBaseline(t);
  let restarting: Promise<void> | undefined;
  /** The process died: a known crash restarts it, anything else fails the run. */
  const crashed = async (n: number): Promise<void> => {
    if (restarting) return restarting;
    const stderr = t.process().stderr();
    const k = t.knownCrashes?.find((c) => c.signature.test(stderr));
    if (!k) fail('the process died', undefined, `its stderr ends:\n${stderr.slice(-3000)}`);
    else {
      known[k.issue] = (known[k.issue] ?? 0) + 1;
      console.log(`      ${t.name}: known crash (${k.issue}) around case ${n}; restarting`);
      restarting = (async () => {
        await t.restart();
        baseline = await settleBaseline(t);
      })();
      await restarting;
      restarting = undefined;
    }
  };
  /** Whether a failed check is explained by the process dying (it may take a moment to be seen). */
  const died = async () => {
    if (!t.process().dead) await Promise.race([t.process().exited, sleep(300)]);
    return t.process().dead;
  };

  let next = 0;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      if (restarting) await restarting;
      const n = next++;
      const rng = SeededRandom.forCase(seed, n);
      let stage = 'the case';
      try {
        await t.runCase(rng, n, (text) => inputs.set(n, text));
        stage = 'the canary after the case';
        await t.canary(n);
      } catch (err) {
        if (await died()) {
          await crashed(n);
          inputs.delete(n);
          continue;
        }
        const e = err as Error;
        fail(e instanceof FuzzFinding ? e.message : `${stage} failed: ${e.message}`, n);
      }
      if (t.process().dead) await crashed(n);
      inputs.delete(n);
    }
  };
  await Promise.all(Array.from({ length: t.concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;

  // What the run left behind: descriptors settle as the process notices closed peers.
  const pid = t.process().pid;
  const fdLimit = baseline.fds + (t.fdSlack ?? 32);
  let fds = openFds(pid);
  try {
    await waitFor(
      `fds to settle`,
      () => {
        fds = openFds(pid);
        return fds - (t.knownLeak?.count(pid) ?? 0) <= fdLimit;
      },
      10_000,
      50,
    );
  } catch {
    fail(
      `the process holds ${fds} file descriptors after the run, ${baseline.fds} before; they are: ${JSON.stringify(describeFds(pid))}`,
      undefined,
    );
  }
  const rss = rssBytes(pid);
  const report: FuzzReport = {
    target: t.name,
    seed,
    cases: next,
    seconds: elapsed,
    known,
    fds: [baseline.fds, fds],
    rssMiB: [Math.round(baseline.rss / MiB), Math.round(rss / MiB)],
  };
  const leaked = t.knownLeak?.count(pid) ?? 0;
  const knownText = Object.entries(known)
    .map(([k, v]) => `${v} × ${k}`)
    .join(', ');
  console.log(
    `      fuzz ${t.name}: ${next} inputs in ${elapsed.toFixed(1)} s (seed ${seed}); crashes: ${knownText || 'none'}${leaked > 0 ? `; known leak: ${leaked} × ${t.knownLeak?.issue}` : ''}; fds ${report.fds[0]} → ${report.fds[1]}; RSS ${report.rssMiB[0]} → ${report.rssMiB[1]} MiB`,
  );
  if (rss > baseline.rss + (t.rssSlackMiB ?? 96) * MiB)
    fail(`RSS grew from ${report.rssMiB[0]} to ${report.rssMiB[1]} MiB over the run`, undefined);
  if (t.process().dead) await crashed(next);
  return report;
}

/** Canaries until pooled connections exist, then the descriptors and memory to compare with. */
async function settleBaseline(t: FuzzTarget): Promise<{ fds: number; rss: number }> {
  for (let i = 0; i < 3; i++)
    await Promise.all(Array.from({ length: t.concurrency }, (_, k) => t.canary(-1 - k)));
  const pid = t.process().pid;
  return { fds: openFds(pid), rss: rssBytes(pid) };
}
