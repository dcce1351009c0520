/**
 * Fuzzing: mesh files. Mutated YAML (bytes edited with a YAML dictionary, or the parsed
 * tree edited and written back) is saved over the file a live `ferry control-plane`
 * watches; each save must be applied or rejected (its reload counter moves), the process
 * must live, and saving the original back must be applied, with the service and its
 * endpoint in the registry again. In process, at a much higher rate, the loader must turn
 * any text into a configuration or into errors that each name a line and say what is
 * wrong, and a configuration it accepts must translate to xDS without throwing.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { checkConsistency, translateMesh } from '../../src/controlplane/translate/index.js';
import { parseMesh } from '../../src/mesh/index.js';
import { send } from '../support/http-client.js';
import { fuzzSettings, SeededRandom } from '../support/seeded-random.js';
import { waitFor } from '../support/wait-for.js';
import { FuzzFinding, type LiveProcess, runFuzz } from './fuzz-loop.js';
import { fuzzMeshYaml } from './fuzz-mesh.js';
import { mutateJson } from './json-mutator.js';
import { Mutator } from './mutator.js';

const settings = fuzzSettings();
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');
const APP_PORT = 18_999;
const RELOAD_MS = 5000;

const YAML_DICTIONARY = [
  ': ',
  '- ',
  '\n  ',
  '\n- ',
  '\t',
  '{',
  '}',
  '[',
  ']',
  ',',
  '"',
  "'",
  '#',
  '&a ',
  '*a',
  '<<: *a\n',
  '!!binary ',
  '!!str ',
  '!!js/function ',
  '~',
  'null',
  '.inf',
  '-.nan',
  '0x1F',
  '1e400',
  '-1',
  '? ',
  '|\n',
  '>-\n',
  '---\n',
  '...\n',
  '%YAML 1.1\n',
  '\u0000',
  '\ufeff',
  'é',
];

/** Billion laughs, bounded by the loader's alias limit or not. */
const LAUGHS = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
mesh: { trustDomain: *d }
services: []
`;

/** A mutated mesh file: bytes edited, or the tree edited and written back as YAML. */
function mutateYaml(rng: SeededRandom, mutator: Mutator, seed: string): string {
  if (rng.chance(0.03)) return LAUGHS;
  if (rng.chance(0.5)) return mutator.mutate(rng, Buffer.from(seed, 'utf8'), 6).toString('utf8');
  return YAML.stringify(mutateJson(rng, YAML.parse(seed) as object, 4));
}

/** `ferry control-plane --config FILE` as a live process; its HTTP port from its first line. */
async function startControlPlaneProcess(
  file: string,
): Promise<LiveProcess & { httpPort: number; kill(): void }> {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      MAIN,
      'control-plane',
      '--config',
      file,
      '--xds-port',
      '0',
      '--http-port',
      '0',
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  let dead = false;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  void exited.then(() => {
    dead = true;
  });
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  await waitFor(
    'the control plane to print its ports',
    () => /HTTP on http:\/\/[^:]+:(\d+)\//.test(out) || dead,
    10_000,
  );
  const m = /HTTP on http:\/\/[^:]+:(\d+)\//.exec(out);
  if (!m) throw new Error(`the control plane did not start: ${err}`);
  return {
    pid: child.pid ?? 0,
    exited,
    get dead() {
      return dead;
    },
    stderr: () => err,
    httpPort: Number(m[1]),
    kill: () => child.kill('SIGKILL'),
  };
}

/** The sum of ferry_config_reloads_total (applied and rejected) on /metrics. */
async function reloads(port: number): Promise<number> {
  const r = await send(port, { path: '/metrics' });
  let total = 0;
  for (const m of r.body.matchAll(/^ferry_config_reloads_total\{[^}]*\} (\d+)/gm))
    total += Number(m[1]);
  return total;
}

describe('fuzz: mesh files', function () {
  this.timeout(settings.seconds * 2000 + 60_000);
  let dir: string;

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-fuzz-mesh-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('the loader turns any text into a configuration or into located errors; what it accepts translates', () => {
    const seed = fuzzMeshYaml(APP_PORT);
    const mutator = new Mutator(YAML_DICTIONARY);
    const deadline = performance.now() + settings.seconds * 1000;
    let accepted = 0;
    let rejected = 0;
    for (let n = 0; performance.now() < deadline; n++) {
      const text = mutateYaml(SeededRandom.forCase(settings.seed, n), mutator, seed);
      const where = `case ${n} (seed ${settings.seed}; reproduce with FERRY_FUZZ_SEED=${settings.seed}): ${JSON.stringify(text.slice(0, 2000))}`;
      let result: ReturnType<typeof parseMesh>;
      try {
        result = parseMesh(text, 'mesh.yaml');
      } catch (err) {
        assert.fail(`parseMesh threw ${(err as Error).stack} for ${where}`);
      }
      if (!result.ok) {
        rejected++;
        assert.ok(result.errors.length > 0, `rejected with no error: ${where}`);
        for (const e of result.errors)
          assert.ok(
            e.message.length > 0 && e.file === 'mesh.yaml',
            `an error without a message: ${JSON.stringify(e)} for ${where}`,
          );
        continue;
      }
      accepted++;
      try {
        checkConsistency(translateMesh(result.config).resources);
      } catch (err) {
        assert.fail(`an accepted mesh failed to translate: ${(err as Error).stack} for ${where}`);
      }
    }
    console.log(
      `      fuzz mesh-loader: ${accepted + rejected} inputs (seed ${settings.seed}): ${accepted} accepted, ${rejected} rejected`,
    );
  });

  it('a live control plane applies or rejects every save of the watched file and takes the original back', async () => {
    const seed = fuzzMeshYaml(APP_PORT);
    const file = path.join(dir, 'mesh.yaml');
    let saves = 0;
    /** Saves like an editor: a new file renamed over the old; a comment makes each save a change. */
    const save = (text: string) => {
      const tmp = path.join(dir, `.mesh-${saves++}.tmp`);
      writeFileSync(tmp, `${text}\n# save ${saves}\n`);
      renameSync(tmp, file);
    };
    save(seed);
    let cp = await startControlPlaneProcess(file);
    /** Saves `text`, then waits until the control plane has applied or rejected it. */
    const reload = async (text: string) => {
      const before = await reloads(cp.httpPort);
      save(text);
      await waitFor(
        'the save to be applied or rejected',
        async () => (await reloads(cp.httpPort)) > before,
        RELOAD_MS,
        5,
      );
    };
    const mutator = new Mutator(YAML_DICTIONARY);
    try {
      await runFuzz({
        name: 'mesh-files',
        settings,
        concurrency: 1,
        fdSlack: 8,
        process: () => cp,
        async restart() {
          cp.kill();
          cp = await startControlPlaneProcess(file);
        },
        async canary() {
          await reload(seed);
          const r = await send(cp.httpPort, { path: '/debug/registry' });
          if (r.status !== 200 || !r.body.includes(`${APP_PORT}`) || !r.body.includes('fuzz'))
            throw new FuzzFinding(
              `the original mesh is not back in the registry: ${r.status} ${r.body.slice(0, 500)}`,
            );
        },
        async runCase(rng, _n, input) {
          const text = mutateYaml(rng, mutator, seed);
          input(text);
          await reload(text);
        },
      });
    } finally {
      cp.kill();
    }
  });
});
