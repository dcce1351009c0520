/**
 * `ferry cni-install`, the CNI DaemonSet's installer: chaining into the node's CNI
 * configuration (pure), and the real process over directories laid out as a node's
 * /etc/cni/net.d and /opt/cni/bin: installed, kept chained when the primary network rewrites
 * its file, and gone again after SIGTERM.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  access,
  constants,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  CniError,
  CniInstaller,
  chainPlugin,
  primaryConfFile,
  unchainPlugin,
} from '../../../src/kube/cni/index.js';
import { waitFor } from '../../support/wait-for.js';

const MAIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../src/cli/main.js');
const run = promisify(execFile);

/** Flannel's conflist as its DaemonSet writes it (kube-flannel.yml's cni-conf.json). */
const FLANNEL = `${JSON.stringify(
  {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [
      { type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  },
  null,
  2,
)}\n`;

/** A single-plugin .conf (the bridge plugin's documented example). */
const BRIDGE_CONF = JSON.stringify({
  cniVersion: '1.0.0',
  name: 'mynet',
  type: 'bridge',
  bridge: 'cni0',
  isGateway: true,
  ipam: { type: 'host-local', subnet: '10.22.0.0/16' },
});

const PLUGIN = { excludeNamespaces: ['kube-system', 'ferry-system'], capture: {} };

const types = (text: string): string[] =>
  (JSON.parse(text) as { plugins: { type: string }[] }).plugins.map((p) => p.type);

describe('CNI configuration chaining', () => {
  it('appends ferry-cni to a conflist, once, and takes it out again', () => {
    const chained = chainPlugin('10-flannel.conflist', FLANNEL, PLUGIN);
    assert.equal(chained.fileName, '10-flannel.conflist');
    assert.equal(chained.unchanged, false);
    assert.deepEqual(types(chained.text), ['flannel', 'portmap', 'ferry-cni']);
    const again = chainPlugin('10-flannel.conflist', chained.text, PLUGIN);
    assert.equal(again.unchanged, true);
    assert.deepEqual(types(again.text), ['flannel', 'portmap', 'ferry-cni']);
    // A changed entry replaces the old one, still last.
    const changed = chainPlugin('10-flannel.conflist', chained.text, { excludeNamespaces: [] });
    assert.equal(changed.unchanged, false);
    assert.deepEqual(types(changed.text), ['flannel', 'portmap', 'ferry-cni']);
    assert.deepEqual(
      JSON.parse(unchainPlugin('10-flannel.conflist', chained.text)!),
      JSON.parse(FLANNEL),
    );
    assert.equal(unchainPlugin('10-flannel.conflist', FLANNEL), undefined);
  });

  it('turns a single-plugin .conf into a .conflist holding it', () => {
    const chained = chainPlugin('10-bridge.conf', BRIDGE_CONF, PLUGIN);
    assert.equal(chained.fileName, '10-bridge.conflist');
    const list = JSON.parse(chained.text);
    assert.equal(list.cniVersion, '1.0.0');
    assert.equal(list.name, 'mynet');
    assert.deepEqual(list.plugins[0], {
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      ipam: { type: 'host-local', subnet: '10.22.0.0/16' },
    });
    assert.deepEqual(list.plugins[1], { ...PLUGIN, type: 'ferry-cni' });
  });

  it("picks the runtime's file: the first configuration file by name", () => {
    assert.equal(
      primaryConfFile([
        '99-loopback.conf',
        '.10-x.conflist.ferry-tmp',
        'README',
        '10-calico.conflist',
        '87-podman.conflist',
      ]),
      '10-calico.conflist',
    );
    assert.equal(primaryConfFile(['README']), undefined);
  });

  it('names the file that is not JSON', () => {
    assert.throws(
      () => chainPlugin('10-x.conflist', '{', PLUGIN),
      (e: unknown) => e instanceof CniError && /^10-x\.conflist: not JSON/.test(e.message),
    );
  });
});

describe('ferry cni-install on a node', function () {
  this.timeout(60_000);
  let dir: string;
  let netd: string;
  let bin: string;
  let child: ChildProcess | undefined;
  /** `ferry cni-install` over this node's directories. */
  const command = () => [MAIN, 'cni-install', '--cni-conf-dir', netd, '--cni-bin-dir', bin];

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-cni-install-'));
    netd = path.join(dir, 'etc/cni/net.d');
    bin = path.join(dir, 'opt/cni/bin');
    await mkdir(netd, { recursive: true });
    await mkdir(bin, { recursive: true });
  });
  afterEach(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('installs and chains the plugin, re-chains after the primary network rewrites its file, and cleans up on SIGTERM', async () => {
    const conflist = path.join(netd, '10-flannel.conflist');
    await writeFile(conflist, FLANNEL);
    // What the installed plugin runs: records its arguments and CNI_COMMAND.
    const fakeFerry = path.join(dir, 'fake-ferry');
    const record = path.join(dir, 'called');
    await writeFile(fakeFerry, `#!/bin/sh\necho "$* $CNI_COMMAND" > ${record}\n`, { mode: 0o755 });
    let stderr = '';
    child = spawn(
      process.execPath,
      [
        ...command(),
        '--host-cni-bin-dir',
        bin,
        '--plugin-command',
        fakeFerry,
        '--exclude-namespaces',
        'kube-system,ferry-system',
        '--exclude-outbound-cidrs',
        '169.254.169.254/32',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    await waitFor('ferry cni-install: ready', () => stderr.includes('ready'), 20_000);

    const chained = JSON.parse(await readFile(conflist, 'utf8'));
    assert.deepEqual(
      chained.plugins.map((p: { type: string }) => p.type),
      ['flannel', 'portmap', 'ferry-cni'],
    );
    assert.deepEqual(chained.plugins[2], {
      type: 'ferry-cni',
      excludeNamespaces: ['kube-system', 'ferry-system'],
      capture: {
        excludeInboundPorts: [],
        excludeOutboundPorts: [],
        excludeOutboundCidrs: ['169.254.169.254/32'],
      },
    });
    const plugin = path.join(bin, 'ferry-cni');
    assert.equal((await stat(plugin)).mode & 0o777, 0o755);
    // The runtime runs the plugin by its type, with the CNI_* environment.
    await run(plugin, [], { env: { CNI_COMMAND: 'VERSION' } });
    assert.equal((await readFile(record, 'utf8')).trim(), 'cni VERSION');

    // Flannel's DaemonSet restarts and writes its own file again, without Ferry's entry.
    const tmp = path.join(netd, '.flannel-tmp');
    await writeFile(tmp, FLANNEL);
    await rename(tmp, conflist);
    await waitFor(
      'ferry-cni chained again',
      async () => types(await readFile(conflist, 'utf8')).includes('ferry-cni'),
      10_000,
    );

    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    assert.deepEqual(JSON.parse(await readFile(conflist, 'utf8')), JSON.parse(FLANNEL));
    await assert.rejects(access(plugin, constants.F_OK), /ENOENT/);
    assert.match(stderr, /SIGTERM: uninstalling/);
  });

  it('waits for a node without a CNI configuration, and chains the one that appears', async () => {
    const installer = new CniInstaller({
      confDir: netd,
      binDir: bin,
      hostBinDir: '/opt/cni/bin',
      plugin: PLUGIN,
      log: () => {},
      debounceMs: 10,
    });
    await installer.install();
    installer.watch();
    try {
      await writeFile(path.join(netd, '10-bridge.conf'), BRIDGE_CONF);
      await waitFor(
        'the .conf chained as a .conflist',
        async () => {
          try {
            return types(await readFile(path.join(netd, '10-bridge.conflist'), 'utf8')).includes(
              'ferry-cni',
            );
          } catch {
            return false;
          }
        },
        10_000,
      );
      await assert.rejects(
        access(path.join(netd, '10-bridge.conf')),
        /ENOENT/,
        'the .conf is replaced',
      );
    } finally {
      await installer.uninstall();
    }
    assert.deepEqual(types(await readFile(path.join(netd, '10-bridge.conflist'), 'utf8')), [
      'bridge',
    ]);
  });

  it('--copy-runtime: the plugin runs the copied Node.js and program, which the node need not have', async () => {
    // A stand-in program tree with the layout of Ferry's (dist/src/cli/main.js).
    const app = path.join(dir, 'app');
    await mkdir(path.join(app, 'dist/src/cli'), { recursive: true });
    await writeFile(
      path.join(app, 'dist/src/cli/main.js'),
      'process.stdout.write(JSON.stringify({argv: process.argv.slice(2), cmd: process.env.CNI_COMMAND, exec: process.execPath}));\n',
    );
    await writeFile(path.join(netd, '10-flannel.conflist'), FLANNEL);
    const installer = new CniInstaller({
      confDir: netd,
      binDir: bin,
      hostBinDir: bin,
      plugin: PLUGIN,
      runtime: { node: process.execPath, app },
      log: () => {},
    });
    await installer.install();
    const { stdout } = await run(path.join(bin, 'ferry-cni'), [], {
      env: { CNI_COMMAND: 'VERSION' },
    });
    assert.deepEqual(JSON.parse(stdout), {
      argv: ['cni'],
      cmd: 'VERSION',
      exec: path.join(bin, 'ferry-cni.d', 'node'),
    });
    await installer.uninstall();
    await assert.rejects(access(path.join(bin, 'ferry-cni.d')), /ENOENT/);
  });

  it('refuses a bad plugin setting before touching the node', async () => {
    await writeFile(path.join(netd, '10-flannel.conflist'), FLANNEL);
    const r = await run(process.execPath, [
      ...command(),
      '--exclude-outbound-cidrs',
      '10.0.0.0/33',
    ]).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^ferry: .*10\.0\.0\.0\/33/);
    assert.equal(await readFile(path.join(netd, '10-flannel.conflist'), 'utf8'), FLANNEL);
    await assert.rejects(access(path.join(bin, 'ferry-cni')), /ENOENT/);
  });
});
