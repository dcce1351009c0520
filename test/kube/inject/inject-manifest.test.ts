/** `ferry inject`: multi-document YAML in, injected YAML out (golden), and the CLI around it. */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  InjectError,
  injectionTemplate,
  injectManifest,
  supportsNativeSidecars,
} from '../../../src/kube/inject/index.js';
import { SIDECAR_PROCESS_ENV } from '../../../src/proxy/index.js';
import { ReplayApiServer, status, TEST_TOKEN } from '../support/replay-api-server.js';
import { runCli } from '../support/run-cli.js';
import { expectGoldenText, readFixture } from './golden.js';

interface Named {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

function docs(yaml: string): Named[] {
  return parseAllDocuments(yaml as string).map((d) => d.toJS() as Named);
}

function podSpecOf(o: Named): {
  initContainers?: { name: string }[];
  containers: { name: string }[];
} {
  type Spec = ReturnType<typeof podSpecOf>;
  type Template = { spec: Spec };
  if (o.kind === 'Pod') return o.spec as unknown as Spec;
  if (o.kind === 'CronJob') {
    return (o.spec as { jobTemplate: { spec: { template: Template } } }).jobTemplate.spec.template
      .spec;
  }
  return (o.spec as { template: Template }).template.spec;
}

/** The sidecar's flags for the identity volume's files, before the trust domain's value. */
const IDENTITY_FLAGS = [
  '--ca-root',
  '/var/run/ferry/identity/root-cert.pem',
  '--token-file',
  '/var/run/ferry/identity/token',
  '--trust-domain',
];

/** What an injected workload's sidecar gets of the mesh identity. */
function identityOf(o: Named): {
  root: string;
  args: string[];
  volume: { projected: { sources: { serviceAccountToken: { audience?: string } }[] } };
} {
  // biome-ignore lint/suspicious/noExplicitAny: a rendered object, checked field by field.
  const template = (o as any).spec.template;
  const proxy = template.spec.initContainers.find(
    (c: { name: string }) => c.name === 'ferry-proxy',
  );
  return {
    root: template.metadata.annotations['ferry.io/ca-root'],
    args: proxy.args,
    volume: template.spec.volumes.find((v: { name: string }) => v.name === 'ferry-identity'),
  };
}

describe('ferry inject (offline)', () => {
  it('injects every workload kind and leaves the rest alone (golden)', () => {
    const out = injectManifest(readFixture('workloads.yaml'), injectionTemplate());
    expectGoldenText('workloads.injected.yaml', out.yaml);
    assert.deepEqual(
      out.objects.map((o) => `${o.kind}/${o.name}: ${o.injected ? 'injected' : o.reason}`),
      [
        'Deployment/web: injected',
        'StatefulSet/db: injected',
        'DaemonSet/log-agent: injected',
        'DaemonSet/node-exporter: hostNetwork pod',
        'Job/migrate: injected',
        'CronJob/nightly-report: injected',
        'Pod/debug: injected',
        'Deployment/legacy: ferry.io/inject is "false"',
        'Service/web: not a workload',
      ],
    );
    const byName = new Map(docs(out.yaml).map((d) => [`${d.kind}/${d.metadata.name}`, d]));
    for (const name of ['Deployment/web', 'Job/migrate', 'CronJob/nightly-report', 'Pod/debug']) {
      const spec = podSpecOf(byName.get(name)!);
      assert.deepEqual(
        spec.initContainers?.map((c) => c.name),
        ['ferry-init', 'ferry-proxy'],
        name,
      );
    }
    assert.equal(podSpecOf(byName.get('Deployment/legacy')!).initContainers, undefined);
  });

  it('uses the workload name as the service when the pod has no app label', () => {
    const out = injectManifest(readFixture('workloads.yaml'), injectionTemplate());
    const job = docs(out.yaml).find((d) => d.metadata.name === 'migrate')!;
    const proxy = podSpecOf(job).initContainers![1] as unknown as { args: string[] };
    assert.equal(proxy.args[proxy.args.indexOf('--service') + 1], 'migrate');
  });

  it('injecting its own output again changes nothing', () => {
    const once = injectManifest(readFixture('workloads.yaml'), injectionTemplate()).yaml;
    const twice = injectManifest(once, injectionTemplate());
    assert.equal(twice.yaml, once);
    assert.ok(twice.objects.every((o) => !o.injected));
  });

  it('starts the sidecar with the environment a sidecar process is best started with', () => {
    const out = injectManifest(readFixture('workloads.yaml'), injectionTemplate());
    const web = docs(out.yaml).find((d) => d.metadata.name === 'web' && d.kind === 'Deployment');
    const spec = podSpecOf(web!) as { initContainers?: { name: string; env?: unknown[] }[] };
    const proxy = spec.initContainers?.find((c) => c.name === 'ferry-proxy');
    for (const [name, value] of Object.entries(SIDECAR_PROCESS_ENV))
      assert.ok(
        proxy?.env?.some((e) => JSON.stringify(e) === JSON.stringify({ name, value })),
        `${name}=${value} in the sidecar's env`,
      );
  });

  it('native sidecars from Kubernetes 1.29', () => {
    assert.equal(supportsNativeSidecars('1.28'), false);
    assert.equal(supportsNativeSidecars('v1.28.9'), false);
    assert.equal(supportsNativeSidecars('1.29'), true);
    assert.equal(supportsNativeSidecars('v1.30.2-gke.1589020'), true);
    assert.equal(supportsNativeSidecars('2.0'), true);
    assert.throws(() => supportsNativeSidecars('latest'), /not MAJOR\.MINOR/);
  });

  it('a broken second document fails before the first is touched, naming document and line', () => {
    assert.throws(
      () => injectManifest('kind: Pod\n---\nkind: [Pod\n', injectionTemplate()),
      (e: unknown) => e instanceof InjectError && /^document 2 \(line \d+\)/.test(e.message),
    );
  });

  it('names the field of a workload without containers', () => {
    const bad =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  template:\n    spec: {containers: []}\n';
    assert.throws(
      () => injectManifest(bad, injectionTemplate()),
      /document 1: Deployment x: spec\.template\.spec\.containers: must be a non-empty list/,
    );
  });

  describe('the CLI', () => {
    let dir: string;
    let root: string;
    const pem =
      '-----BEGIN CERTIFICATE-----\nMIIBfDCCASOgAwIBAgIBATAKBggqhkjOPQQDAjAA\n-----END CERTIFICATE-----\n';
    before(async () => {
      dir = await mkdtemp(path.join(tmpdir(), 'ferry-inject-'));
      root = path.join(dir, 'root-cert.pem');
      await writeFile(root, pem);
    });
    after(() => rm(dir, { recursive: true, force: true }));

    it('-f - reads standard input and writes YAML to standard output', async () => {
      const r = await runCli('inject.js', 'runInject', ['-f', '-', '--ca-root', root], {
        stdin: readFixture('workloads.yaml'),
      });
      assert.equal(r.code, 0, r.stderr);
      const identity = { rootPem: pem, trustDomain: 'cluster.local' };
      assert.equal(
        r.stdout,
        injectManifest(readFixture('workloads.yaml'), injectionTemplate({ identity })).yaml,
      );
      assert.match(r.stderr, /left DaemonSet node-exporter alone: hostNetwork pod/);
      assert.match(r.stderr, /left Deployment legacy alone: ferry\.io\/inject is "false"/);
    });

    it('-f FILE -o FILE, classic sidecars for a 1.28 cluster', async () => {
      const input = path.join(dir, 'in.yaml');
      const output = path.join(dir, 'out.yaml');
      await writeFile(input, readFixture('workloads.yaml'));
      const r = await runCli('inject.js', 'runInject', [
        '-f',
        input,
        '-o',
        output,
        '--kube-version',
        'v1.28.3',
        '--xds',
        'cp.example:15012',
        '--ca-root',
        root,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '');
      const web = docs(await readFile(output, 'utf8')).find((d) => d.metadata.name === 'web')!;
      const spec = podSpecOf(web) as {
        initContainers: { name: string }[];
        containers: { name: string; args?: string[] }[];
      };
      assert.deepEqual(
        spec.initContainers.map((c) => c.name),
        ['ferry-init'],
      );
      assert.deepEqual(
        spec.containers.map((c) => c.name),
        ['ferry-proxy', 'web'],
      );
      assert.equal(spec.containers[0]!.args![2], 'cp.example:15012');
    });

    it('--ca-root: each sidecar gets the root and a token for --token-audience', async () => {
      const r = await runCli(
        'inject.js',
        'runInject',
        [
          '-f',
          '-',
          '--ca-root',
          root,
          '--token-audience',
          'ferry',
          '--trust-domain',
          'example.org',
        ],
        { stdin: readFixture('workloads.yaml') },
      );
      assert.equal(r.code, 0, r.stderr);
      const web = identityOf(docs(r.stdout).find((d) => d.metadata.name === 'web')!);
      assert.equal(web.root, pem);
      assert.equal(web.volume.projected.sources[0].serviceAccountToken.audience, 'ferry');
      assert.deepEqual(web.args.slice(-6), [...IDENTITY_FLAGS, 'example.org']);
    });

    it('refuses to make sidecars that cannot connect: no root, a line naming the flags (regression)', async () => {
      const r = await runCli('inject.js', 'runInject', ['-f', '-', '--token-audience', 'ferry'], {
        stdin: readFixture('workloads.yaml'),
      });
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(
        r.stderr,
        /^ferry: the sidecars need the mesh root to connect to ferry-control-plane\.ferry-system\.svc:15012: give --ca-root FILE .* or --from-cluster/,
      );
    });

    it('says what is wrong with a bad annotation, exit 1', async () => {
      const r = await runCli('inject.js', 'runInject', ['-f', '-', '--ca-root', root], {
        stdin:
          'kind: Pod\nmetadata:\n  name: p\n  annotations: {ferry.io/proxy-memory: lots}\nspec:\n  containers: [{name: a}]\n',
      });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /annotation ferry\.io\/proxy-memory: "lots" is not a Kubernetes quantity/,
      );
    });

    it("another mesh's sidecar: one line naming the workload and the flag, exit 1, no output", async () => {
      const r = await runCli('inject.js', 'runInject', ['-f', '-', '--ca-root', root], {
        stdin: `${readFixture('corpus/bookinfo.yaml')}---\n${readFixture('corpus/linkerd-injected.yaml')}`,
      });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, '');
      assert.equal(
        r.stderr,
        "ferry: document 5: Deployment emojivoto/web: another mesh: it has Linkerd's sidecar (initContainers linkerd-init); remove it, or give --skip-other-mesh to leave such workloads alone\n",
      );
    });

    it('--skip-other-mesh: the rest is injected, the meshed workload passes through with a warning', async () => {
      const r = await runCli(
        'inject.js',
        'runInject',
        ['-f', '-', '--ca-root', root, '--skip-other-mesh'],
        {
          stdin: `${readFixture('corpus/istio-injected.yaml')}---\n${readFixture('corpus/job.yaml')}`,
        },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /^ferry inject: warning: left Deployment productpage-v1 alone: another mesh: it has Istio's sidecar \(initContainers istio-init\)$/m,
      );
      const [productpage, job] = docs(r.stdout);
      assert.deepEqual(
        podSpecOf(productpage!).containers.map((c) => c.name),
        ['productpage', 'istio-proxy'],
      );
      assert.deepEqual(
        podSpecOf(job!).initContainers?.map((c) => c.name),
        ['ferry-init', 'ferry-proxy'],
      );
    });

    it("warns about other meshes' opt-outs and classic sidecars in Jobs; skips kube-system quietly", async () => {
      const r = await runCli(
        'inject.js',
        'runInject',
        ['-f', '-', '--ca-root', root, '--kube-version', '1.28'],
        {
          stdin: [
            readFixture('corpus/opt-outs.yaml'),
            readFixture('corpus/cronjob.yaml'),
            readFixture('corpus/kube-system.yaml'),
          ].join('---\n'),
        },
      );
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stderr.trim().split('\n');
      assert.ok(
        lines.includes(
          'ferry inject: warning: left Deployment istio-label-off alone: label sidecar.istio.io/inject is "false"; set ferry.io/inject: "true" to inject Ferry\'s',
        ),
        r.stderr,
      );
      assert.ok(
        lines.includes(
          'ferry inject: warning: left StatefulSet linkerd-off alone: annotation linkerd.io/inject is "disabled"; set ferry.io/inject: "true" to inject Ferry\'s',
        ),
        r.stderr,
      );
      assert.ok(
        lines.some((l) =>
          /^ferry inject: warning: CronJob nightly-report: classic sidecar .*POST http:\/\/127\.0\.0\.1:15000\/quitquitquit/.test(
            l,
          ),
        ),
        r.stderr,
      );
      assert.ok(
        lines.includes(
          "ferry inject: left Deployment coredns alone: namespace kube-system is the cluster's own",
        ),
        r.stderr,
      );
      assert.equal(lines.filter((l) => l.includes('kube-')).length, 4, r.stderr);
    });

    describe('--from-cluster', () => {
      let api: ReplayApiServer;
      let kubeconfig: string;
      const SECRET = '/api/v1/namespaces/mesh/secrets/ferry-ca-root';
      const CONFIG_MAP = '/api/v1/namespaces/mesh/configmaps/ferry-mesh';
      const DEPLOYMENT = '/apis/apps/v1/namespaces/mesh/deployments/ferry-control-plane';
      before(async () => {
        api = await ReplayApiServer.start();
        kubeconfig = path.join(dir, 'kubeconfig');
        await writeFile(kubeconfig, api.kubeConfig().exportConfig());
      });
      after(() => api.close());

      it('reads the root from the CA Secret, the trust domain from the mesh ConfigMap, the audience from the Deployment', async () => {
        api.route('GET', DEPLOYMENT, () => ({
          body: {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: 'ferry-control-plane', namespace: 'mesh' },
            spec: {
              selector: { matchLabels: { app: 'ferry' } },
              template: {
                spec: {
                  containers: [
                    {
                      name: 'control-plane',
                      args: [
                        'control-plane',
                        '--token-audience=ferry',
                        '--token-audience=istio-ca',
                      ],
                    },
                  ],
                },
              },
            },
          },
        }));
        api.route('GET', SECRET, () => ({
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: 'ferry-ca-root', namespace: 'mesh' },
            data: { 'ca.crt': Buffer.from(pem).toString('base64'), 'ca.key': 'c2VjcmV0' },
          },
        }));
        api.route('GET', CONFIG_MAP, () => ({
          body: {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: 'ferry-mesh', namespace: 'mesh' },
            data: { 'mesh.yaml': 'mesh:\n  trustDomain: example.org\nservices: []\n' },
          },
        }));
        const r = await runCli(
          'inject.js',
          'runInject',
          [
            '-f',
            '-',
            '--from-cluster',
            '--control-plane-namespace',
            'mesh',
            '--kubeconfig',
            kubeconfig,
          ],
          { stdin: readFixture('corpus/job.yaml') },
        );
        assert.equal(r.code, 0, r.stderr);
        const job = identityOf(docs(r.stdout)[0]!);
        assert.equal(job.root, pem);
        assert.equal(job.volume.projected.sources[0].serviceAccountToken.audience, 'ferry');
        assert.deepEqual(job.args.slice(-8), [
          ...IDENTITY_FLAGS,
          'example.org',
          '--control-plane-namespace',
          'mesh',
        ]);
        const auth = api.requests.filter((q) => q.path === SECRET).map((q) => q.authorization);
        assert.deepEqual(auth, [`Bearer ${TEST_TOKEN}`]);
      });

      it('a missing Secret is one line naming it and what to check, exit 2', async () => {
        api.route('GET', SECRET, () =>
          status(404, 'NotFound', 'secrets "ferry-ca-root" not found'),
        );
        const r = await runCli(
          'inject.js',
          'runInject',
          ['-f', '-', '--from-cluster', '--control-plane-namespace', 'mesh'],
          {
            stdin: readFixture('corpus/job.yaml'),
            env: { ...process.env, KUBECONFIG: kubeconfig },
          },
        );
        assert.equal(r.code, 2);
        assert.equal(
          r.stderr,
          'ferry: --from-cluster: cannot read Secret mesh/ferry-ca-root: HTTP 404: secrets "ferry-ca-root" not found (is Ferry installed in namespace mesh? --control-plane-namespace, --name-prefix)\n',
        );
      });
    });

    it('a missing -f is a usage error, exit 2', async () => {
      const r = await runCli('inject.js', 'runInject', []);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /-f FILE is required/);
    });
  });
});

describe('examples/kubernetes', () => {
  const EXAMPLES = new URL('../../../../examples/kubernetes/', import.meta.url);

  it('app.yaml and job.yaml inject: the workloads get sidecars, the rest passes through', async () => {
    for (const [file, expected] of [
      [
        'app.yaml',
        [
          'Namespace/shop: not a workload',
          'Deployment/reviews-v1: injected',
          'Service/reviews: not a workload',
        ],
      ],
      ['job.yaml', ['Job/migrate: injected']],
    ] as const) {
      const text = await readFile(new URL(file, EXAMPLES), 'utf8');
      const out = injectManifest(text, injectionTemplate());
      assert.deepEqual(
        out.objects.map((o) => `${o.kind}/${o.name}: ${o.injected ? 'injected' : o.reason}`),
        expected,
        file,
      );
    }
  });

  it('webhook.yaml is a MutatingWebhookConfiguration calling /inject on 15017', async () => {
    const [cfg] = docs(await readFile(new URL('webhook.yaml', EXAMPLES), 'utf8')) as unknown as {
      kind: string;
      webhooks: {
        clientConfig: { service: { path: string; port: number } };
        admissionReviewVersions: string[];
      }[];
    }[];
    assert.equal(cfg!.kind, 'MutatingWebhookConfiguration');
    for (const w of cfg!.webhooks) {
      assert.deepEqual(w.clientConfig.service.path, '/inject');
      assert.equal(w.clientConfig.service.port, 15017);
      assert.deepEqual(w.admissionReviewVersions, ['v1']);
    }
  });
});

describe('injectionTemplate', () => {
  it('refuses an xDS address that is not HOST:PORT', () => {
    assert.throws(
      () => injectionTemplate({ xdsAddress: 'ferry-control-plane' }),
      (e: unknown) =>
        e instanceof InjectError &&
        e.code === 'FERRY_INJECT_BAD_OPTION' &&
        /xDS address "ferry-control-plane" is not HOST:PORT/.test(e.message),
    );
    assert.equal(
      injectionTemplate({ xdsAddress: '[fd00::1]:15012' }).xdsAddress,
      '[fd00::1]:15012',
    );
  });
});

describe('null fields', () => {
  it('empty (null) initContainers and annotations are replaced, not extended (regression)', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\nspec:\n  initContainers:\n  containers: [{name: app}]\n';
    const out = injectManifest(text, injectionTemplate());
    const [pod] = docs(out.yaml) as unknown as {
      metadata: { annotations: Record<string, string> };
      spec: { initContainers: { name: string }[] };
    }[];
    assert.deepEqual(
      pod!.spec.initContainers.map((c) => c.name),
      ['ferry-init', 'ferry-proxy'],
    );
    assert.equal(pod!.metadata.annotations['kubectl.kubernetes.io/default-container'], 'app');
  });
});
