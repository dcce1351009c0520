/**
 * The webhook's decisions, golden: each AdmissionReview request under
 * test/kube/inject/fixtures/<case>.review.json gives the response (patch decoded) in
 * <case>.response.json.
 */
import assert from 'node:assert/strict';
import { Pod } from 'kubernetes-models/v1';
import {
  applyPatch,
  CA_ROOT_ANNOTATION,
  IDENTITY_MOUNT,
  injectionTemplate,
  type PodTemplate,
  type StringMap,
  type TemplateOptions,
} from '../../../src/kube/inject/index.js';
import { AdmissionError, admissionResponse } from '../../../src/kube/webhook/index.js';
import { expectGoldenJson, readFixture } from '../inject/golden.js';

const ENABLED: StringMap = { 'ferry-injection': 'enabled', 'kubernetes.io/metadata.name': 'shop' };
const PLAIN: StringMap = { 'kubernetes.io/metadata.name': 'shop' };
const XDS = 'ferry-control-plane.ferry-system.svc:15012';
/** Carried as text (an annotation): any PEM-shaped text will do for the golden file. */
const ROOT_PEM =
  '-----BEGIN CERTIFICATE-----\nMIIBfDCCASOgAwIBAgIBATAKBggqhkjOPQQDAjAA\n-----END CERTIFICATE-----\n';
const IDENTITY = { rootPem: ROOT_PEM, trustDomain: 'cluster.local', tokenAudience: 'ferry' };

interface Case {
  readonly name: string;
  readonly what: string;
  readonly template?: TemplateOptions;
  readonly namespaceLabels?: StringMap;
  readonly injected: boolean;
  /** What the AdmissionReview's warnings must say (kubectl shows them to the user). */
  readonly warning?: RegExp;
}

const CASES: Case[] = [
  {
    name: 'namespace-enabled',
    what: 'a pod of a labelled namespace gets a native sidecar',
    namespaceLabels: ENABLED,
    injected: true,
  },
  {
    name: 'classic-sidecar',
    what: 'before 1.29: a first container held by postStart',
    template: { nativeSidecar: false },
    namespaceLabels: ENABLED,
    injected: true,
  },
  {
    name: 'annotation-opt-in',
    what: 'ferry.io/inject "true" opts in outside a labelled namespace',
    namespaceLabels: PLAIN,
    injected: true,
  },
  {
    name: 'namespace-not-enabled',
    what: 'a pod of an unlabelled namespace is left alone',
    namespaceLabels: PLAIN,
    injected: false,
  },
  {
    name: 'annotation-opt-out',
    what: 'ferry.io/inject "false" opts out of a labelled namespace',
    namespaceLabels: ENABLED,
    injected: false,
  },
  {
    name: 'already-injected',
    what: 'an injected pod is never injected twice',
    namespaceLabels: ENABLED,
    injected: false,
  },
  {
    name: 'host-network',
    what: 'a hostNetwork pod is left alone',
    namespaceLabels: ENABLED,
    injected: false,
  },
  {
    name: 'annotations',
    what: 'image, log level, resources, excluded ports and CIDRs from annotations',
    namespaceLabels: ENABLED,
    injected: true,
  },
  {
    name: 'existing-init-containers',
    what: 'existing init containers and annotations are added to, not replaced',
    namespaceLabels: ENABLED,
    injected: true,
  },
  {
    name: 'job-pod',
    what: "a Job's pod: the native sidecar ends with the app",
    namespaceLabels: ENABLED,
    injected: true,
  },
  {
    name: 'cni-capture',
    what: 'CNI capture: no ferry-init container',
    template: { capture: 'cni' },
    namespaceLabels: ENABLED,
    injected: true,
  },
  {
    name: 'mesh-identity',
    what: 'in cluster: the root (annotation → downward API) and a projected token, mounted for --ca-root and --token-file',
    template: { identity: IDENTITY },
    namespaceLabels: ENABLED,
    injected: true,
  },
  {
    name: 'bad-annotation',
    what: 'a bad annotation value refuses the pod, naming the annotation',
    namespaceLabels: ENABLED,
    injected: false,
  },
  {
    name: 'malformed-pod',
    what: 'a pod without containers is refused with the field named',
    namespaceLabels: ENABLED,
    injected: false,
  },
  {
    name: 'pod-update',
    what: 'an UPDATE is allowed untouched',
    namespaceLabels: ENABLED,
    injected: false,
  },
  {
    name: 'istio-sidecar',
    what: "a pod with Istio's sidecar is allowed unchanged, and told why",
    namespaceLabels: ENABLED,
    injected: false,
    warning:
      /^ferry: no sidecar injected: another mesh: it has Istio's sidecar \(initContainers istio-init\)$/,
  },
  {
    name: 'linkerd-sidecar',
    what: "a pod with Linkerd's sidecar is allowed unchanged, and told why",
    namespaceLabels: ENABLED,
    injected: false,
    warning: /another mesh: it has Linkerd's sidecar \(initContainers linkerd-init\)/,
  },
  {
    name: 'istio-opt-out',
    what: 'the label sidecar.istio.io/inject "false" is honoured, with a warning',
    namespaceLabels: ENABLED,
    injected: false,
    warning: /label sidecar\.istio\.io\/inject is "false"; set ferry\.io\/inject: "true"/,
  },
  {
    name: 'linkerd-opt-out',
    what: 'the annotation linkerd.io/inject: disabled is honoured, with a warning',
    namespaceLabels: ENABLED,
    injected: false,
    warning: /annotation linkerd\.io\/inject is "disabled"/,
  },
  {
    name: 'leaving-istio',
    what: 'Istio\'s injection off and ferry.io/inject "true": Ferry injects',
    namespaceLabels: PLAIN,
    injected: true,
  },
  {
    name: 'kube-system',
    what: "the cluster's own namespaces are skipped even if a configuration sends them",
    namespaceLabels: { ...ENABLED, 'kubernetes.io/metadata.name': 'kube-system' },
    injected: false,
  },
  {
    name: 'classic-job-pod',
    what: "a Job's pod with a classic sidecar is injected with a warning about /quitquitquit",
    template: { nativeSidecar: false },
    namespaceLabels: ENABLED,
    injected: true,
    warning:
      /^ferry: classic sidecar in a pod that runs to completion: .*POST http:\/\/127\.0\.0\.1:15000\/quitquitquit/,
  },
];

function decode(response: { patch?: string }): unknown {
  return response.patch === undefined
    ? undefined
    : JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8'));
}

describe('injection webhook: AdmissionReview → JSON patch (golden)', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.what}`, () => {
      const review = JSON.parse(readFixture(`${c.name}.review.json`));
      const template = injectionTemplate({ xdsAddress: XDS, ...c.template });
      const result = admissionResponse(review, { template, namespaceLabels: c.namespaceLabels });
      const response = result.review.response;
      assert.equal(response.uid, review.request.uid, 'uid echoed');
      assert.equal(result.review.apiVersion, 'admission.k8s.io/v1');
      assert.equal(result.review.kind, 'AdmissionReview');
      assert.equal(response.patch !== undefined, c.injected);
      if (c.injected) {
        assert.equal(response.patchType, 'JSONPatch');
        assert.deepEqual(decode(response), result.patch);
      }
      if (c.warning) {
        assert.equal(response.allowed, true, 'a warning never refuses the pod');
        assert.equal(response.warnings?.length, 1, JSON.stringify(response.warnings));
        assert.match(response.warnings![0]!, c.warning);
        // The API server truncates longer warnings (k8s.io/apiserver/pkg/warning).
        assert.ok(response.warnings![0]!.length <= 256, `${response.warnings![0]!.length} chars`);
      } else assert.equal(response.warnings, undefined);
      expectGoldenJson(`${c.name}.response.json`, {
        ...response,
        patch: decode(response),
        reason: result.reason,
      });
    });
  }

  it('the patch applies to the pod, and the patched pod is not injected again', () => {
    const review = JSON.parse(readFixture('existing-init-containers.review.json'));
    const template = injectionTemplate({ xdsAddress: XDS });
    const { patch } = admissionResponse(review, { template, namespaceLabels: ENABLED });
    const pod = applyPatch(review.request.object, patch) as PodTemplate;
    assert.deepEqual(
      pod.spec.initContainers?.map((c) => c.name),
      ['ferry-init', 'ferry-proxy', 'migrate'],
    );
    assert.equal(pod.spec.initContainers?.[1]?.restartPolicy, 'Always');
    assert.deepEqual(
      pod.spec.containers.map((c) => c.name),
      ['reviews'],
    );
    assert.equal(pod.metadata?.annotations?.['prometheus.io/scrape'], 'true');
    const again = admissionResponse(
      { ...review, request: { ...review.request, object: pod } },
      { template, namespaceLabels: ENABLED },
    );
    assert.equal(again.review.response.allowed, true);
    assert.equal(again.review.response.patch, undefined);
    assert.equal(again.reason, 'already injected');
  });

  it('mesh identity: the patched pod is a valid Pod whose sidecar reads the root and token it mounts', () => {
    const review = JSON.parse(readFixture('mesh-identity.review.json'));
    const template = injectionTemplate({ xdsAddress: XDS, identity: IDENTITY });
    const { patch } = admissionResponse(review, { template, namespaceLabels: ENABLED });
    const pod = applyPatch(review.request.object, patch) as PodTemplate & {
      apiVersion: string;
      kind: string;
    };
    new Pod(pod as never).validate();
    assert.equal(pod.metadata?.annotations?.[CA_ROOT_ANNOTATION], ROOT_PEM);
    const volumes = pod.spec.volumes as { name: string; projected?: { sources: object[] } }[];
    assert.deepEqual(
      volumes.map((v) => v.name),
      ['config', 'ferry-identity'],
      'the pod’s own volume kept',
    );
    assert.deepEqual(volumes[1]?.projected?.sources, [
      { serviceAccountToken: { path: 'token', expirationSeconds: 43200, audience: 'ferry' } },
      {
        downwardAPI: {
          items: [
            {
              path: 'root-cert.pem',
              fieldRef: { fieldPath: `metadata.annotations['${CA_ROOT_ANNOTATION}']` },
            },
          ],
        },
      },
    ]);
    const proxy = pod.spec.initContainers?.find((c) => c.name === 'ferry-proxy') as unknown as {
      args: string[];
      volumeMounts: { name: string; mountPath: string }[];
    };
    const flag = (name: string) => proxy.args[proxy.args.indexOf(name) + 1];
    assert.equal(flag('--ca-root'), `${IDENTITY_MOUNT}/root-cert.pem`);
    assert.equal(flag('--token-file'), `${IDENTITY_MOUNT}/token`);
    assert.equal(flag('--trust-domain'), 'cluster.local');
    assert.deepEqual(proxy.volumeMounts, [
      { name: 'ferry-identity', mountPath: IDENTITY_MOUNT, readOnly: true },
    ]);
    const app = pod.spec.containers[0] as { volumeMounts?: { name: string }[] };
    assert.deepEqual(
      app.volumeMounts?.map((m) => m.name),
      ['config'],
      'the app does not see the token',
    );
  });

  it('classic mode: the sidecar is first, so its postStart holds the app', () => {
    const review = JSON.parse(readFixture('classic-sidecar.review.json'));
    const template = injectionTemplate({ xdsAddress: XDS, nativeSidecar: false });
    const { patch } = admissionResponse(review, { template, namespaceLabels: ENABLED });
    const pod = applyPatch(review.request.object, patch) as PodTemplate;
    assert.deepEqual(
      pod.spec.containers.map((c) => c.name),
      ['ferry-proxy', 'reviews'],
    );
    assert.deepEqual(
      pod.spec.initContainers?.map((c) => c.name),
      ['ferry-init'],
    );
    const hook = (
      pod.spec.containers[0] as { lifecycle?: { postStart?: { exec?: { command?: string[] } } } }
    ).lifecycle?.postStart?.exec?.command;
    assert.match(hook?.[2] ?? '', /127\.0\.0\.1:15021\/healthz\/ready/);
  });

  it('without namespace labels, trusts the webhook configuration to have selected the namespace', () => {
    const review = JSON.parse(readFixture('namespace-not-enabled.review.json'));
    const template = injectionTemplate({ xdsAddress: XDS });
    const result = admissionResponse(review, { template });
    assert.notEqual(result.review.response.patch, undefined);
  });

  it('a namespace labelled disabled wins over the pod annotation', () => {
    const review = JSON.parse(readFixture('annotation-opt-in.review.json'));
    const template = injectionTemplate({ xdsAddress: XDS });
    const result = admissionResponse(review, {
      template,
      namespaceLabels: { 'ferry-injection': 'disabled' },
    });
    assert.equal(result.review.response.patch, undefined);
    assert.match(result.reason ?? '', /disabled/);
  });

  const malformed: [string, unknown, RegExp][] = [
    ['not an object', 'hello', /not a JSON object/],
    ['wrong kind', { apiVersion: 'admission.k8s.io/v1', kind: 'Pod' }, /kind is "Pod"/],
    [
      'v1beta1',
      { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: {} },
      /apiVersion is "admission\.k8s\.io\/v1beta1"/,
    ],
    [
      'no request',
      { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
      /request is missing/,
    ],
    [
      'no uid',
      {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: { kind: { kind: 'Pod' } },
      },
      /request\.uid/,
    ],
  ];
  for (const [what, review, message] of malformed) {
    it(`a malformed review (${what}) is a clear AdmissionError`, () => {
      assert.throws(
        () => admissionResponse(review, { template: injectionTemplate() }),
        (err: unknown) =>
          err instanceof AdmissionError &&
          err.code === 'FERRY_ADMISSION_MALFORMED' &&
          message.test(err.message),
      );
    });
  }
});
