/**
 * The two ways the chart is rendered in tests, both real processes: Helm itself when `helm`
 * is on PATH, and tools/helm-render (Go's text/template with sprig and Helm's functions),
 * built here with the Debian-packaged Go and sprig in GOPATH mode (nothing downloaded).
 * Both take `helm template` arguments and print `helm template` output.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The repository root (tests run from dist/test/helm). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHART_DIR = path.join(REPO_ROOT, 'helm/ferry');

/** Where Debian's golang-github-masterminds-sprig-dev and its dependencies live. */
const DEBIAN_GOPATH = '/usr/share/gocode';

export interface Renderer {
  readonly name: string;
  /** `helm template` arguments after `template`; resolves with stdout, rejects with stderr. */
  render(args: readonly string[]): Promise<string>;
}

async function onPath(command: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function processRenderer(name: string, binary: string, prefix: string[]): Renderer {
  return {
    name,
    async render(args) {
      try {
        const { stdout } = await run(binary, [...prefix, 'template', ...args], {
          maxBuffer: 64 * 1024 * 1024,
        });
        return stdout;
      } catch (e) {
        const err = e as { stderr?: string; code?: number; message: string };
        const failure = new Error(`${name} failed: ${err.stderr ?? err.message}`) as Error & {
          stderr: string;
          code: number;
        };
        failure.stderr = err.stderr ?? '';
        failure.code = typeof err.code === 'number' ? err.code : -1;
        throw failure;
      }
    },
  };
}

/** Builds tools/helm-render into a temporary directory; undefined (and why) without Go. */
async function buildHelmRender(): Promise<{ renderer?: Renderer; why?: string }> {
  const go = await onPath('go');
  if (!go) return { why: 'go is not installed (Debian: golang-go)' };
  if (!existsSync(path.join(DEBIAN_GOPATH, 'src/github.com/Masterminds/sprig')))
    return {
      why: `sprig is not in ${DEBIAN_GOPATH} (Debian: golang-github-masterminds-sprig-dev)`,
    };
  const out = path.join(await mkdtemp(path.join(tmpdir(), 'ferry-helm-render-')), 'helm-render');
  await run(go, ['build', '-o', out, '.'], {
    cwd: path.join(REPO_ROOT, 'tools/helm-render'),
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: DEBIAN_GOPATH,
      GOFLAGS: '',
      GOPROXY: 'off',
      // Pure Go: no C compiler needed (Debian's golang-go only recommends gcc).
      CGO_ENABLED: '0',
      // The build cache survives between runs; a fresh one makes the first build slower only.
      GOCACHE: process.env.GOCACHE ?? path.join(tmpdir(), 'ferry-go-build-cache'),
    },
  });
  return { renderer: processRenderer('helm-render', out, []) };
}

/** Every renderer available here, and why any is missing. */
export async function findRenderers(): Promise<{ renderers: Renderer[]; missing: string[] }> {
  const renderers: Renderer[] = [];
  const missing: string[] = [];
  const built = await buildHelmRender();
  if (built.renderer) renderers.push(built.renderer);
  else missing.push(`helm-render: ${built.why}`);
  const helm = await onPath('helm');
  if (helm) renderers.push(processRenderer('helm', helm, []));
  else missing.push('helm: not on PATH');
  return { renderers, missing };
}
