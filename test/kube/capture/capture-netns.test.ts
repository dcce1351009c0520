/**
 * `ferry init` for real: in a pod network namespace (and a peer namespace joined to it by
 * a veth pair) created for the test, the rules it installs send the pod's TCP to the
 * outbound listener (15001) and the peer's to the inbound listener (15006), leave the
 * proxy's uid, loopback and the exclusions alone, and the listener reads the original
 * destination back with SO_ORIGINAL_DST. Needs root (CI runs as root).
 */
import assert from 'node:assert/strict';
import {
  ADDON_BUILD_COMMAND,
  originalDestinationAvailable,
} from '../../../src/kube/capture/index.js';
import { createPodNetwork, isRoot, type PodNetwork } from '../support/netns.js';
import { runCli } from '../support/run-cli.js';

const PEER_PORT = 8080;
const EXCLUDED_PORT = 5432;

/** The SO_ORIGINAL_DST tests need the addon; they say so when it is not built. */
function needAddon(ctx: Mocha.Context): void {
  if (!originalDestinationAvailable()) {
    console.log(`    (skipped: the SO_ORIGINAL_DST addon is not built; ${ADDON_BUILD_COMMAND})`);
    ctx.skip();
  }
}

describe('capture: ferry init in a network namespace', () => {
  let n: PodNetwork;

  before(async function () {
    if (!isRoot()) {
      console.log('    (skipped: network namespaces and iptables need root)');
      this.skip();
    }
    n = await createPodNetwork();
    // The pod: the sidecar's listeners, the app, and the readiness port kept out of capture.
    await n.probeServer(n.pod, {
      outbound: '15001:split',
      inbound: 15006,
      app: 7000,
      ready: 15021,
    });
    await n.probeServer(n.peer, {
      peer: PEER_PORT,
      'peer-db': EXCLUDED_PORT,
      'peer-inbound': 9000,
    });
  });

  after(async () => {
    await n?.destroy();
  });

  it('before the rules, the pod reaches the peer directly', async () => {
    const r = await n.probe(n.pod, n.peerIp4, PEER_PORT);
    assert.equal(r.listener, 'peer');
  });

  it('installs the rules, printing them, in the pod namespace only', async () => {
    const r = await runCli(
      'init.js',
      'runInit',
      [
        '--exclude-outbound-ports',
        String(EXCLUDED_PORT),
        '--exclude-outbound-cidrs',
        `${n.peerIp4b}/32`,
        '--exclude-inbound-ports',
        '9000',
      ],
      { prefix: ['ip', 'netns', 'exec', n.pod] },
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /-A FERRY_REDIRECT -p tcp -j REDIRECT --to-ports 15001/);
    assert.match(r.stdout, /-A FERRY_OUTPUT -m owner --uid-owner 1337 -j RETURN/);
    assert.match(r.stdout, /# ferry init: installed \(IPv4 and IPv6\)/);
    const v4 = await n.run(n.pod, 'iptables-save', '-t', 'nat');
    const v6 = await n.run(n.pod, 'ip6tables-save', '-t', 'nat');
    for (const saved of [v4, v6]) {
      assert.match(saved, /-A OUTPUT -p tcp -j FERRY_OUTPUT/);
      assert.match(saved, /-A PREROUTING -p tcp -j FERRY_INBOUND/);
      assert.match(saved, /-A FERRY_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006/);
    }
    assert.doesNotMatch(await n.run(n.peer, 'iptables-save', '-t', 'nat'), /FERRY_/);
  });

  it('an app connection to another IP:port lands on 15001', async () => {
    const r = await n.probe(n.pod, n.peerIp4, PEER_PORT);
    assert.equal(r.listener, 'outbound');
  });

  it("the proxy's own traffic (uid 1337) is not captured", async () => {
    const r = await n.probe(n.pod, n.peerIp4, PEER_PORT, 1337);
    assert.equal(r.listener, 'peer');
  });

  it('excluded outbound ports and CIDRs go out directly', async () => {
    assert.equal((await n.probe(n.pod, n.peerIp4, EXCLUDED_PORT)).listener, 'peer-db');
    assert.equal((await n.probe(n.pod, n.peerIp4b, PEER_PORT)).listener, 'peer');
  });

  it('loopback traffic is not captured', async () => {
    assert.equal((await n.probe(n.pod, '127.0.0.1', 7000)).listener, 'app');
    assert.equal((await n.probe(n.pod, n.podIp4, 7000)).listener, 'app', "the pod's own IP");
    assert.equal((await n.probe(n.pod, '::1', 7000)).listener, 'app');
  });

  it('inbound connections land on 15006', async () => {
    const r = await n.probe(n.peer, n.podIp4, 7000);
    assert.equal(r.listener, 'inbound');
  });

  it('the readiness port and excluded inbound ports are reached directly', async () => {
    assert.equal((await n.probe(n.peer, n.podIp4, 15021)).listener, 'ready');
    // 9000 is excluded from inbound capture; nothing listens on it in the pod.
    assert.equal((await n.probe(n.peer, n.podIp4, 9000)).error, 'ECONNREFUSED');
  });

  it('IPv6: outbound lands on 15001, the proxy uid goes out, inbound lands on 15006', async () => {
    const out = await n.probe(n.pod, n.peerIp6, PEER_PORT);
    assert.equal(out.listener, 'outbound');
    assert.equal((await n.probe(n.pod, n.peerIp6, PEER_PORT, 1337)).listener, 'peer');
    const inbound = await n.probe(n.peer, n.podIp6, 7000);
    assert.equal(inbound.listener, 'inbound');
  });

  it('IPv4 outbound, on an IPv4 socket: the address and port the app asked for', async function () {
    needAddon(this);
    const r = await n.probe(n.pod, n.peerIp4, PEER_PORT);
    assert.equal(r.listener, 'outbound');
    assert.equal(r.local, `127.0.0.1:15001`, 'REDIRECT from OUTPUT goes to loopback');
    assert.deepEqual(r.original, { address: n.peerIp4, port: PEER_PORT, family: 4 });
  });

  it('IPv4 inbound, on a dual-stack socket (v4-mapped)', async function () {
    needAddon(this);
    const r = await n.probe(n.peer, n.podIp4, 7000);
    assert.equal(r.local, `::ffff:${n.podIp4}:15006`);
    assert.deepEqual(r.original, { address: n.podIp4, port: 7000, family: 4 });
  });

  it('IPv6 outbound and inbound', async function () {
    needAddon(this);
    const out = await n.probe(n.pod, n.peerIp6, 443);
    assert.equal(out.listener, 'outbound');
    assert.deepEqual(out.original, { address: n.peerIp6, port: 443, family: 6 });
    const inbound = await n.probe(n.peer, n.podIp6, 7000);
    assert.deepEqual(inbound.original, { address: n.podIp6, port: 7000, family: 6 });
  });

  it('a connection that was not redirected reports its own destination', async function () {
    needAddon(this);
    const r = await n.probe(n.pod, '127.0.0.1', 7000);
    assert.equal(r.listener, 'app');
    assert.deepEqual(r.original, { address: '127.0.0.1', port: 7000, family: 4 });
  });

  it('running it again replaces the rules rather than doubling them', async () => {
    const r = await runCli('init.js', 'runInit', [], { prefix: ['ip', 'netns', 'exec', n.pod] });
    assert.equal(r.code, 0, r.stderr);
    const saved = await n.run(n.pod, 'iptables-save', '-t', 'nat');
    assert.equal(saved.match(/-A OUTPUT -p tcp -j FERRY_OUTPUT/g)?.length, 1);
    assert.doesNotMatch(saved, /--dport 5432/, 'the new run has no exclusions');
  });

  it('--dry-run prints the rules and installs nothing', async () => {
    const r = await runCli('init.js', 'runInit', ['--dry-run'], {
      prefix: ['ip', 'netns', 'exec', n.peer],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /\*nat[\s\S]*COMMIT[\s\S]*ip6tables-restore[\s\S]*dry run, nothing installed/,
    );
    assert.doesNotMatch(await n.run(n.peer, 'iptables-save', '-t', 'nat'), /FERRY_/);
  });

  it('--remove takes the rules out, and the pod reaches the peer directly again', async () => {
    const r = await runCli('init.js', 'runInit', ['--remove'], {
      prefix: ['ip', 'netns', 'exec', n.pod],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /IPv4: removed/);
    assert.doesNotMatch(await n.run(n.pod, 'iptables-save', '-t', 'nat'), /FERRY_/);
    assert.equal((await n.probe(n.pod, n.peerIp4, PEER_PORT)).listener, 'peer');
  });

  it('a bad option is named, and nothing is installed', async () => {
    const r = await runCli('init.js', 'runInit', ['--exclude-outbound-cidrs', '10.0.0.0/40'], {
      prefix: ['ip', 'netns', 'exec', n.pod],
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--exclude-outbound-cidrs: "10\.0\.0\.0\/40" is not a CIDR/);
    assert.doesNotMatch(await n.run(n.pod, 'iptables-save', '-t', 'nat'), /FERRY_/);
  });
});
