/**
 * Finding the control plane without flags: a running `ferry control-plane` writes its state
 * file (here into a directory of the test), `ferry proxy-status` and `ferry version` find it
 * there, and the file goes when the control plane stops; a stale file (its pid gone) is
 * ignored.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { controlPlaneUrl } from '../../src/cli/control-plane-query.js';
import {
  readControlPlaneState,
  stateDir,
  stateFile,
  writeControlPlaneState,
} from '../../src/cli/state-file.js';
import { runCli } from '../support/cli-process.js';
import { waitFor } from '../support/wait-for.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/mesh.yaml', import.meta.url));

describe('the control plane state file', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ferry-state-'));
    env = { ...process.env, FERRY_STATE_DIR: dir, FERRY_CONTROL_PLANE: '' };
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('lives in $FERRY_STATE_DIR, else $XDG_RUNTIME_DIR/ferry, else ~/.ferry', () => {
    assert.equal(stateDir({ FERRY_STATE_DIR: '/s', XDG_RUNTIME_DIR: '/run/user/1' }), '/s');
    assert.equal(stateDir({ XDG_RUNTIME_DIR: '/run/user/1', HOME: '/h' }), '/run/user/1/ferry');
    assert.equal(stateDir({ HOME: '/h' }), '/h/.ferry');
  });

  it('is ignored once its control plane is gone, and the flag and variable come first', () => {
    const remove = writeControlPlaneState(
      {
        pid: 424242,
        http: 'http://127.0.0.1:4444',
        xds: '127.0.0.1:4445',
        config: 'm.yaml',
        startedAt: '',
      },
      env,
    );
    assert.ok(remove);
    assert.equal(
      readControlPlaneState(env, () => false),
      undefined,
    );
    assert.equal(readControlPlaneState(env, () => true)?.http, 'http://127.0.0.1:4444');
    assert.equal(controlPlaneUrl('http://x:1', env), 'http://x:1');
    assert.equal(controlPlaneUrl(undefined, { ...env, FERRY_CONTROL_PLANE: 'y:2' }), 'http://y:2');
  });

  it('is written by a running control plane, used by proxy-status and version, removed at stop', async () => {
    const cp = await runCli(
      ['control-plane', '--config', EXAMPLE, '--xds-port', '0', '--http-port', '0'],
      /HTTP on http:\/\/127\.0\.0\.1:(\d+)\//,
      env,
    );
    try {
      const port = /HTTP on http:\/\/127\.0\.0\.1:(\d+)\//.exec(cp.stdout)?.[1];
      await waitFor('the state file', () => existsSync(stateFile(env)));
      const state = JSON.parse(readFileSync(stateFile(env), 'utf8'));
      assert.equal(state.http, `http://127.0.0.1:${port}`);
      const status = await runCli(['proxy-status'], undefined, env);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /No sidecars are connected to the control plane/);
      const version = await runCli(['version'], undefined, env);
      assert.match(
        version.stdout,
        new RegExp(`^control plane version: .*127\\.0\\.0\\.1:${port}\\)$`, 'm'),
      );
    } finally {
      cp.kill();
    }
    await waitFor('the state file to be removed', () => !existsSync(stateFile(env)), 10_000);
  });
});
