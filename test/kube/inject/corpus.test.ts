/**
 * Injection over a corpus of real-world manifests (test/kube/inject/fixtures/corpus/, in the
 * shapes Istio's and Linkerd's injector tests and samples use): every output is valid against
 * the Kubernetes API schemas, injecting twice is injecting once, workloads of other meshes
 * are refused, and nothing but the injected fields changes.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { DaemonSet, Deployment, ReplicaSet, StatefulSet } from 'kubernetes-models/apps/v1';
import { CronJob, Job } from 'kubernetes-models/batch/v1';
import {
  Pod,
  PodTemplateSpec,
  ReplicationController,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import {
  InjectError,
  type InjectionTemplate,
  injectionTemplate,
  injectManifest,
  readManifestDocuments,
} from '../../../src/kube/inject/index.js';
import { FIXTURES, readFixture } from './golden.js';
import { normalized, podTemplateOf, withoutInjection } from './injected-fields.js';

// biome-ignore lint/suspicious/noExplicitAny: manifests of any kind, checked field by field.
type Obj = Record<string, any>;

const ROOT_PEM =
  '-----BEGIN CERTIFICATE-----\nMIIBfDCCASOgAwIBAgIBATAKBggqhkjOPQQDAjAA\n-----END CERTIFICATE-----\n';
const IDENTITY = { rootPem: ROOT_PEM, trustDomain: 'cluster.local' };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'apps/v1/DaemonSet': DaemonSet,
  'apps/v1/ReplicaSet': ReplicaSet,
  'batch/v1/Job': Job,
  'batch/v1/CronJob': CronJob,
  'v1/Pod': Pod,
  'v1/ReplicationController': ReplicationController,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
};

/** Every object of the output against its API schema; OpenShift's kinds by their pod template. */
function validate(obj: Obj, where: string): void {
  if (obj.kind?.endsWith('List')) {
    const [group, version] = obj.apiVersion.includes('/')
      ? obj.apiVersion.split('/')
      : ['', obj.apiVersion];
    const kind = obj.kind === 'List' ? undefined : obj.kind.slice(0, -4);
    obj.items.forEach((item: Obj, i: number) => {
      // A typed list's items leave apiVersion and kind to the list.
      const typed = kind
        ? { apiVersion: group ? `${group}/${version}` : version, kind, ...item }
        : item;
      validate(typed, `${where} items[${i}]`);
    });
    return;
  }
  try {
    if (obj.kind === 'DeploymentConfig') {
      assert.equal(obj.apiVersion, 'apps.openshift.io/v1');
      new PodTemplateSpec(podTemplateOf(obj) as never).validate();
      return;
    }
    const Model = MODELS[`${obj.apiVersion}/${obj.kind}`];
    assert.ok(Model, `no schema for ${obj.apiVersion}/${obj.kind}`);
    new Model(obj as never).validate();
  } catch (e) {
    assert.fail(`${where}: ${obj.kind} ${obj.metadata?.name}: ${(e as Error).message}`);
  }
}

/** The documents as kubectl reads them (YAML 1.1), or as a YAML 1.2 reader does. */
function objects(yaml: string, reader: 'kubectl' | 'yaml-1.2' = 'kubectl'): Obj[] {
  const docs = reader === 'kubectl' ? readManifestDocuments(yaml) : parseAllDocuments(yaml);
  return (docs as ReturnType<typeof readManifestDocuments>)
    .map((d) => {
      assert.deepEqual(d.errors, []);
      return d.toJS({ maxAliasCount: 100 }) as Obj | null;
    })
    .filter((o): o is Obj => o !== null);
}

/** What each file gives: `Kind/name: injected` or `Kind/name: <why it was left alone>`. */
const EXPECTED: Record<string, readonly string[]> = {
  'bookinfo.yaml': [
    'Service/details: not a workload',
    'ServiceAccount/bookinfo-details: not a workload',
    'Deployment/details-v1: injected',
    'Deployment/reviews-v2: injected',
  ],
  'statefulset.yaml': ['Service/postgres: not a workload', 'StatefulSet/postgres: injected'],
  'daemonset.yaml': ['DaemonSet/fluent-bit: injected'],
  'job.yaml': ['Job/migrate-orders: injected'],
  'cronjob.yaml': ['CronJob/nightly-report: injected'],
  'replicaset.yaml': [
    'ReplicaSet/frontend: injected',
    'ReplicationController/redis-leader: injected',
  ],
  'pod.yaml': ['Pod/httpbin: injected'],
  'list.yaml': [
    'Deployment/ratings-v1: injected',
    'Service/ratings: not a workload',
    'Deployment/productpage-v1: injected',
  ],
  'deploymentconfig.yaml': ['DeploymentConfig/frontend: injected'],
  'opt-outs.yaml': [
    'Deployment/istio-label-off: label sidecar.istio.io/inject is "false"; set ferry.io/inject: "true" to inject Ferry\'s',
    'Deployment/istio-annotation-off: annotation sidecar.istio.io/inject is "false"; set ferry.io/inject: "true" to inject Ferry\'s',
    'StatefulSet/linkerd-off: annotation linkerd.io/inject is "disabled"; set ferry.io/inject: "true" to inject Ferry\'s',
    'Deployment/ferry-off: ferry.io/inject is "false"',
    'Deployment/leaving-istio: injected',
  ],
  'host-network.yaml': ['DaemonSet/node-exporter: hostNetwork pod'],
  'kube-system.yaml': [
    "Deployment/coredns: namespace kube-system is the cluster's own",
    "DaemonSet/kube-proxy: namespace kube-system is the cluster's own",
    "Job/lease-cleanup: namespace kube-node-lease is the cluster's own",
    "Pod/cluster-info-reader: namespace kube-public is the cluster's own",
  ],
  'yaml-1-1.yaml': ['Deployment/web: injected'],
  'istio-injected.yaml': [
    "Deployment/productpage-v1: another mesh: it has Istio's sidecar (initContainers istio-init)",
  ],
  'istio-custom.yaml': [
    "Deployment/custom-proxy: another mesh: it has Istio's sidecar (containers istio-proxy)",
  ],
  'istio-native.yaml': [
    "Pod/sleep: another mesh: it has Istio's sidecar (initContainers istio-proxy)",
  ],
  'linkerd-injected.yaml': [
    "Deployment/web: another mesh: it has Linkerd's sidecar (initContainers linkerd-init)",
  ],
};

const OTHER_MESH = new Set([
  'istio-injected.yaml',
  'istio-custom.yaml',
  'istio-native.yaml',
  'linkerd-injected.yaml',
]);

const CORPUS = readdirSync(new URL('corpus/', FIXTURES))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

const TEMPLATES: [string, InjectionTemplate][] = [
  ['native sidecars', injectionTemplate({ identity: IDENTITY })],
  ['classic sidecars', injectionTemplate({ identity: IDENTITY, nativeSidecar: false })],
  ['CNI capture', injectionTemplate({ identity: IDENTITY, capture: 'cni' })],
];

describe('ferry inject over a corpus of real-world manifests', () => {
  it('the corpus is the one the table describes', () => {
    assert.deepEqual(CORPUS, Object.keys(EXPECTED).sort());
  });

  for (const file of CORPUS) {
    describe(file, () => {
      const text = readFixture(`corpus/${file}`);
      const input = objects(text);

      if (OTHER_MESH.has(file)) {
        it('is refused: one line naming the workload and the other mesh', () => {
          assert.throws(
            () => injectManifest(text, TEMPLATES[0]![1]),
            (e: unknown) =>
              e instanceof InjectError &&
              e.code === 'FERRY_INJECT_OTHER_MESH' &&
              !e.message.includes('\n') &&
              /^document 1: \w+ [\w/-]+: another mesh: it has (Istio|Linkerd)'s sidecar/.test(
                e.message,
              ),
          );
        });
      }

      for (const [label, template] of TEMPLATES) {
        it(`${label}: valid, idempotent, and nothing but the injected fields changed`, () => {
          const out = injectManifest(text, template, { otherMesh: 'skip' });
          assert.deepEqual(
            out.objects.map((o) => `${o.kind}/${o.name}: ${o.injected ? 'injected' : o.reason}`),
            EXPECTED[file],
          );
          assert.doesNotMatch(out.yaml, /(^|\s)[&*][a-z]\w*(\s|$)/m, 'no anchors or aliases');
          const output = objects(out.yaml);
          assert.equal(output.length, input.length);
          output.forEach((o, i) => {
            validate(o, `${file} document ${i + 1}`);
            assert.deepEqual(
              withoutInjection(o, input[i]!),
              normalized(input[i]!),
              `${file} document ${i + 1}: only injected fields may change`,
            );
          });
          // YAML 1.2 readers (Helm, kustomize, yq) read the same objects as kubectl.
          assert.deepEqual(objects(out.yaml, 'yaml-1.2'), output);
          const again = injectManifest(out.yaml, template, { otherMesh: 'skip' });
          assert.equal(again.yaml, out.yaml, 'injecting twice is injecting once');
          assert.ok(again.objects.every((o) => !o.injected));
        });
      }
    });
  }

  it('reads YAML as kubectl does: octal modes, merge keys, strings that look like times', () => {
    const [web] = objects(
      injectManifest(readFixture('corpus/yaml-1-1.yaml'), TEMPLATES[0]![1]).yaml,
    );
    const spec = web!.spec.template.spec;
    assert.deepEqual(
      spec.volumes.map((v: Obj) => v.secret?.defaultMode ?? v.configMap?.defaultMode),
      [0o400, 0o755, undefined],
    );
    assert.equal(spec.volumes[1].configMap.items[0].mode, 0o755);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.enableServiceLinks, false);
    const worker = spec.containers.find((c: Obj) => c.name === 'worker');
    assert.equal(worker.image, 'example.com/web:1', 'merged from the anchored container');
    assert.deepEqual(worker.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
    });
    assert.equal(spec.containers.find((c: Obj) => c.name === 'web').ports[0].containerPort, 8080);
    assert.deepEqual(web!.metadata.annotations, {
      'deployed-on': '2026-12-05',
      'maintenance-window': '03:30',
    });
    assert.deepEqual(
      spec.containers[spec.containers.length - 1].env.map((e: Obj) => e.value),
      ['0644', 'yes', '1_000'],
    );
    const [cron] = objects(
      injectManifest(readFixture('corpus/cronjob.yaml'), TEMPLATES[0]![1]).yaml,
    );
    assert.deepEqual(cron!.spec.jobTemplate.spec.template.spec.containers.at(-1).args, [
      '--since',
      '24h',
      '--at',
      '03:00',
    ]);
  });

  it('writes 0644 as 420, which the API server accepts (regression: written back as 644)', () => {
    const out = injectManifest(readFixture('corpus/statefulset.yaml'), TEMPLATES[0]![1]).yaml;
    assert.match(out, /defaultMode: 420\n/);
    assert.doesNotMatch(out, /defaultMode: 0?644/);
  });

  it('warns about Jobs and CronJobs that get classic sidecars, not native ones', () => {
    for (const file of ['job.yaml', 'cronjob.yaml']) {
      const classic = injectManifest(readFixture(`corpus/${file}`), TEMPLATES[1]![1]);
      assert.match(
        classic.objects[0]!.warnings.join(),
        /POST http:\/\/127\.0\.0\.1:15000\/quitquitquit/,
      );
      const native = injectManifest(readFixture(`corpus/${file}`), TEMPLATES[0]![1]);
      assert.deepEqual(native.objects[0]!.warnings, []);
    }
    const deployment = injectManifest(readFixture('corpus/bookinfo.yaml'), TEMPLATES[1]![1]);
    assert.ok(deployment.objects.every((o) => o.warnings.length === 0));
  });
});
