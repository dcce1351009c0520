/** `ferry control-plane` as a real process: start-up, and one clear line for each bad start. */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseControlPlaneArgs } from '../../src/cli/control-plane-args.js';
import { runCli } from '../support/cli-process.js';

const EXAMPLE = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../../examples/mesh.yaml',
);

describe('ferry control-plane (CLI)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'ferry-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('prints help', async () => {
    const r = await runCli(['control-plane', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--xds-port PORT/);
  });

  it('says a missing mesh file does not exist, without a stack trace', async () => {
    const r = await runCli(['control-plane', '--config', path.join(dir, 'nope.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nope\.yaml: the mesh file does not exist/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });

  it('names the file, line and field of an invalid mesh file', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'services:\n  - name: x\n    ports: [{ port: 80, protocol: htp }]\n');
    const r = await runCli(['control-plane', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /bad\.yaml:3:\d+: services\[0\]\.ports\[0\]\.protocol: /);
  });

  it('says which port is already in use', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli([
        'control-plane',
        '--config',
        EXAMPLE,
        '--xds-port',
        String(port),
        '--http-port',
        '0',
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`xDS port 127\\.0\\.0\\.1:${port} is already in use`));
      const h = await runCli([
        'control-plane',
        '--config',
        EXAMPLE,
        '--xds-port',
        '0',
        '--http-port',
        String(port),
      ]);
      assert.equal(h.code, 1);
      assert.match(h.stderr, new RegExp(`HTTP port 127\\.0\\.0\\.1:${port} is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('rejects a bad flag with usage', async () => {
    const r = await runCli(['control-plane', '--xds-port', 'x', '--config', EXAMPLE]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--xds-port must be a port number/);
  });

  it('Kubernetes flags: each misuse is one line naming the flag', () => {
    const base = ['--config', EXAMPLE];
    const cases: [string[], RegExp][] = [
      [['--ca-dir', '/tmp/ca', '--ca-secret', 'ca'], /give --ca-dir or --ca-secret, not both/],
      [['--webhook-port', '15017'], /--webhook-port needs --ca-dir DIR or --ca-secret NAME/],
      [['--allow-plaintext-csr'], /--allow-plaintext-csr needs --ca-dir DIR or --ca-secret NAME/],
      [['--ca-secret', 'ca', '--webhook-config', 'inj'], /--webhook-config needs --webhook-port/],
      [['--ca-secret', 'ca', '--capture', 'cni'], /--capture needs --webhook-port/],
      [['--ca-dir', '/tmp/ca', '--token-audience', 'ferry'], /--token-audience needs --ca-secret/],
      [['--ca-secret', 'Ferry_CA'], /--ca-secret must be a Kubernetes name .* got "Ferry_CA"/],
      [['--namespace', 'a.b'], /--namespace must be a DNS label .* got "a\.b"/],
      [
        ['--ca-secret', 'ca', '--webhook-port', '0', '--capture', 'ebpf'],
        /--capture must be init or cni, got "ebpf"/,
      ],
      [
        ['--ca-secret', 'ca', '--webhook-port', '0', '--proxy-log-level', 'loud'],
        /--proxy-log-level must be trace, debug, info, warn, error, got "loud"/,
      ],
      [
        ['--kubeconfig', '/k'],
        /--kubeconfig is only used with --kubernetes, --ca-secret or --webhook-config/,
      ],
      [['--ca-secret', 'ca', '--webhook-port', '99999'], /--webhook-port must be a port number/],
      [
        ['--ca-secret', 'ca', '--webhook-port', '0', '--proxy-memory', 'lots'],
        /--proxy-memory must be a Kubernetes quantity \(e\.g\. 100m, 128Mi\), got "lots"/,
      ],
      [['--ca-secret', 'ca', '--proxy-cpu', '1'], /--proxy-cpu needs --webhook-port/],
    ];
    for (const [flags, message] of cases)
      assert.throws(
        () => parseControlPlaneArgs([...base, ...flags]),
        (e: Error) =>
          e.name === 'UsageError' && message.test(e.message) && !e.message.includes('\n'),
        flags.join(' '),
      );
    const ok = parseControlPlaneArgs([...base, '--kubernetes', '--ca-secret', 'ferry-ca-root']);
    assert.deepEqual(ok.kubernetes?.settings, {
      discovery: true,
      caSecret: 'ferry-ca-root',
      tokenReview: true,
      tokenAudiences: [],
    });
    assert.equal(ok.options.allowPlaintextCsr, false, 'CSRs over plaintext are off by default');
    const open = parseControlPlaneArgs([...base, '--ca-dir', '/tmp/ca', '--allow-plaintext-csr']);
    assert.equal(open.options.allowPlaintextCsr, true);
  });

  it('Kubernetes flags outside a pod and without --kubeconfig: one line saying so', async () => {
    // As outside a pod even when the tests run in one.
    const env = { ...process.env };
    delete env.KUBERNETES_SERVICE_HOST;
    delete env.KUBERNETES_SERVICE_PORT;
    const r = await runCli(['control-plane', '--config', EXAMPLE, '--kubernetes'], undefined, env);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      'ferry: not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set); give --kubeconfig FILE\n',
    );
    const u = await runCli([
      'control-plane',
      '--config',
      EXAMPLE,
      '--ca-secret',
      'ca',
      '--capture',
      'cni',
    ]);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /^ferry: --capture needs --webhook-port PORT/);
  });

  it('serves the example mesh and stops on SIGTERM', async () => {
    const r = await runCli(
      [
        'control-plane',
        '--config',
        EXAMPLE,
        '--xds-port',
        '0',
        '--http-port',
        '0',
        '--log-level',
        'warn',
      ],
      /HTTP on (http:\/\/[^ ]+)/,
    );
    const url = /HTTP on (http:\/\/[^ ]+\/)/.exec(r.stdout)?.[1];
    assert.ok(url, r.stdout + r.stderr);
    const health = await fetch(`${url}healthz`);
    assert.equal(health.status, 200);
    const registry = (await (await fetch(`${url}debug/registry`)).json()) as {
      config: { services: Array<{ name: string }> };
    };
    assert.deepEqual(registry.config.services.map((s) => s.name).sort(), ['api', 'echo', 'web']);
    const exited = new Promise<void>((resolve) => {
      const poll = setInterval(async () => {
        try {
          await fetch(`${url}healthz`);
        } catch {
          clearInterval(poll);
          resolve();
        }
      }, 50);
    });
    r.kill();
    await exited;
  });
});
