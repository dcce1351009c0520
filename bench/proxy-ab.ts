/**
 * `npm run bench -- --ab COMMIT`: the same cases against a build of another commit, in the
 * same run, so that "no regression" is a ratio taken under the same load rather than two
 * numbers from two runs on a machine whose load moves.
 *
 * The commit is exported with `git archive` into a temporary directory (no worktree is
 * registered in the repository), its node_modules and native addon are symlinks to this
 * checkout's, and it is built with its own `npm run build`. The bench then runs each chosen
 * Ferry variant twice per round, this build (B) and the commit's (A) one after the other,
 * the order reversed every other round, and reports B/A per round and the median.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, symlinkSync } from 'node:fs';
import path from 'node:path';

/** A build of another commit: its `ferry` CLI. */
export interface BaseBuild {
  readonly commit: string;
  readonly cli: string;
}

/**
 * Exports `commit` of the repository at `repo` into `dir` and builds it; throws with the
 * build's output when it fails.
 */
export function buildBase(repo: string, commit: string, dir: string): BaseBuild {
  const full = execFileSync('git', ['-C', repo, 'rev-parse', '--verify', `${commit}^{commit}`], {
    encoding: 'utf8',
  }).trim();
  mkdirSync(dir, { recursive: true });
  // git archive | tar -x: the commit's tree as files, nothing registered in .git.
  execFileSync('sh', ['-c', 'git -C "$1" archive "$2" | tar -x -C "$3"', 'sh', repo, full, dir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  symlinkSync(realpathSync(path.join(repo, 'node_modules')), path.join(dir, 'node_modules'));
  const native = path.join(repo, 'native/original-dst/build');
  if (existsSync(native))
    symlinkSync(realpathSync(native), path.join(dir, 'native/original-dst/build'));
  try {
    execFileSync('npm', ['run', 'build'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 300_000,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    throw new Error(
      `building ${commit} in ${dir} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`.trimEnd(),
    );
  }
  return { commit: full.slice(0, 10), cli: path.join(dir, 'dist/src/cli/main.js') };
}

/** The id of the base build's twin of a variant. */
export const baseId = (id: string) => `${id}@base`;

/** The figures the A/B compares, for one variant in one round. */
export interface AbFigures {
  readonly id: string;
  readonly cpuSat: number;
  readonly cpuFixed: number;
  readonly fixed: { readonly p90: number; readonly p99: number };
}

const COLUMNS = [
  ['CPU/req', (r: AbFigures) => r.cpuSat],
  ['CPU/req @rate', (r: AbFigures) => r.cpuFixed],
  ['p90 @rate', (r: AbFigures) => r.fixed.p90],
  ['p99 @rate', (r: AbFigures) => r.fixed.p99],
] as const;

const median = (xs: number[]) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * The A/B table: for each variant run in both builds, B/A of each figure in every round and
 * the median of those ratios (a ratio per round, because both sides of a round saw the same
 * machine), PASS when the median is within `limit` (1.05: "within 5%").
 */
export function abReport(
  rounds: readonly (readonly AbFigures[])[],
  ids: readonly { id: string; name: string }[],
  base: BaseBuild,
  limit = 1.05,
): string[] {
  const lines = [
    `A/B against ${base.commit} (A) — B/A of each figure per round, then the median of the rounds; target <= ${limit.toFixed(2)}x`,
  ];
  for (const { id, name } of ids) {
    const pairs = rounds
      .map((round) => [round.find((r) => r.id === id), round.find((r) => r.id === baseId(id))])
      .filter((p): p is [AbFigures, AbFigures] => p[0] !== undefined && p[1] !== undefined);
    if (pairs.length === 0) continue;
    for (const [column, get] of COLUMNS) {
      const ratios = pairs.map(([b, a]) => get(b) / get(a));
      const m = median(ratios);
      const verdict = Number.isFinite(m) ? (m <= limit ? 'PASS' : 'MISS') : 'n/a ';
      const a = median(pairs.map(([, x]) => get(x)));
      const b = median(pairs.map(([x]) => get(x)));
      lines.push(
        `  ${verdict}  ${name.padEnd(22)} ${column.padEnd(14)} ${m.toFixed(3)}x` +
          `   rounds: ${ratios.map((r) => r.toFixed(3)).join(' ')}` +
          `   (median A ${a.toFixed(3)}, B ${b.toFixed(3)})`,
      );
    }
  }
  return lines;
}
