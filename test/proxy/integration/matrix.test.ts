/**
 * Issue 16's protocol × policy matrix: every protocol path a sidecar carries against every
 * policy, each cell a test against live processes or "does not apply" with the reason (the
 * table is matrix-table.ts; the code of each cell matrix-cells.ts; the world matrix-world.ts).
 * One world for the whole matrix (one control plane, six `ferry proxy` processes), every cell
 * on services of its own. The table, with this run's outcome per cell, is printed at the end;
 * MATRIX.md is the table without outcomes, checked here (MATRIX_WRITE=1 rewrites it).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { type CellTest, cellTests } from './matrix-cells.js';
import { expectGap, gapsSeen } from './matrix-gaps.js';
import {
  type PassthroughWorld,
  passthroughSkipReason,
  startPassthroughWorld,
} from './matrix-passthrough.js';
import {
  type CellResult,
  COLUMNS,
  cellOf,
  KNOWN_GAPS,
  ROWS,
  renderMatrix,
} from './matrix-table.js';
import { startWorld, type World } from './matrix-world.js';

const MATRIX_MD = new URL('../../../../test/proxy/integration/MATRIX.md', import.meta.url);

describe('integration: the protocol × policy matrix (issue 16)', function () {
  // Bounds only: every wait inside is for a condition (see patience in matrix-clients.ts).
  this.timeout(120_000);
  let world: World | undefined;
  const results = new Map<string, CellResult>();
  const keys = new Map<Mocha.Test, string>();
  let pod: PassthroughWorld | undefined;
  const code = cellTests(() => pod!);

  before(async function () {
    this.timeout(240_000);
    world = await startWorld();
  });

  afterEach(function () {
    const t = this.currentTest;
    const key = t && keys.get(t);
    if (!t || !key || (t.state !== 'passed' && t.state !== 'failed')) return;
    results.set(key, t.state === 'passed' && gapsSeen.has(key) ? 'gap' : t.state);
  });

  after(async function () {
    this.timeout(60_000);
    // The table for the closing note: the rows × columns part, this run's outcome per cell.
    const table = renderMatrix(results).split('\n## ')[0].trimEnd();
    console.log(`\n${table.replace(/^/gm, '      ')}\n`);
    await world?.stop();
  });

  it('MATRIX.md is the table of matrix-table.ts', () => {
    const rendered = renderMatrix();
    if (process.env.MATRIX_WRITE === '1') writeFileSync(MATRIX_MD, rendered);
    assert.equal(
      readFileSync(MATRIX_MD, 'utf8'),
      rendered,
      'MATRIX.md is stale: MATRIX_WRITE=1 rewrites it',
    );
  });

  for (const row of ROWS) {
    describe(row.name, () => {
      if (row.id === 'passthrough') {
        before(async function () {
          this.timeout(60_000);
          const skip = await passthroughSkipReason();
          if (skip) {
            console.log(`      (skipped: ${skip})`);
            this.skip();
          }
          pod = await startPassthroughWorld();
        });
        after(() => pod?.stop());
      }
      for (const column of COLUMNS) {
        const cell = cellOf(row.id, column.id);
        if ('na' in cell) continue;
        const key = `${row.id}/${column.id}`;
        const run: CellTest | undefined = code[row.id]?.[column.id];
        const gap = KNOWN_GAPS[key];
        const title = `${column.name}: ${cell.test}`;
        const t = !run
          ? it(title)
          : gap
            ? it(`${title} [known gap]`, () => expectGap(key, () => run(world!)))
            : it(title, () => run(world!));
        keys.set(t, key);
      }
    });
  }
});
