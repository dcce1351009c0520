/** The SO_ORIGINAL_DST loader: its answers without a redirect, and its error without the addon. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  originalDestination,
  originalDestinationAvailable,
} from '../../../src/kube/capture/index.js';

const exec = promisify(execFile);
const DIST_CAPTURE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../src/kube/capture',
);

describe('capture: originalDestination()', () => {
  it('without the addon built, says so and how to build it', async () => {
    // The compiled loader, copied where no native/ folder is beside it.
    const dir = await mkdtemp(path.join(tmpdir(), 'ferry-odst-'));
    try {
      const copy = path.join(dir, 'dist/src/kube/capture');
      await cp(DIST_CAPTURE, copy, { recursive: true });
      const script = `
        import net from 'node:net';
        const m = await import(${JSON.stringify(path.join(copy, 'index.js'))});
        console.log(m.originalDestinationAvailable());
        try { m.originalDestination(new net.Socket()); } catch (e) { console.log(e.code, e.message); }`;
      const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
      });
      const [available, error] = stdout.split('\n');
      assert.equal(available, 'false');
      assert.match(
        error!,
        /^FERRY_ORIGINAL_DST_UNAVAILABLE the SO_ORIGINAL_DST addon is not built/,
      );
      assert.match(error!, /node-gyp rebuild --directory native\/original-dst --nodedir=\/usr/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a socket with no NAT entry (plain loopback, no rules) has no original destination', async function () {
    if (!originalDestinationAvailable()) this.skip();
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    try {
      // With no nat rules the connection is usually untracked: no entry, so undefined.
      // Where conntrack tracks it anyway, the answer is the socket's own destination.
      const original = originalDestination(socket);
      if (original !== undefined) {
        assert.deepEqual(original, { address: '127.0.0.1', port: socket.localPort, family: 4 });
      }
      assert.equal(originalDestination(new net.Socket()), undefined, 'an unconnected socket');
    } finally {
      client.destroy();
      socket.destroy();
      server.close();
    }
  });
});
