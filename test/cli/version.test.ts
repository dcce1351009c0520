/** `ferry version` against a real control plane with two real sidecars connected. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runVersion } from '../../src/cli/version.js';
import type { ControlPlane } from '../../src/controlplane/index.js';
import type { Sidecar } from '../../src/proxy/index.js';
import { closedPort } from '../support/http-upstream.js';
import { mesh, service } from '../support/mesh.js';
import { startControlPlane, startSidecar } from '../support/mesh-harness.js';
import { sink } from '../support/output-sink.js';

const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

describe('ferry version', () => {
  let cp: ControlPlane;
  let sidecars: Sidecar[];

  before(async () => {
    cp = await startControlPlane(mesh(service('web', 8080, 'http', [])));
    sidecars = [
      await startSidecar(cp.xdsPort, { service: 'web' }),
      await startSidecar(cp.xdsPort, { service: 'web', id: 'web-2.default' }),
    ];
  });

  after(async () => {
    for (const s of sidecars) await s.stop(0);
    await cp.close();
  });

  it("prints the client's, the control plane's and the sidecars' versions", async () => {
    const out = sink();
    await runVersion(['--control-plane', `http://127.0.0.1:${cp.httpPort}`], out, {});
    const lines = out.text.trimEnd().split('\n');
    assert.equal(lines.length, 3, out.text);
    assert.match(
      lines[0] ?? '',
      new RegExp(`^client version: ${VERSION.replace(/\./g, '\\.')} \\(node v`),
    );
    assert.match(
      lines[1] ?? '',
      new RegExp(
        `^control plane version: ${VERSION.replace(/\./g, '\\.')} \\(node v.*127\\.0\\.0\\.1:${cp.httpPort}\\)$`,
      ),
    );
    assert.equal(lines[2], `data plane versions: ferry ${VERSION} (2 sidecars)`);
  });

  it('prints the same as JSON, and only the version with -o short', async () => {
    const out = sink();
    await runVersion(['--control-plane', `127.0.0.1:${cp.httpPort}`, '-o', 'json'], out, {});
    const v = JSON.parse(out.text);
    assert.equal(v.client.version, VERSION);
    assert.equal(v.controlPlane.version, VERSION);
    assert.deepEqual(v.dataPlane, { [`ferry ${VERSION}`]: 2 });
    const short = sink();
    await runVersion(['-o', 'short'], short, {});
    assert.equal(short.text, `${VERSION}\n`);
  });

  it('still prints the client version when the control plane cannot be reached', async () => {
    const port = await closedPort();
    const out = sink();
    await runVersion(['--control-plane', `http://127.0.0.1:${port}`], out, {});
    assert.match(out.text, /^client version: /);
    assert.match(
      out.text,
      new RegExp(
        `^control plane version: unknown \\(cannot reach the control plane at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED; .*--control-plane URL or set FERRY_CONTROL_PLANE\\)$`,
        'm',
      ),
    );
  });
});
