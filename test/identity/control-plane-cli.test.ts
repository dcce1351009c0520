/** `ferry control-plane --ca-dir` as a real process: the CA turned on, and its bad starts. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CA_FILES, controlPlaneCredentials, TOKEN_KEY_FILE } from '../../src/identity/index.js';
import { createAdsClient, types } from '../../src/xds/index.js';
import { runCli } from '../support/cli-process.js';
import { tempDir } from './support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLE = path.join(here, '../../../examples/mesh.yaml');

const run = (args: string[], untilStdout?: RegExp) => runCli(args, untilStdout, process.env);

const PORTS = ['--xds-port', '0', '--http-port', '0'];

describe('ferry control-plane --ca-dir (process)', function () {
  // Each case starts up to three control plane processes one after the other: a start takes
  // seconds on a loaded 2-core machine, more than mocha's default bound for the three.
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(() => tmp.remove());

  it('makes the CA, serves xDS over TLS on --secure-port as the control plane identity', async () => {
    const caDir = path.join(tmp.dir, 'ca');
    const r = await run(
      ['control-plane', '--config', EXAMPLE, ...PORTS, '--ca-dir', caDir, '--secure-port', '0'],
      /ferry control plane: .*\n/,
    );
    try {
      const m = r.stdout.match(/xDS\+identity over TLS on 127\.0\.0\.1:(\d+) as (spiffe:\S+),/);
      assert.ok(m, r.stdout + r.stderr);
      // examples/mesh.yaml's trust domain, with Ferry's namespace and service account.
      assert.match(m[2] as string, /^spiffe:\/\/[^/]+\/ns\/ferry-system\/sa\/ferry-control-plane$/);
      assert.equal(statSync(path.join(caDir, CA_FILES.rootKey)).mode & 0o777, 0o600);
      assert.equal(statSync(path.join(caDir, TOKEN_KEY_FILE)).mode & 0o777, 0o600);
      const root = readFileSync(path.join(caDir, CA_FILES.root));
      const client = createAdsClient(
        `127.0.0.1:${m[1]}`,
        controlPlaneCredentials(root, m[2] as string),
      );
      const call = client.StreamAggregatedResources();
      const first = await new Promise<{ type_url?: string }>((resolve, reject) => {
        call.on('data', resolve);
        call.on('error', reject);
        call.write({ node: { id: 'cli-probe' }, type_url: types.CLUSTER });
      });
      assert.equal(first.type_url, types.CLUSTER);
      call.cancel();
      client.close();
    } finally {
      r.kill();
    }
  });

  it('--trust-domain overrides the mesh file', async () => {
    const caDir = path.join(tmp.dir, 'ca');
    const r = await run(
      [
        'control-plane',
        '--config',
        EXAMPLE,
        ...PORTS,
        '--ca-dir',
        caDir,
        '--secure-port',
        '0',
        '--trust-domain',
        'example.org',
      ],
      /ferry control plane: .*\n/,
    );
    r.kill();
    assert.match(r.stdout, /as spiffe:\/\/example\.org\/ns\/ferry-system\/sa\/ferry-control-plane/);
  });

  // Apart from the start above: each process start gets the test's whole timeout on a busy
  // machine, not what the one before it left over.
  it('the secure port needs --ca-dir, and --cert-ttl a duration', async () => {
    const caDir = path.join(tmp.dir, 'ca');
    const noCa = await run(['control-plane', '--config', EXAMPLE, ...PORTS, '--secure-port', '0']);
    assert.equal(noCa.code, 2);
    assert.match(noCa.stderr, /--secure-port needs --ca-dir DIR/);
    const ttl = await run([
      'control-plane',
      '--config',
      EXAMPLE,
      ...PORTS,
      '--ca-dir',
      caDir,
      '--cert-ttl',
      '10',
    ]);
    assert.equal(ttl.code, 2);
    assert.match(ttl.stderr, /--cert-ttl must be a duration/);
  });

  it('a plugged-in CA that is not a CA stops the start with one line naming the file', async () => {
    // A certificate that is not a CA (a workload leaf) with its key, as ca-cert.pem / ca-key.pem.
    const { caInDir, leafFor } = await import('./support.js');
    const { ca } = await caInDir(path.join(tmp.dir, 'other'));
    const leaf = await leafFor(ca, 'spiffe://cluster.local/ns/a/sa/b');
    const caDir = path.join(tmp.dir, 'plugged');
    (await import('node:fs')).mkdirSync(caDir);
    writeFileSync(path.join(caDir, CA_FILES.pluggedCert), leaf.chain);
    writeFileSync(path.join(caDir, CA_FILES.pluggedKey), leaf.key);
    const r = await run(['control-plane', '--config', EXAMPLE, ...PORTS, '--ca-dir', caDir]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('ferry:'))
        .join('\n'),
      `ferry: ${path.join(caDir, CA_FILES.pluggedCert)} is not a CA certificate (basicConstraints CA:TRUE is missing)`,
    );
    assert.equal(existsSync(path.join(caDir, CA_FILES.rootKey)), false, 'no root made beside it');
  });
});
