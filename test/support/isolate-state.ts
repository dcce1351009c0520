/**
 * Loaded by mocha before any test (.mocharc.json "require"): every control plane the tests
 * start, in this process or as a child, writes its state file into a directory of this run,
 * never into the user's ~/.ferry or $XDG_RUNTIME_DIR, where it would hide a running demo.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const dir = mkdtempSync(path.join(tmpdir(), 'ferry-test-state-'));
process.env.FERRY_STATE_DIR = dir;
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
