/**
 * `--bind ::` where the machine has no IPv6: a real `ferry proxy` process under a preloaded
 * shim that fails every IPv6 socket() with EAFNOSUPPORT, as a kernel booted with
 * ipv6.disable=1 does. The sidecar says so and listens on 0.0.0.0 instead of crashing.
 * Needs a C compiler (gcc) and a dynamically linked node, as on Linux.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { usableBindAddress } from '../../../src/proxy/listener/index.js';
import { capturingLogger } from '../../identity/support.js';

const exec = promisify(execFile);
const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');

const NO_IPV6_SHIM = `
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>
int socket(int domain, int type, int protocol) {
  static int (*real)(int, int, int);
  if (domain == AF_INET6) { errno = EAFNOSUPPORT; return -1; }
  if (!real) real = (int (*)(int, int, int))dlsym(RTLD_NEXT, "socket");
  return real(domain, type, protocol);
}
`;

describe('proxy: the address the listeners bind', () => {
  it('keeps :: where IPv6 works, and any other address as given, without a word', async () => {
    const { log, lines } = capturingLogger();
    assert.equal(await usableBindAddress('::', log), '::');
    assert.equal(await usableBindAddress('[::]', log), '::');
    assert.equal(await usableBindAddress('0.0.0.0', log), '0.0.0.0');
    assert.equal(await usableBindAddress('127.0.0.1', log), '127.0.0.1');
    assert.deepEqual(lines, []);
  });

  describe('on a machine without IPv6 (every IPv6 socket refused)', function () {
    this.timeout(30_000);
    let dir: string;
    let shim: string;
    let proxy: ChildProcess | undefined;

    before(async function () {
      dir = await mkdtemp(path.join(tmpdir(), 'ferry-noipv6-'));
      await writeFile(path.join(dir, 'noipv6.c'), NO_IPV6_SHIM);
      shim = path.join(dir, 'noipv6.so');
      try {
        await exec('gcc', ['-shared', '-fPIC', '-o', shim, path.join(dir, 'noipv6.c'), '-ldl']);
      } catch (err) {
        console.log(
          `    (skipped: cannot build the no-IPv6 shim with gcc: ${(err as Error).message.split('\n')[0]})`,
        );
        this.skip();
      }
      // The shim must work here, or the test below would prove nothing.
      const probe = `require('net').createServer().on('error', (e) => console.log(e.code)).listen(0, '::', () => console.log('bound'))`;
      const { stdout } = await exec(
        process.execPath,
        ['-e', `${probe};setTimeout(()=>process.exit(0),200)`],
        {
          env: { ...process.env, LD_PRELOAD: shim },
        },
      );
      if (stdout.trim() !== 'EAFNOSUPPORT') {
        console.log(
          `    (skipped: the preloaded shim does not take effect here: ${stdout.trim()})`,
        );
        this.skip();
      }
    });

    after(async () => {
      if (proxy && proxy.exitCode === null && proxy.signalCode === null) {
        const exited = new Promise((r) => proxy!.once('exit', r));
        proxy.kill('SIGKILL');
        await exited;
      }
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('ferry proxy --bind :: warns, listens on 0.0.0.0 and takes IPv4 connections', async () => {
      proxy = spawn(
        process.execPath,
        [
          MAIN,
          'proxy',
          '--xds',
          '127.0.0.1:1',
          '--service',
          'no-ipv6',
          '--bind',
          '::',
          ...['--inbound-port', '0', '--outbound-port', '0', '--admin-port', '0'],
          ...['--metrics-port', '0', '--ready-port', '0'],
          '--log-level',
          'warn',
        ],
        { env: { ...process.env, LD_PRELOAD: shim }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let out = '';
      let err = '';
      proxy.stderr!.on('data', (d) => {
        err += d;
      });
      const ports = await new Promise<{ outbound: number; inbound: number }>((resolve, reject) => {
        proxy!.stdout!.on('data', (d) => {
          out += d;
          const m = /outbound (\d+), inbound (\d+)/.exec(out);
          if (m) resolve({ outbound: Number(m[1]), inbound: Number(m[2]) });
        });
        proxy!.once('exit', (code) =>
          reject(new Error(`ferry proxy exited ${code}: ${err}${out}`)),
        );
      });
      const warning = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: number; msg: string; error?: string })
        .find((l) => l.msg.startsWith('IPv6 is not available'));
      assert.ok(warning, `no warning in:\n${out}`);
      assert.equal(warning.level, 40, 'warn');
      assert.equal(warning.error, 'EAFNOSUPPORT');
      assert.match(warning.msg, /the listeners bind 0\.0\.0\.0, IPv4 only/);
      for (const port of [ports.outbound, ports.inbound]) {
        await new Promise<void>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => {
            s.destroy();
            resolve();
          });
          s.once('error', reject);
        });
      }
      assert.equal(proxy.exitCode, null, 'still running');
    });
  });
});
