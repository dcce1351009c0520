/**
 * `ferry init` as a process, for what needs no network namespace: help, --dry-run (which
 * touches nothing), and a clear error where iptables is not installed.
 */
import assert from 'node:assert/strict';
import { runCli } from '../support/run-cli.js';

describe('ferry init (CLI)', () => {
  it('prints help', async () => {
    const r = await runCli('init.js', 'runInit', ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--exclude-outbound-cidrs LIST/);
  });

  it('--dry-run prints the IPv4 and IPv6 scripts with the options applied', async () => {
    const r = await runCli('init.js', 'runInit', [
      '--dry-run',
      '--proxy-uid',
      '2001',
      '--exclude-outbound-cidrs',
      '10.96.0.0/12,fd00::/8',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [v4, v6] = r.stdout.split('# Ferry transparent capture, IPv6');
    assert.match(v4!, /-A FERRY_OUTPUT -m owner --uid-owner 2001 -j RETURN/);
    assert.match(v4!, /-A FERRY_OUTPUT -d 10\.96\.0\.0\/12 -j RETURN/);
    assert.doesNotMatch(v4!, /fd00::\/8/);
    assert.match(v6!, /-A FERRY_OUTPUT -d fd00::\/8 -j RETURN/);
    assert.match(r.stdout, /dry run, nothing installed\n$/);
  });

  it('--ipv4-only --dry-run leaves IPv6 out', async () => {
    const r = await runCli('init.js', 'runInit', ['--dry-run', '--ipv4-only']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /IPv6/);
  });

  it('without iptables installed, says which package to install', async () => {
    const r = await runCli('init.js', 'runInit', [], { env: { PATH: '/nonexistent' } });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /ferry: iptables-save is not installed \(Debian\/Ubuntu package "iptables"\)/,
    );
  });

  it('a bad port is a usage error, exit 2', async () => {
    const r = await runCli('init.js', 'runInit', ['--inbound-port', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--inbound-port must be a port/);
  });
});
