/**
 * A sidecar that cannot reach its control plane says why, at warn level, with a hint naming
 * the flag to change (issue 15): real `ferry proxy` processes against a real control plane
 * with its CA, secure port and plaintext port.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlPlane } from '../../src/controlplane/index.js';
import { silentLogger } from '../../src/log/index.js';
import { closedPort } from '../support/http-upstream.js';
import { mesh, service } from '../support/mesh.js';
import { waitFor } from '../support/wait-for.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

interface Run {
  readonly child: ChildProcess;
  output(): string;
  readonly exited: Promise<number | null>;
}

function proxy(args: readonly string[]): Run {
  const child = spawn(
    process.execPath,
    [
      MAIN,
      'proxy',
      '--service',
      'web',
      ...['--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0'],
      ...['--metrics-port', '0', '--ready-port', '0', '--log-level', 'warn'],
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { child, output: () => out, exited };
}

/** The first warn line (pino level 40) whose msg matches. */
async function warning(
  run: Run,
  msg: RegExp,
): Promise<{ msg: string; hint?: string; level: number }> {
  let found: { msg: string; hint?: string; level: number } | undefined;
  await waitFor(
    `a warning matching ${msg} (output: ${run.output()})`,
    () => {
      for (const line of run.output().split('\n')) {
        if (!line.startsWith('{')) continue;
        const l = JSON.parse(line) as { msg: string; hint?: string; level: number };
        if (l.level === 40 && msg.test(l.msg)) found = l;
      }
      return found !== undefined;
    },
    15_000,
  );
  return found!;
}

describe('ferry proxy: why it cannot connect', () => {
  let cp: ControlPlane;
  let dir: string;
  let root: string;
  let token: string;
  const runs: Run[] = [];
  const start = (args: readonly string[]) => {
    const r = proxy(args);
    runs.push(r);
    return r;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-connect-'));
    cp = await ControlPlane.start({
      config: mesh(service('web', 8080, 'http', [9080])),
      xdsPort: 0,
      httpPort: 0,
      securePort: 0,
      caDir: path.join(dir, 'ca'),
      debounceMs: 10,
      warmupMs: 0,
      log: silentLogger(),
    });
    root = path.join(dir, 'ca', 'root-cert.pem');
    token = path.join(dir, 'web.token');
    const tokens = cp.identity?.tokens;
    assert.ok(tokens);
    writeFileSync(token, tokens.issue({ namespace: 'default', serviceAccount: 'web' }, 3_600_000));
  });

  afterEach(async () => {
    for (const r of runs.splice(0)) {
      if (r.child.exitCode === null) r.child.kill('SIGKILL');
      await r.exited;
    }
  });

  after(async () => {
    await cp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--ca-root against the plaintext port: names the port and the flag, not OpenSSL', async () => {
    const run = start([
      '--xds',
      `127.0.0.1:${cp.xdsPort}`,
      '--ca-root',
      root,
      '--token-file',
      token,
    ]);
    const w = await warning(run, /workload certificate/);
    assert.match(w.msg, /does not speak TLS: it is the control plane's plaintext port/);
    assert.match(w.hint ?? '', /--ca-root needs --xds to be the control plane's secure port/);
    assert.doesNotMatch(w.msg, /SSL routines/);
  });

  it('the secure port without --ca-root: says it speaks TLS and what to pass', async () => {
    const run = start(['--xds', `127.0.0.1:${cp.securePort}`]);
    const w = await warning(run, /cannot connect to the control plane/);
    assert.match(w.msg, new RegExp(`127\\.0\\.0\\.1:${cp.securePort} speaks TLS`));
    assert.match(w.hint ?? '', /pass --ca-root FILE and --token-file FILE/);
  });

  it('a root that does not sign the control plane: names --ca-root', async () => {
    const other = path.join(dir, 'other-root.pem');
    // Another control plane's CA: a root of the same kind that did not sign this one.
    const cp2 = await ControlPlane.start({
      config: mesh(),
      xdsPort: 0,
      httpPort: 0,
      securePort: 0,
      caDir: path.join(dir, 'ca2'),
      log: silentLogger(),
    });
    await cp2.close();
    writeFileSync(other, readRoot(path.join(dir, 'ca2')));
    const run = start([
      '--xds',
      `127.0.0.1:${cp.securePort}`,
      '--ca-root',
      other,
      '--token-file',
      token,
    ]);
    const w = await warning(run, /workload certificate/);
    assert.match(w.msg, /is not signed by the root in --ca-root/);
  });

  it('nothing listening at --xds', async () => {
    // (A name that does not resolve is diagnosed from grpc-js's text alone: see
    // test/xds-client/connection-diagnosis.test.ts; a test here would ask a DNS server.)
    const port = await closedPort();
    const refused = start(['--xds', `127.0.0.1:${port}`]);
    const r = await warning(refused, /cannot connect/);
    assert.match(r.msg, new RegExp(`nothing listens at 127\\.0\\.0\\.1:${port}`));
    assert.match(r.hint ?? '', /start the control plane, or check the port in --xds/);
  });

  it('a refused token: exits with the reason after --max-credential-failures tries', async () => {
    const bad = path.join(dir, 'bad.token');
    writeFileSync(bad, 'not-a-token\n');
    const run = start([
      '--xds',
      `127.0.0.1:${cp.securePort}`,
      '--ca-root',
      root,
      '--token-file',
      bad,
      '--max-credential-failures',
      '2',
    ]);
    const code = await run.exited;
    assert.equal(code, 1, run.output());
    const out = run.output();
    assert.match(
      out,
      /ferry: the control plane refused this workload's credential 2 times in a row \(gRPC status 16: FERRY_TOKEN_INVALID: [^)]*\); check --token-file/,
    );
    const refusals = out.split('\n').filter((l) => l.includes('refuses the credential'));
    assert.equal(refusals.length, 1, 'one retry between the two refusals');
  });

  it('refuses a --max-credential-failures that is not a count', async () => {
    const run = start(['--xds', '127.0.0.1:1', '--max-credential-failures', '0']);
    assert.equal(await run.exited, 2);
    assert.match(run.output(), /--max-credential-failures must be a whole number above 0, got "0"/);
  });
});

function readRoot(caDir: string): string {
  return readFileSync(path.join(caDir, 'root-cert.pem'), 'utf8');
}
