/**
 * The Helm chart, rendered by a real template engine (tools/helm-render, and Helm itself when
 * it is on PATH) with default values and with overrides; every rendered object is validated
 * against the Kubernetes API schemas (kubernetes-models) and checked for what matters: the
 * ports sidecars and the API server use, least-privilege RBAC, the webhook's selectors, the
 * PodDisruptionBudget, the mesh config and the dashboards.
 */
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { ConfigMap, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { parse, parseAllDocuments } from 'yaml';
import { parseCniInstallArgs } from '../../src/cli/cni-install.js';
import { type ControlPlaneArgs, parseControlPlaneArgs } from '../../src/cli/control-plane-args.js';
import { CHART_DIR, findRenderers, REPO_ROOT, type Renderer } from './renderers.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered objects are checked field by field.
type K8sObject = Record<string, any>;

/**
 * The Prometheus Operator's ServiceMonitor is a CRD that kubernetes-models does not have:
 * the fields the operator requires (monitoring.coreos.com/v1 API reference), checked here.
 */
class ServiceMonitorModel {
  constructor(private readonly o: K8sObject) {}
  validate(): void {
    const { spec, metadata } = this.o;
    assert.ok(metadata?.name && metadata.namespace, 'metadata.name and namespace');
    assert.ok(spec?.selector?.matchLabels, 'spec.selector.matchLabels');
    assert.ok(Array.isArray(spec.endpoints) && spec.endpoints.length > 0, 'spec.endpoints');
    for (const e of spec.endpoints) {
      assert.equal(typeof e.port, 'string', 'endpoints[].port names a Service port');
      assert.match(e.interval, /^(\d+(ms|s|m|h))+$/, 'endpoints[].interval is a duration');
    }
  }
}

/** Each kind the chart may render, with its API schema. Anything else fails the test. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'apps/v1/DaemonSet': DaemonSet,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitorModel,
};

const NAMESPACE = 'ferry-system';
const BASE_ARGS = ['ferry', CHART_DIR, '--namespace', NAMESPACE, '--kube-version', '1.30.0'];

/** Parses `helm template` output and validates every object against its API schema. */
function parseRendered(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    assert.deepEqual(doc.errors, [], `rendered YAML does not parse: ${doc.errors.join('; ')}`);
    const obj = doc.toJS() as K8sObject | null;
    if (obj === null) continue;
    const key = `${obj.apiVersion}/${obj.kind}`;
    const Model = MODELS[key];
    assert.ok(Model, `unexpected kind ${key} (${obj.metadata?.name})`);
    try {
      new Model(obj as never).validate();
    } catch (e) {
      assert.fail(`${key} ${obj.metadata?.name} is not a valid object: ${(e as Error).message}`);
    }
    objects.push(obj);
  }
  return objects;
}

function find(objects: K8sObject[], kind: string, name?: string): K8sObject {
  const found = objects.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
  assert.equal(found.length, 1, `expected one ${kind} ${name ?? ''}, found ${found.length}`);
  return found[0];
}

/**
 * The control plane container's args as `ferry control-plane` (the image's entrypoint is
 * `ferry`) receives them: $(VAR) expanded from the container's env as the kubelet does, then
 * parsed by the CLI's own parser, which throws on any flag it does not accept.
 */
function controlPlaneArgs(objects: K8sObject[], name = 'ferry-control-plane'): ControlPlaneArgs {
  const c = find(objects, 'Deployment', name).spec.template.spec.containers[0];
  const fieldValues: Record<string, string> = {
    'metadata.namespace': NAMESPACE,
    'metadata.name': 'ferry-control-plane-5d8c7b9f4-abcde',
  };
  const env = new Map<string, string>();
  for (const e of c.env as K8sObject[])
    env.set(e.name, e.value ?? fieldValues[e.valueFrom?.fieldRef?.fieldPath] ?? '');
  const args = (c.args as string[]).map((a) =>
    a.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string) => env.get(name) ?? whole),
  );
  assert.equal(args[0], 'control-plane');
  for (const a of args)
    assert.doesNotMatch(a, /\$\(/, `${a}: a variable the container does not define`);
  return parseControlPlaneArgs(args.slice(1));
}

/**
 * Objects as two renderers should agree on them: sorted, and without the mesh checksum
 * (a hash of rendered text, which differs with the YAML emitter's line style).
 */
function comparable(objects: K8sObject[]): K8sObject[] {
  return structuredClone(objects)
    .map((o) => {
      delete o.spec?.template?.metadata?.annotations?.['checksum/mesh'];
      return o;
    })
    .sort((a, b) => {
      const ka = `${a.kind}/${a.metadata.name}`;
      const kb = `${b.kind}/${b.metadata.name}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
}

async function dashboardFiles(chartDir: string): Promise<string[]> {
  try {
    return (await readdir(path.join(chartDir, 'dashboards'))).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
}

describe('Helm chart helm/ferry', function () {
  this.timeout(120_000);
  let renderers: Renderer[] = [];
  let tmp: string;

  before(async function () {
    const found = await findRenderers();
    renderers = found.renderers;
    for (const why of found.missing) console.log(`    (renderer not used: ${why})`);
    if (renderers.length === 0) {
      const reason = `no chart renderer: ${found.missing.join('; ')}`;
      if (process.env.CI) throw new Error(`${reason} (CI must install golang-go and sprig)`);
      console.log(`    (skipped: ${reason})`);
      this.skip();
    }
    tmp = await mkdtemp(path.join(tmpdir(), 'ferry-chart-'));
  });

  after(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  /** Renders with every renderer; they must agree object for object. */
  async function render(...extra: string[]): Promise<K8sObject[]> {
    let first: K8sObject[] | undefined;
    for (const r of renderers) {
      const objects = parseRendered(await r.render([...BASE_ARGS, ...extra]));
      if (first)
        assert.deepEqual(comparable(objects), comparable(first), `${r.name} renders differently`);
      first ??= objects;
    }
    return first ?? [];
  }

  describe('with default values', () => {
    let objects: K8sObject[];
    before(async () => {
      objects = await render();
    });

    it('renders only objects valid against the Kubernetes API schemas, each named once', () => {
      const kinds = objects.map((o) => o.kind).sort();
      for (const kind of [
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        'Deployment',
        'MutatingWebhookConfiguration',
        'Role',
        'RoleBinding',
        'Secret',
        'Service',
        'ServiceAccount',
      ])
        assert.ok(kinds.includes(kind), `no ${kind} rendered`);
      const ids = objects.map((o) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);
      assert.equal(new Set(ids).size, ids.length, `duplicate objects: ${ids.join(', ')}`);
      for (const o of objects) {
        if (o.kind.startsWith('Cluster') || o.kind === 'MutatingWebhookConfiguration')
          assert.equal(o.metadata.namespace, undefined, `${o.kind} is cluster-scoped`);
        else assert.equal(o.metadata.namespace, NAMESPACE, `${o.kind} ${o.metadata.name}`);
        assert.equal(o.metadata.labels['app.kubernetes.io/managed-by'], 'Helm');
      }
    });

    it('Service: 15010 grpc-xds, 15012 https-xds, 15014 http-monitoring, 15017 https-webhook', () => {
      // The injector's default xDS address is ferry-control-plane.ferry-system.svc:15012.
      const svc = find(objects, 'Service', 'ferry-control-plane');
      const ports = svc.spec.ports.map((p: K8sObject) => `${p.name}=${p.port}->${p.targetPort}`);
      assert.deepEqual(ports, [
        'grpc-xds=15010->grpc-xds',
        'https-xds=15012->https-xds',
        'http-monitoring=15014->http-monitoring',
        'https-webhook=15017->https-webhook',
      ]);
      const dep = find(objects, 'Deployment', 'ferry-control-plane');
      const c = dep.spec.template.spec.containers[0];
      const containerPorts = Object.fromEntries(
        c.ports.map((p: K8sObject) => [p.name, p.containerPort]),
      );
      assert.deepEqual(containerPorts, {
        'grpc-xds': 15010,
        'https-xds': 15012,
        'http-monitoring': 15014,
        'https-webhook': 15017,
      });
      // The Service selects exactly the Deployment's pods.
      assert.deepEqual(svc.spec.selector, dep.spec.selector.matchLabels);
      assert.deepEqual(
        Object.fromEntries(
          Object.entries(dep.spec.template.metadata.labels).filter(([k]) => k in svc.spec.selector),
        ),
        svc.spec.selector,
      );
    });

    it('Deployment: one replica, probes on /healthz:15014, resources, soft anti-affinity, no PDB', () => {
      const dep = find(objects, 'Deployment', 'ferry-control-plane');
      assert.equal(dep.spec.replicas, 1);
      const pod = dep.spec.template;
      assert.equal(pod.metadata.annotations['ferry.io/inject'], 'false', 'never inject itself');
      assert.equal(pod.spec.serviceAccountName, 'ferry-control-plane');
      const c = pod.spec.containers[0];
      assert.equal(c.image, 'ghcr.io/ferry-mesh/ferry:0.1.0', 'tag defaults to appVersion');
      for (const probe of [c.readinessProbe, c.livenessProbe])
        assert.deepEqual(probe.httpGet, { path: '/healthz', port: 15014 });
      assert.deepEqual(c.resources, {
        requests: { cpu: '100m', memory: '256Mi' },
        limits: { memory: '1Gi' },
      });
      assert.ok(
        pod.spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution,
        'soft anti-affinity by default',
      );
      assert.ok(c.args.includes('--config=/etc/ferry/mesh/mesh.yaml'));
      assert.ok(c.args.includes('--kubernetes'));
      assert.equal(
        objects.filter((o) => o.kind === 'PodDisruptionBudget').length,
        0,
        'a PDB over one replica would block node drains',
      );
    });

    it('the control plane’s args are flags `ferry control-plane` accepts, meaning what the chart says', () => {
      const parsed = controlPlaneArgs(objects);
      const o = parsed.options;
      assert.equal(parsed.config, '/etc/ferry/mesh/mesh.yaml');
      assert.equal(o.host, '0.0.0.0');
      assert.deepEqual([o.xdsPort, o.securePort, o.httpPort], [15010, 15012, 15014]);
      assert.equal(o.namespace, NAMESPACE);
      assert.equal(o.serviceName, 'ferry-control-plane', 'the Service the chart creates');
      assert.deepEqual(o.webhook, {
        port: 15017,
        config: 'ferry-sidecar-injector',
        template: {
          image: 'ghcr.io/ferry-mesh/ferry:0.1.0',
          logLevel: 'info',
          capture: 'init',
          cpu: '100m',
          memory: '128Mi',
        },
      });
      assert.equal(o.caDir, undefined);
      // In the pod the API server is reached with the in-cluster configuration.
      assert.deepEqual(parsed.kubernetes, {
        kubeconfig: undefined,
        settings: {
          discovery: true,
          caSecret: 'ferry-ca-root',
          tokenReview: true,
          tokenAudiences: [],
        },
      });
      const service = find(objects, 'Service', 'ferry-control-plane');
      const mwc = find(objects, 'MutatingWebhookConfiguration', 'ferry-sidecar-injector');
      for (const w of mwc.webhooks) {
        assert.equal(w.clientConfig.service.name, o.serviceName);
        assert.equal(w.clientConfig.service.port, o.webhook?.port);
      }
      assert.ok(service.spec.ports.some((p: K8sObject) => p.port === o.webhook?.port));
    });

    it('RBAC is least privilege: read-only discovery, tokenreviews, the one webhook and Secret', () => {
      const cr = find(objects, 'ClusterRole', 'ferry-control-plane');
      const granted = new Set<string>();
      for (const rule of cr.rules)
        for (const group of rule.apiGroups)
          for (const resource of rule.resources)
            for (const verb of rule.verbs)
              granted.add(
                `${group || 'core'}/${resource}:${verb}${rule.resourceNames ? `@${rule.resourceNames.join('+')}` : ''}`,
              );
      // Exactly what the control plane does (src/controlplane/kubernetes): informers list and
      // watch, Gateway API statuses are written, TokenReview creates, the caBundle is read
      // and JSON-patched.
      assert.deepEqual(
        [...granted].sort(),
        [
          'admissionregistration.k8s.io/mutatingwebhookconfigurations:get@ferry-sidecar-injector',
          'admissionregistration.k8s.io/mutatingwebhookconfigurations:patch@ferry-sidecar-injector',
          'authentication.k8s.io/tokenreviews:create',
          'core/namespaces:list',
          'core/namespaces:watch',
          'core/pods:list',
          // Gateway certificateRefs: kubernetes.io/tls Secrets in any namespace (asked for
          // with a type field selector, which RBAC cannot express); no get.
          'core/secrets:list',
          'core/secrets:watch',
          'core/pods:watch',
          'core/services:list',
          'core/services:watch',
          'discovery.k8s.io/endpointslices:list',
          'discovery.k8s.io/endpointslices:watch',
          ...[
            'gatewayclasses',
            'gateways',
            'grpcroutes',
            'httproutes',
            'referencegrants',
            'tcproutes',
            'tlsroutes',
          ].flatMap((r) =>
            ['get', 'list', 'watch'].map((v) => `gateway.networking.k8s.io/${r}:${v}`),
          ),
          ...[
            'gatewayclasses',
            'gateways',
            'grpcroutes',
            'httproutes',
            'tcproutes',
            'tlsroutes',
          ].flatMap((r) =>
            ['patch', 'update'].map((v) => `gateway.networking.k8s.io/${r}/status:${v}`),
          ),
        ].sort(),
      );
      for (const rule of cr.rules) {
        assert.ok(!rule.verbs.includes('*') && !rule.resources.includes('*'), 'no wildcards');
        // Secrets outside the namespace are only listed and watched (Gateway certificates,
        // src/controlplane/kubernetes/tls-secret-source.ts): never changed or created.
        if (rule.resources.includes('secrets'))
          assert.deepEqual(rule.verbs, ['list', 'watch'], 'Secrets cluster-wide: read only');
      }
      const role = find(objects, 'Role', 'ferry-control-plane');
      // Read and fill the one CA Secret by name; create cannot be limited by name.
      assert.deepEqual(role.rules, [
        {
          apiGroups: [''],
          resources: ['secrets'],
          resourceNames: ['ferry-ca-root'],
          verbs: ['get', 'update'],
        },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ]);
      for (const kind of ['ClusterRoleBinding', 'RoleBinding']) {
        const b = find(objects, kind, 'ferry-control-plane');
        assert.equal(b.roleRef.name, 'ferry-control-plane');
        assert.deepEqual(b.subjects, [
          { kind: 'ServiceAccount', name: 'ferry-control-plane', namespace: NAMESPACE },
        ]);
      }
    });

    it('webhook: namespace label or pod label opt-in, ferry.io/inject=false opt-out, CA bundle left to the control plane', () => {
      const mwc = find(objects, 'MutatingWebhookConfiguration', 'ferry-sidecar-injector');
      assert.match(mwc.metadata.annotations['ferry.io/ca-bundle'], /managed by the control plane/);
      const [byNamespace, byObject] = mwc.webhooks;
      for (const w of mwc.webhooks) {
        assert.deepEqual(w.clientConfig, {
          service: {
            name: 'ferry-control-plane',
            namespace: NAMESPACE,
            path: '/inject',
            port: 15017,
          },
        });
        assert.equal(w.clientConfig.caBundle, undefined, 'the control plane fills caBundle');
        assert.equal(w.failurePolicy, 'Fail');
        assert.equal(w.sideEffects, 'None');
        assert.deepEqual(w.admissionReviewVersions, ['v1']);
        assert.deepEqual(w.rules[0].operations, ['CREATE']);
        assert.deepEqual(w.rules[0].resources, ['pods']);
        const excluded = w.namespaceSelector.matchExpressions.find(
          (e: K8sObject) => e.key === 'kubernetes.io/metadata.name',
        );
        assert.deepEqual(excluded, {
          key: 'kubernetes.io/metadata.name',
          operator: 'NotIn',
          values: [NAMESPACE, 'kube-system', 'kube-public', 'kube-node-lease'],
        });
      }
      assert.equal(byNamespace.name, 'namespace.ferry.io');
      assert.deepEqual(byNamespace.namespaceSelector.matchLabels, { 'ferry-injection': 'enabled' });
      assert.deepEqual(byNamespace.objectSelector, {
        matchExpressions: [{ key: 'ferry.io/inject', operator: 'NotIn', values: ['false'] }],
      });
      assert.equal(byObject.name, 'object.ferry.io');
      assert.deepEqual(byObject.namespaceSelector.matchExpressions[0], {
        key: 'ferry-injection',
        operator: 'DoesNotExist',
      });
      assert.deepEqual(byObject.objectSelector, { matchLabels: { 'ferry.io/inject': 'true' } });
    });

    it('CA root Secret: created empty, kept on uninstall, filled by the control plane', () => {
      const secret = find(objects, 'Secret', 'ferry-ca-root');
      assert.equal(secret.data, undefined);
      assert.equal(secret.metadata.annotations['helm.sh/resource-policy'], 'keep');
      const dep = find(objects, 'Deployment');
      assert.ok(dep.spec.template.spec.containers[0].args.includes('--ca-secret=ferry-ca-root'));
    });

    it('mesh ConfigMap: a minimal mesh valid against schema/mesh.schema.json, mounted', async () => {
      const cm = find(objects, 'ConfigMap', 'ferry-mesh');
      const mesh = parse(cm.data['mesh.yaml']);
      assert.deepEqual(mesh, {
        mesh: { trustDomain: 'cluster.local', domain: 'cluster.local', mtls: 'PERMISSIVE' },
        services: [],
      });
      const schema = JSON.parse(
        await readFile(path.join(REPO_ROOT, 'schema/mesh.schema.json'), 'utf8'),
      );
      const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
      assert.ok(validate(mesh), JSON.stringify(validate.errors));
      const dep = find(objects, 'Deployment');
      assert.deepEqual(dep.spec.template.spec.volumes[0], {
        name: 'mesh',
        configMap: { name: 'ferry-mesh' },
      });
    });

    it('dashboards ConfigMap: one key per dashboards/*.json, content unchanged, under 1 MiB', async () => {
      const files = await dashboardFiles(CHART_DIR);
      const cms = objects.filter(
        (o) => o.kind === 'ConfigMap' && o.metadata.name === 'ferry-dashboards',
      );
      if (files.length === 0) {
        assert.equal(cms.length, 0, 'no dashboards, no ConfigMap');
        return;
      }
      const cm = cms[0];
      assert.equal(cm.metadata.labels.grafana_dashboard, '1');
      assert.deepEqual(Object.keys(cm.data).sort(), files.sort());
      let size = 0;
      for (const f of files) {
        const content = await readFile(path.join(CHART_DIR, 'dashboards', f), 'utf8');
        assert.equal(cm.data[f], content, `${f} changed on its way into the ConfigMap`);
        size += Buffer.byteLength(content);
      }
      // The API server refuses ConfigMaps over 1 MiB.
      assert.ok(size < 1024 * 1024, `dashboards total ${size} bytes, over a ConfigMap's 1 MiB`);
    });
  });

  it('replicas 3: a PodDisruptionBudget selecting the control plane, minAvailable 1', async () => {
    const objects = await render('--set', 'controlPlane.replicas=3');
    const dep = find(objects, 'Deployment');
    assert.equal(dep.spec.replicas, 3);
    const pdb = find(objects, 'PodDisruptionBudget', 'ferry-control-plane');
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, dep.spec.selector.matchLabels);
  });

  it('replicas 3 with maxUnavailable and hard anti-affinity', async () => {
    const objects = await render(
      '--set',
      'controlPlane.replicas=3,controlPlane.podDisruptionBudget.minAvailable=null',
      '--set',
      'controlPlane.podDisruptionBudget.maxUnavailable=1,controlPlane.antiAffinity=hard',
    );
    const pdb = find(objects, 'PodDisruptionBudget');
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.equal(pdb.spec.minAvailable, undefined);
    const anti = find(objects, 'Deployment').spec.template.spec.affinity.podAntiAffinity;
    assert.equal(
      anti.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey,
      'kubernetes.io/hostname',
    );
  });

  it('a PDB given both minAvailable and maxUnavailable is refused with the value named', async () => {
    for (const r of renderers) {
      await assert.rejects(
        r.render([
          ...BASE_ARGS,
          '--set',
          'controlPlane.replicas=2,controlPlane.podDisruptionBudget.maxUnavailable=1',
        ]),
        /controlPlane\.podDisruptionBudget: give minAvailable or maxUnavailable, not both/,
      );
    }
  });

  it('custom mesh and resources from a values file reach the ConfigMap and the container', async () => {
    const mesh = {
      mesh: { trustDomain: 'example.org', domain: 'cluster.local', mtls: 'STRICT' },
      services: [
        {
          name: 'api',
          namespace: 'shop',
          ports: [{ port: 8080, protocol: 'http' }],
          policy: { loadBalancer: 'least_request', timeout: '2s' },
        },
      ],
    };
    const valuesFile = path.join(tmp, 'custom.yaml');
    await writeFile(
      valuesFile,
      JSON.stringify({
        mesh,
        controlPlane: {
          resources: {
            requests: { cpu: '500m', memory: '512Mi' },
            limits: { cpu: 2, memory: '2Gi' },
          },
          logLevel: 'debug',
        },
        image: { tag: '0.2.0-rc.1' },
      }),
    );
    const objects = await render('-f', valuesFile, '--set', 'webhook.failurePolicy=Ignore');
    const cm = find(objects, 'ConfigMap', 'ferry-mesh');
    assert.deepEqual(parse(cm.data['mesh.yaml']), mesh);
    const c = find(objects, 'Deployment').spec.template.spec.containers[0];
    assert.deepEqual(c.resources, {
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: 2, memory: '2Gi' },
    });
    assert.ok(c.args.includes('--log-level=debug'));
    assert.equal(c.image, 'ghcr.io/ferry-mesh/ferry:0.2.0-rc.1');
    const mwc = find(objects, 'MutatingWebhookConfiguration');
    assert.deepEqual(
      mwc.webhooks.map((w: K8sObject) => w.failurePolicy),
      ['Ignore', 'Ignore'],
    );
  });

  it('discovery and the webhook turned off take their RBAC with them', async () => {
    const objects = await render('--set', 'discovery.kubernetes=false,webhook.enabled=false');
    assert.equal(objects.filter((o) => o.kind === 'MutatingWebhookConfiguration').length, 0);
    const cr = find(objects, 'ClusterRole');
    assert.deepEqual(cr.rules, [
      { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
    ]);
    const args: string[] = find(objects, 'Deployment').spec.template.spec.containers[0].args;
    assert.ok(!args.includes('--kubernetes'));
    assert.ok(!args.some((a) => a.startsWith('--webhook-config')));
    const parsed = controlPlaneArgs(objects);
    assert.equal(parsed.options.webhook, undefined, 'no webhook served');
    assert.equal(parsed.kubernetes?.settings.discovery, false);
    assert.equal(
      parsed.kubernetes?.settings.caSecret,
      'ferry-ca-root',
      'the CA still in the Secret',
    );
  });

  it('ca.tokenAudiences and proxy values reach the control plane’s flags', async () => {
    const objects = await render(
      '--set',
      'ca.tokenAudiences={ferry,istio-ca},proxy.image=registry.example/ferry-proxy:1.2,proxy.capture=cni',
      '--set',
      'proxy.logLevel=debug,namePrefix=mesh2',
    );
    const parsed = controlPlaneArgs(objects, 'mesh2-control-plane');
    assert.deepEqual(parsed.kubernetes?.settings.tokenAudiences, ['ferry', 'istio-ca']);
    assert.deepEqual(parsed.options.webhook?.template, {
      image: 'registry.example/ferry-proxy:1.2',
      logLevel: 'debug',
      capture: 'cni',
      cpu: '100m',
      memory: '128Mi',
    });
    assert.equal(parsed.options.serviceName, 'mesh2-control-plane');
    assert.equal(parsed.options.webhook?.config, 'mesh2-sidecar-injector');
    assert.equal(parsed.kubernetes?.settings.caSecret, 'mesh2-ca-root');
    const role = find(objects, 'Role', 'mesh2-control-plane');
    assert.deepEqual(role.rules[0].resourceNames, ['mesh2-ca-root']);
  });

  it('dashboards: no ConfigMap from a chart without dashboards, one key per file with two', async () => {
    const bare = path.join(tmp, 'bare');
    await cp(CHART_DIR, bare, {
      recursive: true,
      filter: (src) => path.relative(CHART_DIR, src).split(path.sep)[0] !== 'dashboards',
    });
    const none = await Promise.all(
      renderers.map(async (r) =>
        parseRendered(await r.render(['ferry', bare, '-n', NAMESPACE, '--kube-version', '1.30.0'])),
      ),
    );
    for (const objects of none)
      assert.equal(objects.filter((o) => o.metadata.name === 'ferry-dashboards').length, 0);

    const two = path.join(tmp, 'two');
    await cp(bare, two, { recursive: true });
    await mkdir(path.join(two, 'dashboards'));
    const a = `${JSON.stringify({ title: 'A', panels: [{ expr: 'sum(rate(x{a="{{b}}"}[1m]))' }] }, null, 2)}\n`;
    await writeFile(path.join(two, 'dashboards', 'a.json'), a);
    await writeFile(path.join(two, 'dashboards', 'b.json'), '{"title":"B"}');
    await writeFile(path.join(two, 'dashboards', 'notes.md'), 'not a dashboard');
    for (const r of renderers) {
      const objects = parseRendered(
        await r.render(['ferry', two, '-n', NAMESPACE, '--kube-version', '1.30.0']),
      );
      const cm = find(objects, 'ConfigMap', 'ferry-dashboards');
      assert.deepEqual(cm.data, { 'a.json': a, 'b.json': '{"title":"B"}' });
    }
  });

  it('values.yaml documents every value with a comment above it', async () => {
    // Free-form values (Kubernetes resources and probe timings, the mesh's settings) are
    // documented as a whole by the comment above them.
    const freeForm =
      /^(controlPlane\.(resources|readinessProbe|livenessProbe)|proxy\.resources\.(requests|limits)|cni\.resources|mesh\.mesh)\./;
    const lines = (await readFile(path.join(CHART_DIR, 'values.yaml'), 'utf8')).split('\n');
    const stack: { indent: number; key: string }[] = [];
    const undocumented: string[] = [];
    lines.forEach((line, i) => {
      const m = /^( *)([A-Za-z][\w.-]*):/.exec(line);
      if (!m) return;
      const indent = m[1].length;
      while (stack.length > 0 && stack[stack.length - 1].indent >= indent) stack.pop();
      stack.push({ indent, key: m[2] });
      const name = stack.map((s) => s.key).join('.');
      let j = i - 1;
      while (j >= 0 && lines[j].trim() === '') j--;
      if (!lines[j]?.trim().startsWith('#') && !freeForm.test(name)) undocumented.push(name);
    });
    assert.deepEqual(undocumented, []);
  });

  it('values.schema.json accepts the defaults and refuses a mistyped value, naming it', async () => {
    const schema = JSON.parse(await readFile(path.join(CHART_DIR, 'values.schema.json'), 'utf8'));
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    const helmRender = renderers.find((r) => r.name === 'helm-render');
    if (!helmRender) return;
    const values = (...extra: string[]) =>
      helmRender.render([...BASE_ARGS, '--show-values', ...extra]).then((s) => JSON.parse(s));
    assert.ok(validate(await values()), JSON.stringify(validate.errors));
    assert.ok(validate(await values('--set', 'controlPlane.replicas=3,proxy.capture=cni')));
    assert.equal(validate(await values('--set', 'controlPlane.replicas=three')), false);
    assert.equal(validate.errors?.[0].instancePath, '/controlPlane/replicas');
    assert.equal(validate(await values('--set', 'controlPlane.replicaz=3')), false);
    assert.equal(validate.errors?.[0].params.additionalProperty, 'replicaz');
    assert.equal(validate(await values('--set', 'webhook.failurePolicy=Sometimes')), false);
    // Exposure is safe by default: the schema refuses a Service type that would expose 15010.
    assert.equal(validate(await values('--set', 'service.type=LoadBalancer')), false);
    assert.equal(validate.errors?.[0].instancePath, '/service/type');
    assert.match(
      (schema.properties.service.properties.type.description as string) ?? '',
      /15010.*externalService/,
    );
    assert.ok(
      validate(await values('--set', 'externalService.enabled=true,externalService.type=NodePort')),
    );
    assert.equal(validate(await values('--set', 'proxy.resources.requests.cpu=lots')), false);
    assert.equal(validate.errors?.[0].instancePath, '/proxy/resources/requests/cpu');
    // Helm itself checks the schema on install and template.
    const helm = renderers.find((r) => r.name === 'helm');
    if (helm)
      await assert.rejects(
        helm.render([...BASE_ARGS, '--set', 'controlPlane.replicas=three']),
        /replicas/,
      );
  });

  it('podDisruptionBudget.minAvailable 0 renders as 0 (regression: rendered as 1)', async () => {
    const objects = await render(
      '--set',
      'controlPlane.replicas=2,controlPlane.podDisruptionBudget.minAvailable=0',
    );
    const pdb = find(objects, 'PodDisruptionBudget', 'ferry-control-plane');
    assert.equal(pdb.spec.minAvailable, 0);
    assert.equal(pdb.spec.maxUnavailable, undefined);
    const percent = await render(
      '--set',
      'controlPlane.replicas=4,controlPlane.podDisruptionBudget.minAvailable=50%',
    );
    assert.equal(find(percent, 'PodDisruptionBudget').spec.minAvailable, '50%');
  });

  it('exposure: a LoadBalancer or NodePort control-plane Service is refused, naming 15010 and the way out', async () => {
    for (const type of ['LoadBalancer', 'NodePort'])
      for (const r of renderers)
        await assert.rejects(
          r.render([...BASE_ARGS, '--set', `service.type=${type}`]),
          new RegExp(
            `service\\.type: ${type} would put the plaintext xDS port 15010 and the debug endpoints of 15014 outside the cluster; keep ClusterIP, and set externalService\\.enabled=true`,
          ),
        );
  });

  it('externalService: a LoadBalancer or NodePort Service with the TLS port 15012 only', async () => {
    const objects = await render(
      '--set',
      'externalService.enabled=true,externalService.loadBalancerSourceRanges={10.0.0.0/8}',
    );
    const internal = find(objects, 'Service', 'ferry-control-plane');
    assert.equal(internal.spec.type, 'ClusterIP');
    const ext = find(objects, 'Service', 'ferry-control-plane-external');
    assert.equal(ext.spec.type, 'LoadBalancer');
    assert.deepEqual(ext.spec.loadBalancerSourceRanges, ['10.0.0.0/8']);
    assert.deepEqual(
      ext.spec.ports.map((p: K8sObject) => [p.name, p.port, p.targetPort]),
      [['https-xds', 15012, 'https-xds']],
    );
    assert.deepEqual(ext.spec.selector, internal.spec.selector);
    const nodePort = await render(
      '--set',
      'externalService.enabled=true,externalService.type=NodePort,externalService.nodePort=31012',
    );
    const np = find(nodePort, 'Service', 'ferry-control-plane-external');
    assert.equal(np.spec.type, 'NodePort');
    assert.deepEqual(
      np.spec.ports.map((p: K8sObject) => [p.port, p.nodePort]),
      [[15012, 31012]],
    );
    const defaults = await render();
    assert.equal(
      defaults.filter((o) => o.metadata.name === 'ferry-control-plane-external').length,
      0,
    );
  });

  it('serviceMonitor: off by default; on, it scrapes /metrics on the monitoring port', async () => {
    assert.equal((await render()).filter((o) => o.kind === 'ServiceMonitor').length, 0);
    const objects = await render(
      '--set',
      'serviceMonitor.enabled=true,serviceMonitor.labels.release=prometheus,serviceMonitor.interval=15s',
    );
    const sm = find(objects, 'ServiceMonitor', 'ferry-control-plane');
    const svc = find(objects, 'Service', 'ferry-control-plane');
    assert.equal(sm.metadata.labels.release, 'prometheus');
    assert.deepEqual(sm.spec.selector.matchLabels, svc.spec.selector);
    assert.deepEqual(sm.spec.namespaceSelector, { matchNames: [NAMESPACE] });
    assert.deepEqual(sm.spec.endpoints, [
      { port: 'http-monitoring', path: '/metrics', interval: '15s', scrapeTimeout: '10s' },
    ]);
    assert.ok(
      svc.spec.ports.some((p: K8sObject) => p.name === 'http-monitoring' && p.port === 15014),
    );
  });

  it('proxy.resources: default sidecar requests and limits reach the injector', async () => {
    const objects = await render(
      '--set',
      'proxy.resources.requests.cpu=250m,proxy.resources.requests.memory=256Mi',
      '--set',
      'proxy.resources.limits.memory=512Mi,proxy.resources.limits.cpu=1',
    );
    assert.deepEqual(controlPlaneArgs(objects).options.webhook?.template, {
      image: 'ghcr.io/ferry-mesh/ferry:0.1.0',
      logLevel: 'info',
      capture: 'init',
      cpu: '250m',
      memory: '256Mi',
      cpuLimit: '1',
      memoryLimit: '512Mi',
    });
  });

  it('capture: cni renders the CNI node agent: a DaemonSet on every node, its ServiceAccount, host paths', async () => {
    const defaults = await render();
    assert.equal(
      defaults.filter((o) => o.kind === 'DaemonSet').length,
      0,
      'none with capture: init',
    );
    const objects = await render(
      '--set',
      'proxy.capture=cni,cni.includeNamespaces={shop,web},cni.excludeOutboundCidrs={169.254.169.254/32}',
      '--set',
      'cni.binDir=/var/lib/rancher/k3s/data/current/bin',
    );
    const ds = find(objects, 'DaemonSet', 'ferry-cni-node');
    const sa = find(objects, 'ServiceAccount', 'ferry-cni-node');
    assert.equal(sa.automountServiceAccountToken, false, 'it calls no API');
    const pod = ds.spec.template;
    assert.deepEqual(ds.spec.selector.matchLabels, pod.metadata.labels);
    assert.equal(pod.metadata.annotations['ferry.io/inject'], 'false');
    assert.equal(pod.spec.serviceAccountName, 'ferry-cni-node');
    assert.equal(pod.spec.hostNetwork, true, 'runs before the pod network works');
    assert.equal(pod.spec.priorityClassName, 'system-node-critical');
    assert.deepEqual(pod.spec.tolerations, [{ operator: 'Exists' }]);
    const c = pod.spec.containers[0];
    assert.deepEqual(c.command, ['ferry']);
    assert.equal(c.args[0], 'cni-install');
    // The arguments as `ferry cni-install` reads them.
    const parsed = parseCniInstallArgs(c.args.slice(1)).options;
    assert.equal(parsed.confDir, '/host/etc/cni/net.d');
    assert.equal(parsed.binDir, '/host/opt/cni/bin');
    assert.equal(parsed.hostBinDir, '/var/lib/rancher/k3s/data/current/bin');
    assert.ok(parsed.runtime, 'Node.js and Ferry are copied to the node');
    assert.deepEqual(parsed.plugin, {
      type: 'ferry-cni',
      excludeNamespaces: [NAMESPACE, 'kube-system', 'kube-public', 'kube-node-lease'],
      includeNamespaces: ['shop', 'web'],
      capture: {
        excludeInboundPorts: [],
        excludeOutboundPorts: [],
        excludeOutboundCidrs: ['169.254.169.254/32'],
      },
    });
    const mounts = Object.fromEntries(c.volumeMounts.map((m: K8sObject) => [m.name, m.mountPath]));
    const hostPaths = Object.fromEntries(
      pod.spec.volumes.map((v: K8sObject) => [v.name, v.hostPath.path]),
    );
    assert.deepEqual(mounts, {
      'cni-bin-dir': '/host/opt/cni/bin',
      'cni-net-dir': '/host/etc/cni/net.d',
    });
    assert.deepEqual(hostPaths, {
      'cni-bin-dir': '/var/lib/rancher/k3s/data/current/bin',
      'cni-net-dir': '/etc/cni/net.d',
    });
    assert.equal(c.securityContext.privileged, false);
    assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
    assert.ok(pod.spec.terminationGracePeriodSeconds >= 10, 'time to unchain the plugin');
    // And the injector leaves ferry-init out.
    assert.equal(controlPlaneArgs(objects).options.webhook?.template.capture, 'cni');
  });

  it('NOTES: how to reach the dashboard and run ferry proxy-status', async () => {
    const helmRender = renderers.find((r) => r.name === 'helm-render');
    if (!helmRender) return;
    const notes = await helmRender.render([...BASE_ARGS, '--notes']);
    assert.match(
      notes,
      /kubectl -n ferry-system port-forward svc\/ferry-control-plane 15014:15014\n\s+then open http:\/\/127\.0\.0\.1:15014\//,
    );
    assert.match(notes, /ferry proxy-status --control-plane http:\/\/127\.0\.0\.1:15014/);
    assert.match(notes, /kubectl label namespace <name> ferry-injection=enabled/);
    assert.match(notes, /the pod label ferry\.io\/inject: "true"/);
    assert.doesNotMatch(notes, /cni-node/);
    const cni = await helmRender.render([
      ...BASE_ARGS,
      '--notes',
      '--set',
      'proxy.capture=cni,namePrefix=mesh2,externalService.enabled=true',
    ]);
    assert.match(cni, /DaemonSet mesh2-cni-node/);
    assert.match(cni, /port-forward svc\/mesh2-control-plane/);
    assert.match(cni, /mesh2-control-plane-external \(LoadBalancer\), 15012 with TLS only/);
  });

  it('README and the webhook agree on opt-in: namespace label, pod label, pod annotation', async () => {
    const readme = await readFile(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const objects = await render();
    const mwc = find(objects, 'MutatingWebhookConfiguration', 'ferry-sidecar-injector');
    const [byNamespace, byObject] = mwc.webhooks;
    // The README's table: namespace label, pod label, pod annotation, each as the chart has it.
    const label = Object.entries(byNamespace.namespaceSelector.matchLabels)[0]!;
    assert.ok(
      readme.includes(`| namespace label | \`${label[0]}=${label[1]}\``),
      'namespace label',
    );
    const podLabel = Object.entries(byObject.objectSelector.matchLabels)[0]!;
    assert.ok(
      readme.includes(`| pod label | \`${podLabel[0]}: "${podLabel[1]}"\``),
      'pod label opt-in',
    );
    assert.ok(
      readme.includes('| pod annotation | `ferry.io/inject: "true"` in a labelled namespace'),
    );
    assert.deepEqual(byNamespace.objectSelector.matchExpressions[0], {
      key: 'ferry.io/inject',
      operator: 'NotIn',
      values: ['false'],
    });
  });

  it('gateway: off by default; on, a Deployment, Service and ServiceAccount running ferry gateway', async () => {
    const defaults = await render();
    assert.equal(defaults.filter((o) => o.metadata.name === 'ferry-gateway').length, 0);
    const objects = await render(
      '--set',
      'gateway.enabled=true,gateway.replicas=3,gateway.gatewayRef=shop/public,gateway.service.type=NodePort,ca.tokenAudiences={ferry}',
    );
    const deployment = find(objects, 'Deployment', 'ferry-gateway');
    assert.equal(deployment.spec.replicas, 3);
    const pod = deployment.spec.template;
    // The injector's opt-out label for gateways, and the same selector as the Service's.
    assert.equal(pod.metadata.labels['ferry.io/gateway'], 'shop.public');
    const service = find(objects, 'Service', 'ferry-gateway');
    assert.equal(service.spec.type, 'NodePort');
    for (const [k, v] of Object.entries(service.spec.selector))
      assert.equal(pod.metadata.labels[k], v, `selector ${k}`);
    assert.deepEqual(
      service.spec.ports.map((p: K8sObject) => [p.name, p.port, p.targetPort]),
      [
        ['http', 80, 80],
        ['https', 443, 443],
      ],
    );
    find(objects, 'ServiceAccount', 'ferry-gateway');
    assert.equal(pod.spec.serviceAccountName, 'ferry-gateway');
    const c = pod.spec.containers[0];
    // The args are flags `ferry gateway` accepts (its own parser), meaning what the chart says.
    assert.equal(c.args[0], 'gateway');
    const flags = new Map(
      (c.args as string[])
        .slice(1)
        .map((a) => a.slice(2).split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    assert.equal(flags.get('gateway'), 'shop/public');
    assert.equal(flags.get('xds'), 'ferry-control-plane.ferry-system.svc:15012');
    assert.equal(flags.get('mode'), 'gateway');
    const { GATEWAY_HELP } = await import('../../src/cli/gateway.js');
    for (const flag of flags.keys()) assert.ok(GATEWAY_HELP.includes(`--${flag} `), `--${flag}`);
    // The mesh root from the CA Secret, and only that item: the CA's key is never mounted.
    const ca = pod.spec.volumes.find((v: K8sObject) => v.name === 'ferry-ca');
    assert.deepEqual(ca.secret.items, [{ key: 'ca.crt', path: 'root-cert.pem' }]);
    const token = pod.spec.volumes.find((v: K8sObject) => v.name === 'ferry-identity');
    assert.equal(token.projected.sources[0].serviceAccountToken.audience, 'ferry');
    assert.ok(c.resources.limits.cpu, 'a CPU limit (the gateway sizes itself by it)');
    assert.equal(c.readinessProbe.httpGet.port, 15021);
  });

  it('gateway mode egress: --mode egress and --address from the pod IP; the mesh file names it and its identity', async () => {
    const valuesFile = path.join(tmp, 'egress.yaml');
    await writeFile(
      valuesFile,
      JSON.stringify({
        gateway: { enabled: true, mode: 'egress', service: { type: 'ClusterIP' } },
        mesh: {
          mesh: { trustDomain: 'example.org' },
          egress: { hosts: [{ host: 'api.example.com', port: 443, protocol: 'tls' }] },
        },
      }),
    );
    const objects = await render('-f', valuesFile);
    const pod = find(objects, 'Deployment', 'ferry-gateway').spec.template;
    const c = pod.spec.containers[0];
    const flags = new Map(
      (c.args as string[])
        .slice(1)
        .map((a) => a.slice(2).split(/=(.*)/s).slice(0, 2) as [string, string]),
    );
    assert.equal(flags.get('mode'), 'egress');
    // Kubernetes expands $(POD_IP) in args from the container's env: the downward API's pod IP.
    assert.equal(flags.get('address'), '$(POD_IP)');
    assert.deepEqual(c.env, [
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
    ]);
    const { GATEWAY_HELP } = await import('../../src/cli/gateway.js');
    assert.ok(GATEWAY_HELP.includes('--address IP'));
    // The mesh file the control plane reads: its egress gateway is this Deployment, and the
    // identity the sidecars check is this gateway's ServiceAccount in the release namespace.
    const { parseMesh } = await import('../../src/mesh/index.js');
    const text = find(objects, 'ConfigMap', 'ferry-mesh').data['mesh.yaml'];
    const parsed = parseMesh(text, 'mesh.yaml');
    assert.ok(parsed.ok, JSON.stringify(parsed));
    assert.equal(parsed.config.egress?.gateway, 'ferry-system/ferry-gateway');
    assert.equal(parsed.config.egress?.serviceAccount, 'ferry-gateway');
    assert.equal(pod.spec.serviceAccountName, 'ferry-gateway');
    assert.equal(flags.get('service-account'), 'ferry-gateway');
    assert.equal(flags.get('gateway'), 'ferry-system/ferry-gateway');
    // The mesh file's own choices win.
    const own = await render(
      '-f',
      valuesFile,
      '--set',
      'mesh.egress.gateway=ferry-system/out,mesh.egress.serviceAccount=out-sa',
    );
    const ownText = find(own, 'ConfigMap', 'ferry-mesh').data['mesh.yaml'];
    assert.deepEqual(
      [parse(ownText).egress.gateway, parse(ownText).egress.serviceAccount],
      ['ferry-system/out', 'out-sa'],
    );
    // An ingress gateway is no destination of the sidecars: no address, and the mesh file as given.
    const ingress = await render('--set', 'gateway.enabled=true');
    const ic = find(ingress, 'Deployment', 'ferry-gateway').spec.template.spec.containers[0];
    assert.ok(!(ic.args as string[]).some((a) => a.startsWith('--address')));
    assert.equal(ic.env, undefined);
    assert.equal(
      parse(find(ingress, 'ConfigMap', 'ferry-mesh').data['mesh.yaml']).egress,
      undefined,
    );
  });

  it('gateway values are checked: a gateway reference without a namespace is refused, naming it', async () => {
    const ajv = new Ajv({ allErrors: true });
    const schema = JSON.parse(await readFile(path.join(CHART_DIR, 'values.schema.json'), 'utf8'));
    const validate = ajv.compile(schema);
    assert.equal(validate({ gateway: { enabled: true, gatewayRef: 'shop/public' } }), true);
    assert.equal(validate({ gateway: { gatewayRef: 'public' } }), false);
    assert.match(JSON.stringify(validate.errors), /gatewayRef/);
    assert.equal(validate({ gateway: { mode: 'sideways' } }), false);
  });
});
