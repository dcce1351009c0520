/** Local workload tokens: issued by `ferry token` (a real process), checked by the CA's verifier. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  IdentityError,
  loadOrCreateTokenKey,
  TOKEN_KEY_FILE,
  WorkloadTokens,
} from '../../src/identity/index.js';
import { tempDir } from './support.js';

const TOKEN_CLI = fileURLToPath(new URL('../../src/cli/token.js', import.meta.url));

/** Runs runToken(argv) in a fresh node process, as `ferry token` will. */
function ferryToken(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `
    import { runToken } from ${JSON.stringify(TOKEN_CLI)};
    runToken(${JSON.stringify(args)}).catch((e) => {
      process.stderr.write((e.code ?? e.name) + ': ' + e.message + '\\n');
      process.exit(e.name === 'UsageError' ? 2 : 1);
    });`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

async function rejection(p: Promise<unknown>): Promise<IdentityError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof IdentityError);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('workload tokens', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('the key is made once (mode 0600) and then reused', () => {
    const a = loadOrCreateTokenKey(tmp.dir);
    const b = loadOrCreateTokenKey(tmp.dir);
    assert.ok(a.equals(b));
    assert.equal(a.length, 32);
    assert.equal(statSync(path.join(tmp.dir, TOKEN_KEY_FILE)).mode & 0o777, 0o600);
  });

  it('proves the namespace and service account it was issued for', async () => {
    const tokens = new WorkloadTokens(loadOrCreateTokenKey(tmp.dir));
    const t = tokens.issue({ namespace: 'shop', serviceAccount: 'frontend' }, 60_000);
    assert.deepEqual(await tokens.verify(t), { namespace: 'shop', serviceAccount: 'frontend' });
  });

  it('refuses an altered, foreign or expired token, each with its reason', async () => {
    let now = 1_800_000_000_000;
    const tokens = new WorkloadTokens(loadOrCreateTokenKey(tmp.dir), { now: () => now });
    const t = tokens.issue({ namespace: 'shop', serviceAccount: 'frontend' }, 60_000);
    const [prefix, body, sig] = t.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString());
    const promoted = Buffer.from(JSON.stringify({ ...payload, sa: 'admin' })).toString('base64url');
    const altered = await rejection(tokens.verify(`${prefix}.${promoted}.${sig}`));
    assert.equal(altered.code, 'FERRY_TOKEN_INVALID');
    const other = tempDir();
    try {
      const foreign = new WorkloadTokens(loadOrCreateTokenKey(other.dir), { now: () => now });
      const e = await rejection(
        tokens.verify(foreign.issue({ namespace: 'shop', serviceAccount: 'frontend' }, 60_000)),
      );
      assert.equal(e.code, 'FERRY_TOKEN_INVALID');
    } finally {
      other.remove();
    }
    now += 59_000;
    await tokens.verify(t);
    now += 1_000;
    const expired = await rejection(tokens.verify(t));
    assert.equal(expired.code, 'FERRY_TOKEN_EXPIRED');
    assert.match(expired.message, /expired at .*issue a new one with `ferry token`/);
  });

  it('refuses to issue for a name Kubernetes would not allow', () => {
    const tokens = new WorkloadTokens(loadOrCreateTokenKey(tmp.dir));
    assert.throws(
      () => tokens.issue({ namespace: 'Shop', serviceAccount: 'frontend' }, 60_000),
      /namespace "Shop" is not a valid Kubernetes namespace name/,
    );
  });

  describe('ferry token (process)', () => {
    it('prints a token the control plane (same CA directory) accepts, valid for --ttl', async () => {
      const key = loadOrCreateTokenKey(tmp.dir);
      const r = await ferryToken([
        '--ca-dir',
        tmp.dir,
        '--namespace',
        'shop',
        '--service-account',
        'cart',
        '--ttl',
        '2h',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const token = r.stdout.trim();
      assert.match(token, /^ferry1\.[\w-]+\.[\w-]+$/);
      assert.deepEqual(await new WorkloadTokens(key).verify(token), {
        namespace: 'shop',
        serviceAccount: 'cart',
      });
      const exp = JSON.parse(
        Buffer.from(token.split('.')[1] as string, 'base64url').toString(),
      ).exp;
      assert.ok(Math.abs(exp * 1000 - Date.now() - 7_200_000) < 10_000);
      // It read the key; it did not replace it.
      assert.ok(
        readFileSync(path.join(tmp.dir, TOKEN_KEY_FILE), 'utf8').includes(key.toString('base64')),
      );
    });

    it('says what is missing: the key (control plane not started), or a flag', async () => {
      const noKey = await ferryToken(['--ca-dir', tmp.dir, '-n', 'shop', '-s', 'cart']);
      assert.equal(noKey.code, 1);
      assert.match(
        noKey.stderr,
        /FERRY_TOKEN_KEY: .*token-key does not exist: start the control plane with --ca-dir/,
      );
      writeFileSync(path.join(tmp.dir, TOKEN_KEY_FILE), 'short\n');
      const bad = await ferryToken(['--ca-dir', tmp.dir, '-n', 'shop', '-s', 'cart']);
      assert.match(bad.stderr, /FERRY_TOKEN_KEY: .*does not hold a 32-byte key/);
      const flag = await ferryToken(['--ca-dir', tmp.dir, '-n', 'shop']);
      assert.equal(flag.code, 2);
      assert.match(flag.stderr, /--service-account SA is required/);
      const ttl = await ferryToken(['--ca-dir', tmp.dir, '-n', 'shop', '-s', 'x', '--ttl', '5']);
      assert.match(ttl.stderr, /--ttl must be a duration/);
    });
  });
});
