/**
 * The CNI plugin, called exactly as a container runtime calls a chained plugin: a process
 * with the CNI_* variables and the network configuration (with the interface plugin's
 * prevResult) on standard input, against a network namespace the test created.
 * https://www.cni.dev/docs/spec/#section-2-execution-protocol
 */
import assert from 'node:assert/strict';
import { createPodNetwork, isRoot, type PodNetwork } from '../support/netns.js';
import { type CliRun, runCli } from '../support/run-cli.js';

/** What the bridge plugin returned before us, as it would be in the conflist's chain. */
function prevResult(ip: string) {
  return {
    cniVersion: '1.0.0',
    interfaces: [
      { name: 'cni0', mac: '7a:2e:19:4f:6a:01' },
      { name: 'eth0', mac: '3e:41:5b:0c:9d:22', sandbox: '/run/netns/x' },
    ],
    ips: [{ address: `${ip}/24`, gateway: ip.replace(/\.\d+$/, '.254'), interface: 1 }],
    routes: [{ dst: '0.0.0.0/0' }],
    dns: {},
  };
}

function netConf(extra: Record<string, unknown> = {}) {
  return {
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'ferry-cni',
    capture: { excludeOutboundPorts: [5432] },
    ...extra,
  };
}

describe('CNI plugin (ferry cni) as a runtime calls it', () => {
  let n: PodNetwork;

  before(async function () {
    if (!isRoot()) {
      console.log('    (skipped: network namespaces and iptables need root)');
      this.skip();
    }
    n = await createPodNetwork();
    await n.probeServer(n.pod, { outbound: 15001 });
    await n.probeServer(n.peer, { peer: 8080 });
  });

  after(async () => {
    await n?.destroy();
  });

  function cni(
    command: string,
    conf: unknown,
    o: { netns?: string; args?: string; env?: Record<string, string> } = {},
  ): Promise<CliRun> {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      CNI_COMMAND: command,
      CNI_CONTAINERID: 'c0ffee12345678',
      CNI_NETNS: o.netns ?? `/run/netns/${n.pod}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/opt/cni/bin',
      CNI_ARGS:
        o.args ??
        'IgnoreUnknown=1;K8S_POD_NAMESPACE=shop;K8S_POD_NAME=web-7d9f8c-x2v4q;K8S_POD_INFRA_CONTAINER_ID=c0ffee12345678',
      ...o.env,
    };
    return runCli('cni.js', 'runCni', [], {
      env,
      stdin: typeof conf === 'string' ? conf : JSON.stringify(conf),
    });
  }

  it('VERSION lists the supported versions', async () => {
    const r = await cni('VERSION', { cniVersion: '1.0.0' });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });

  it('ADD installs the rules in the pod namespace and passes prevResult through', async () => {
    const prev = prevResult(n.podIp4);
    const r = await cni('ADD', netConf({ prevResult: prev }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), prev);
    assert.match(r.stderr, /ADD shop\/web-7d9f8c-x2v4q: capture installed/);
    const v4 = await n.run(n.pod, 'iptables-save', '-t', 'nat');
    assert.match(v4, /-A OUTPUT -p tcp -j FERRY_OUTPUT/);
    assert.match(v4, /-A FERRY_OUTPUT -p tcp -m tcp --dport 5432 -j RETURN/);
    assert.match(await n.run(n.pod, 'ip6tables-save', '-t', 'nat'), /FERRY_REDIRECT/);
    assert.doesNotMatch(await n.run(n.peer, 'iptables-save', '-t', 'nat'), /FERRY_/);
  });

  it("after ADD the pod's traffic goes to the sidecar's port", async () => {
    assert.equal((await n.probe(n.pod, n.peerIp4, 8080)).listener, 'outbound');
    assert.equal((await n.probe(n.pod, n.peerIp4, 8080, 1337)).listener, 'peer');
  });

  it('the result is given in the configuration version', async () => {
    const prev = { ...prevResult(n.podIp4), cniVersion: '0.4.0' };
    const r = await cni('ADD', netConf({ cniVersion: '0.4.0', prevResult: prev }));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(JSON.parse(r.stdout).cniVersion, '0.4.0');
    const saved = await n.run(n.pod, 'iptables-save', '-t', 'nat');
    assert.equal(saved.match(/-A OUTPUT -p tcp -j FERRY_OUTPUT/g)?.length, 1, 'one set of rules');
  });

  it('CHECK succeeds silently while the rules are there', async () => {
    const r = await cni('CHECK', netConf({ prevResult: prevResult(n.podIp4) }));
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stdout, '');
  });

  it('DEL removes the rules, and CHECK then reports them missing', async () => {
    const del = await cni('DEL', netConf());
    assert.equal(del.code, 0, del.stdout);
    assert.equal(del.stdout, '');
    assert.doesNotMatch(await n.run(n.pod, 'iptables-save', '-t', 'nat'), /FERRY_/);
    const check = await cni('CHECK', netConf({ prevResult: prevResult(n.podIp4) }));
    assert.equal(check.code, 1);
    const err = JSON.parse(check.stdout);
    assert.equal(err.code, 101);
    assert.match(err.msg, /IPv4 capture rules of pod shop\/web-7d9f8c-x2v4q are missing/);
  });

  it('DEL of a namespace that is already gone succeeds', async () => {
    const r = await cni('DEL', netConf(), { netns: '/run/netns/ferry-test-gone' });
    assert.equal(r.code, 0, r.stdout);
  });

  it('pods of excluded namespaces pass through untouched', async () => {
    const prev = prevResult(n.podIp4);
    const r = await cni('ADD', netConf({ prevResult: prev }), {
      args: 'K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-1',
    });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(JSON.parse(r.stdout), prev);
    assert.match(r.stderr, /not captured: namespace kube-system is excluded/);
    assert.doesNotMatch(await n.run(n.pod, 'iptables-save', '-t', 'nat'), /FERRY_/);
  });

  const errors: [string, () => Promise<CliRun>, number, RegExp][] = [
    ['ADD without prevResult', () => cni('ADD', netConf()), 7, /prevResult is missing/],
    ['a configuration that is not JSON', () => cni('ADD', '{"cniVersion": '), 6, /not JSON/],
    [
      'an unsupported version',
      () => cni('ADD', netConf({ cniVersion: '0.2.0' })),
      1,
      /cniVersion 0\.2\.0 is not supported/,
    ],
    [
      'CHECK before 0.4.0',
      () => cni('CHECK', netConf({ cniVersion: '0.3.1' })),
      1,
      /CHECK needs cniVersion 0\.4\.0/,
    ],
    [
      'a bad capture setting',
      () =>
        cni('ADD', netConf({ capture: { excludeOutboundCidrs: ['10.0.0.0/99'] }, prevResult: {} })),
      7,
      /capture: excluded outbound CIDR "10\.0\.0\.0\/99"/,
    ],
    [
      'a missing namespace',
      () => cni('ADD', netConf({ prevResult: {} }), { netns: '/run/netns/ferry-test-none' }),
      3,
      /ferry-test-none does not exist/,
    ],
    ['no CNI_COMMAND', () => cni('', netConf()), 4, /CNI_COMMAND is not set/],
    ['an unknown command', () => cni('RESET', netConf()), 4, /CNI_COMMAND RESET is not supported/],
    [
      'malformed CNI_ARGS',
      () => cni('ADD', netConf({ prevResult: {} }), { args: 'K8S_POD_NAME' }),
      4,
      /CNI_ARGS: "K8S_POD_NAME" is not KEY=VALUE/,
    ],
  ];
  for (const [what, call, code, msg] of errors) {
    it(`${what}: an error result with code ${code} and exit 1`, async () => {
      const r = await call();
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const err = JSON.parse(r.stdout);
      assert.equal(err.code, code);
      assert.match(err.msg, msg);
      assert.equal(typeof err.cniVersion, 'string');
    });
  }
});
