/**
 * Known gaps at run time: a cell (or, for a step gap, the cell's last step) listed in
 * matrix-table.ts as failing today runs with its full assertions and less patience; its
 * failure is recorded and printed as the gap, and its success fails the cell, so the list
 * cannot outlive the gaps.
 */
import { patience } from './matrix-clients.js';
import { KNOWN_GAPS, KNOWN_STEP_GAPS, type KnownGap } from './matrix-table.js';

/** How long a known gap waits for what it expects. */
const GAP_PATIENCE_MS = 5000;

/** Cells whose known gap showed in this run, by `row/column`. */
export const gapsSeen = new Set<string>();

async function expectFailure(key: string, gap: KnownGap, list: string, run: () => Promise<void>) {
  const patient = patience.ms;
  patience.ms = GAP_PATIENCE_MS;
  let failure: string | undefined;
  try {
    await run();
  } catch (err) {
    failure = String((err as Error).message);
  } finally {
    patience.ms = patient;
  }
  if (failure === undefined) {
    throw new Error(`${key} passes now: take it off ${list} in matrix-table.ts`);
  }
  if (!failure.includes(gap.failsWith)) {
    throw new Error(
      `${key} fails otherwise than ${list} says ("${gap.failsWith}"): ${failure}; bring the entry up to date`,
    );
  }
  console.log(`      gap (${gap.cause}): ${failure.split('\n')[0]}`);
  gapsSeen.add(key);
}

/** Runs a whole cell listed in KNOWN_GAPS. */
export function expectGap(key: string, run: () => Promise<void>): Promise<void> {
  return expectFailure(key, KNOWN_GAPS[key], 'KNOWN_GAPS', run);
}

/** Runs a cell's last step: as a gap when KNOWN_STEP_GAPS lists the cell, else plainly. */
export function lastStep(key: string, run: () => Promise<void>): Promise<void> {
  const gap = KNOWN_STEP_GAPS[key];
  return gap === undefined ? run() : expectFailure(key, gap, 'KNOWN_STEP_GAPS', run);
}
