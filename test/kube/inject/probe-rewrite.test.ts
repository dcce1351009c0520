/**
 * Probes that survive the mesh, at injection: the app's httpGet, tcpSocket and grpc probes
 * move to the sidecar's health port (golden), the sidecar gets the originals (named ports
 * resolved) in its environment, the pod keeps them in an annotation, exec probes and pods
 * that opt out stay as they are, and bad probes are refused by name.
 */
import assert from 'node:assert/strict';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Pod } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import {
  applyPatch,
  InjectError,
  injectionTemplate,
  injectManifest,
  ORIGINAL_PROBES_ANNOTATION,
  type PodTemplate,
  podPatch,
} from '../../../src/kube/inject/index.js';
import { admissionResponse } from '../../../src/kube/webhook/index.js';
import { APP_PROBES_ENV, parseAppProbes } from '../../../src/proxy/prober/index.js';
import { expectGoldenText, readFixture } from './golden.js';

// biome-ignore lint/suspicious/noExplicitAny: rendered objects, checked field by field.
type Obj = Record<string, any>;

function docs(yaml: string): Obj[] {
  return parseAllDocuments(yaml).map((d) => d.toJS() as Obj);
}

function proxyEnv(spec: Obj): Obj[] {
  const proxy = [...(spec.initContainers ?? []), ...spec.containers].find(
    (c: Obj) => c.name === 'ferry-proxy',
  );
  return proxy.env;
}

describe('inject: app probes rewritten to the sidecar', () => {
  it('moves httpGet, tcpSocket and grpc probes to /app-health/ on the health port (golden, native and classic)', () => {
    for (const [nativeSidecar, golden] of [
      [true, 'probes.injected.yaml'],
      [false, 'probes.injected.classic.yaml'],
    ] as const) {
      const out = injectManifest(readFixture('probes.yaml'), injectionTemplate({ nativeSidecar }));
      expectGoldenText(golden, out.yaml);
      const [deployment, pod] = docs(out.yaml);
      new Deployment(deployment as never).validate();
      new Pod(pod as never).validate();
      const spec = deployment!.spec.template.spec;
      const web = spec.containers.find((c: Obj) => c.name === 'web');
      const orders = spec.containers.find((c: Obj) => c.name === 'orders');
      assert.deepEqual(web.livenessProbe, {
        httpGet: { path: '/app-health/web/livez', port: 15020, scheme: 'HTTP' },
        initialDelaySeconds: 5,
        periodSeconds: 10,
        failureThreshold: 3,
      });
      assert.deepEqual(web.readinessProbe, {
        httpGet: { path: '/app-health/web/readyz', port: 15020, scheme: 'HTTP' },
        timeoutSeconds: 3,
      });
      assert.deepEqual(web.startupProbe, {
        httpGet: { path: '/app-health/web/startupz', port: 15020, scheme: 'HTTP' },
        failureThreshold: 30,
        periodSeconds: 2,
      });
      assert.deepEqual(orders.readinessProbe, {
        httpGet: { path: '/app-health/orders/readyz', port: 15020, scheme: 'HTTP' },
      });
      // exec runs inside the container, untouched by capture: left alone.
      assert.deepEqual(orders.livenessProbe, {
        exec: { command: ['/bin/grpc_health_probe', '-addr=:50051'] },
      });
      // What the sidecar runs: the originals, named ports resolved in their container.
      const env = proxyEnv(spec).find((e) => e.name === APP_PROBES_ENV);
      assert.deepEqual(parseAppProbes(env?.value), {
        '/app-health/web/livez': {
          httpGet: {
            path: '/healthz',
            port: 8080,
            scheme: 'HTTP',
            httpHeaders: [
              { name: 'Host', value: 'shop.example' },
              { name: 'X-Probe', value: 'liveness' },
            ],
          },
          timeoutSeconds: 1,
        },
        '/app-health/web/readyz': {
          httpGet: { path: '/ready', port: 8443, scheme: 'HTTPS' },
          timeoutSeconds: 3,
        },
        '/app-health/web/startupz': { tcpSocket: { port: 8080 }, timeoutSeconds: 1 },
        '/app-health/orders/readyz': {
          grpc: { port: 50051, service: 'orders' },
          timeoutSeconds: 1,
        },
      });
      const original = JSON.parse(
        deployment!.spec.template.metadata.annotations[ORIGINAL_PROBES_ANNOTATION],
      );
      assert.deepEqual(original.web.livenessProbe.httpGet.port, 'http');
      assert.deepEqual(original.orders, {
        readinessProbe: { grpc: { port: 50051, service: 'orders' } },
      });
      // Opted out: probes and sidecar environment as before.
      assert.deepEqual(pod!.spec.containers.find((c: Obj) => c.name === 'app').livenessProbe, {
        httpGet: { path: '/healthz', port: 8080 },
      });
      assert.equal(
        proxyEnv(pod!.spec).some((e) => e.name === APP_PROBES_ENV),
        false,
      );
      assert.equal(pod!.metadata.annotations[ORIGINAL_PROBES_ANNOTATION], undefined);
    }
  });

  it('the webhook rewrites them the same way (a classic sidecar first: the indices still hold)', () => {
    const [deployment] = docs(readFixture('probes.yaml'));
    const object = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'shop-', namespace: 'shop', labels: { app: 'shop' } },
      spec: deployment!.spec.template.spec,
    };
    const review = {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'c0ffee',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        namespace: 'shop',
        operation: 'CREATE',
        object,
      },
    };
    const { patch } = admissionResponse(review, {
      template: injectionTemplate({ nativeSidecar: false }),
      namespaceLabels: { 'ferry-injection': 'enabled' },
    });
    const pod = applyPatch(object, patch) as Obj;
    new Pod(pod as never).validate();
    const [proxy, web, orders] = pod.spec.containers;
    assert.equal(proxy.name, 'ferry-proxy');
    assert.equal(web.livenessProbe.httpGet.path, '/app-health/web/livez');
    assert.equal(orders.readinessProbe.httpGet.path, '/app-health/orders/readyz');
    assert.ok(orders.livenessProbe.exec, 'exec probe kept');
    assert.equal(proxy.livenessProbe, undefined, "the sidecar's own probes are not touched");
    assert.deepEqual(
      Object.keys(parseAppProbes(proxyEnv(pod.spec).find((e) => e.name === APP_PROBES_ENV)?.value)),
      [
        '/app-health/web/livez',
        '/app-health/web/readyz',
        '/app-health/web/startupz',
        '/app-health/orders/readyz',
      ],
    );
  });

  it('a pod whose probes were rewritten is left alone when injected again', () => {
    const t = injectionTemplate();
    const once = injectManifest(readFixture('probes.yaml'), t).yaml;
    const twice = injectManifest(once, t);
    assert.equal(twice.yaml, once);
  });

  it('refuses probes it cannot run, naming the field', () => {
    const pod = (probe: Obj, annotations?: Record<string, string>): PodTemplate => ({
      metadata: { name: 'p', ...(annotations ? { annotations } : {}) },
      spec: {
        containers: [
          { name: 'app', ports: [{ name: 'http', containerPort: 8080 }], livenessProbe: probe },
        ],
      },
    });
    const refused = (p: PodTemplate, code: string, message: RegExp) =>
      assert.throws(
        () => podPatch(p, injectionTemplate(), { at: '' }),
        (e: unknown) => e instanceof InjectError && e.code === code && message.test(e.message),
      );
    refused(
      pod({ httpGet: { path: '/', port: 'web' } }),
      'FERRY_INJECT_BAD_MANIFEST',
      /^p\.spec\.containers\[0\]\.livenessProbe\.httpGet\.port: "web" names no port of container app$/,
    );
    refused(
      pod({ tcpSocket: { port: 70000 } }),
      'FERRY_INJECT_BAD_MANIFEST',
      /livenessProbe\.tcpSocket\.port: 70000 is not a port/,
    );
    refused(
      pod({ httpGet: { port: 8080, scheme: 'FTP' } }),
      'FERRY_INJECT_BAD_MANIFEST',
      /livenessProbe\.httpGet\.scheme: "FTP" is not HTTP or HTTPS/,
    );
    refused(
      pod({ tcpSocket: { port: 8080 } }, { 'ferry.io/rewrite-app-probers': 'no' }),
      'FERRY_INJECT_BAD_ANNOTATION',
      /ferry\.io\/rewrite-app-probers: "no" is not "true" or "false"/,
    );
    // A numeric string is a port, as the kubelet reads it when no port has that name.
    const ok = pod({ tcpSocket: { port: '8080' } });
    const patched = applyPatch(ok, podPatch(ok, injectionTemplate(), { at: '' })) as Obj;
    assert.equal(
      JSON.parse(proxyEnv(patched.spec).find((e) => e.name === APP_PROBES_ENV)?.value)[
        '/app-health/app/livez'
      ].tcpSocket.port,
      8080,
    );
  });
});
