/**
 * `ferry` as a process: usage errors are one line and a pointer to --help (never the whole
 * help), with did-you-mean; a port clash names its flag; --version needs no network.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/cli-process.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/mesh.yaml', import.meta.url));

describe('ferry (errors and version)', () => {
  it('suggests the command meant, in one line and a pointer to --help', async () => {
    const r = await runCli(['verison']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `ferry: unknown command "verison" (did you mean "version"?)\nRun 'ferry --help' for usage.\n`,
    );
  });

  it('suggests the flag meant and does not print the whole help', async () => {
    const r = await runCli(['proxy-status', '--outptu', 'json']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `ferry: unknown option --outptu (did you mean --output?)\nRun 'ferry proxy-status --help' for usage.\n`,
    );
  });

  it('says --fqdn needs a value instead of node\'s "place it at the end after --"', async () => {
    const r = await runCli(['proxy-config', 'cluster', 'web', '--fqdn']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `ferry: --fqdn needs a value\nRun 'ferry proxy-config --help' for usage.\n`,
    );
  });

  it('one-line usage errors from a command keep the hint and leave the help out', async () => {
    const r = await runCli(['proxy', '--service', 'web']);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `ferry: --xds HOST:PORT is required\nRun 'ferry proxy --help' for usage.\n`,
    );
  });

  it('prints the client version with --version, -v and version --client', async () => {
    for (const args of [['--version'], ['-v']]) {
      const r = await runCli(args);
      assert.equal(r.code, 0);
      assert.match(r.stdout, /^ferry 0\.\d+\.\d+ \(node v\d+\.\d+\.\d+, linux\/\w+\)\n$/);
    }
    const r = await runCli(['version', '--client']);
    assert.match(r.stdout, /^client version: 0\.\d+\.\d+ /);
    assert.doesNotMatch(r.stdout, /control plane/);
  });

  it('names the flag of a port in use (EADDRINUSE), and says what to do', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli([
        'proxy',
        '--xds',
        '127.0.0.1:1',
        '--service',
        'web',
        '--inbound-port',
        '0',
        '--outbound-port',
        String(port),
        '--admin-port',
        '0',
        '--metrics-port',
        '0',
        '--ready-port',
        '0',
      ]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `ferry: port ${port} (--outbound-port) is in use on 127.0.0.1: stop what listens there or pass --outbound-port another port (0 picks a free one)\n`,
      );
    } finally {
      blocker.close();
    }
  });

  it("names the control plane's flag of a port in use too", async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli([
        'control-plane',
        '--config',
        EXAMPLE,
        '--xds-port',
        '0',
        '--http-port',
        String(port),
      ]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `ferry: HTTP port 127.0.0.1:${port} is already in use (--http-port): stop what listens there or pass --http-port another port (0 picks a free one)\n`,
      );
    } finally {
      blocker.close();
    }
  });
});
