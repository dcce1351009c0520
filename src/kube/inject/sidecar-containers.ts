/**
 * The two containers the injector adds: `ferry-proxy` (the sidecar, `ferry proxy`) and
 * `ferry-init` (`ferry init`: the iptables capture rules, then it exits).
 */
import type { PodOverrides } from './annotations.js';
import { IDENTITY_VOLUME_MOUNT, identityArgs } from './identity-volume.js';
import type { InjectionTemplate } from './injection-template.js';
import type { Container, PodTemplate } from './kube-types.js';

export const PROXY_CONTAINER_NAME = 'ferry-proxy';
export const INIT_CONTAINER_NAME = 'ferry-init';

/**
 * The classic (non-native) sidecar's postStart hook: the kubelet starts the next container
 * only when this returns, so holding it until the sidecar is ready keeps the app from
 * sending traffic before the proxy can carry it (Istio's holdApplicationUntilProxyStarts).
 * The image runs Node.js (Ferry is a Node program); the hook gives up after 120 s.
 */
export function waitUntilReadyScript(readyPort: number): string {
  return (
    `const d=Date.now()+120e3,t=()=>Date.now()>d?process.exit(1):setTimeout(p,250),` +
    `p=()=>require('http').get('http://127.0.0.1:${readyPort}/healthz/ready',` +
    `r=>{r.resume();r.statusCode===200?process.exit(0):t()}).on('error',t);p()`
  );
}

/** Labels that change on every rollout and mean nothing to routing. */
const VOLATILE_LABELS = new Set(['pod-template-hash', 'controller-revision-hash']);

/** The service a workload belongs to: its app label, else its own name. */
export function serviceName(pod: PodTemplate, workloadName: string | undefined): string {
  const labels = pod.metadata?.labels ?? {};
  const generated = pod.metadata?.generateName?.replace(/-+$/, '');
  return (
    labels['app.kubernetes.io/name'] ??
    labels.app ??
    workloadName ??
    pod.metadata?.name ??
    generated ??
    'unknown'
  );
}

/** The app's port: the first declared port of the first container that declares one. */
function appPort(pod: PodTemplate): number | undefined {
  for (const c of pod.spec.containers) {
    const p = c.ports?.find((port) => (port.protocol ?? 'TCP') === 'TCP');
    if (p) return p.containerPort;
  }
  return undefined;
}

function resources(
  t: InjectionTemplate,
  o: PodOverrides,
): { requests: Record<string, string>; limits?: Record<string, string> } {
  const limits: Record<string, string> = {};
  const cpuLimit = o.cpuLimit ?? t.cpuLimit;
  const memoryLimit = o.memoryLimit ?? t.memoryLimit;
  if (cpuLimit) limits.cpu = cpuLimit;
  if (memoryLimit) limits.memory = memoryLimit;
  return {
    requests: { cpu: o.cpu ?? t.cpu, memory: o.memory ?? t.memory },
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}

const fieldEnv = (name: string, fieldPath: string) => ({
  name,
  valueFrom: { fieldRef: { fieldPath } },
});

export function proxyContainer(
  pod: PodTemplate,
  t: InjectionTemplate,
  o: PodOverrides,
  workloadName: string | undefined,
): Container {
  const labels = Object.entries(pod.metadata?.labels ?? {})
    .filter(([k]) => !VOLATILE_LABELS.has(k))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const port = appPort(pod);
  // Flags of `ferry proxy` (src/cli/proxy.ts); $(VAR) is expanded by the kubelet from env.
  const args = [
    'proxy',
    '--xds',
    t.xdsAddress,
    '--service',
    serviceName(pod, workloadName),
    '--namespace',
    '$(POD_NAMESPACE)',
    '--id',
    '$(POD_NAME).$(POD_NAMESPACE)',
    '--address',
    '$(POD_IP)',
    // Inbound traffic is REDIRECTed to the pod's address, so the listeners cannot stay on
    // loopback; and `ferry init` redirects IPv6 too (to ::1 and the pod's IPv6 address), so
    // they bind `::`: one dual-stack socket each, IPv4 arriving as IPv4-mapped. Where the
    // node has no IPv6 at all the sidecar falls back to 0.0.0.0 and says so. The admin port
    // stays on 127.0.0.1 whatever --bind says.
    '--bind',
    '::',
    '--service-account',
    pod.spec.serviceAccountName ?? 'default',
    ...(port !== undefined ? ['--app-port', String(port)] : []),
    ...(labels ? ['--labels', labels] : []),
    ...(t.ports.inbound !== 15006 ? ['--inbound-port', String(t.ports.inbound)] : []),
    ...(t.ports.outbound !== 15001 ? ['--outbound-port', String(t.ports.outbound)] : []),
    ...(t.ports.admin !== 15000 ? ['--admin-port', String(t.ports.admin)] : []),
    ...(t.ports.metrics !== 15020 ? ['--metrics-port', String(t.ports.metrics)] : []),
    ...(t.ports.ready !== 15021 ? ['--ready-port', String(t.ports.ready)] : []),
    '--log-level',
    o.logLevel ?? t.logLevel,
    ...(t.identity ? identityArgs(t.identity) : []),
  ];
  const readyProbe = {
    httpGet: { path: '/healthz/ready', port: t.ports.ready },
    periodSeconds: 2,
    failureThreshold: 30,
  };
  return {
    name: PROXY_CONTAINER_NAME,
    image: o.image ?? t.image,
    ...(t.imagePullPolicy ? { imagePullPolicy: t.imagePullPolicy } : {}),
    // A restartable init container is the native sidecar: started before the app, kept
    // running beside it, stopped after it, and not waited for by a Job (KEP-753).
    ...(t.nativeSidecar ? { restartPolicy: 'Always' } : {}),
    command: ['ferry'],
    args,
    env: [
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('POD_IP', 'status.podIP'),
      // As every sidecar is best started (SIDECAR_PROCESS_ENV in src/proxy/process-env.ts):
      // a small young generation and at most two malloc arenas, for a lower peak memory.
      { name: 'NODE_OPTIONS', value: '--max-semi-space-size=2' },
      { name: 'MALLOC_ARENA_MAX', value: '2' },
    ],
    ports: [{ name: 'ferry-metrics', containerPort: t.ports.metrics, protocol: 'TCP' }],
    readinessProbe: readyProbe,
    // Native: the kubelet starts the app containers once this probe has passed.
    ...(t.nativeSidecar
      ? { startupProbe: { ...readyProbe, periodSeconds: 1, failureThreshold: 600 } }
      : {}),
    // Classic: the app container (after this one in the list) starts when postStart ends.
    ...(t.nativeSidecar
      ? {}
      : {
          lifecycle: {
            postStart: { exec: { command: ['node', '-e', waitUntilReadyScript(t.ports.ready)] } },
          },
        }),
    resources: resources(t, o),
    ...(t.identity ? { volumeMounts: [IDENTITY_VOLUME_MOUNT] } : {}),
    securityContext: {
      runAsUser: t.proxyUid,
      runAsGroup: t.proxyUid,
      runAsNonRoot: true,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    },
  };
}

export function initContainer(t: InjectionTemplate, o: PodOverrides): Container {
  const inboundExcluded = [
    // The capture always leaves 15020/15021 alone; other metrics/ready ports must be named.
    ...(t.ports.metrics !== 15020 ? [t.ports.metrics] : []),
    ...(t.ports.ready !== 15021 ? [t.ports.ready] : []),
    ...o.excludeInboundPorts,
  ];
  const args = [
    'init',
    '--proxy-uid',
    String(t.proxyUid),
    '--inbound-port',
    String(t.ports.inbound),
    '--outbound-port',
    String(t.ports.outbound),
    ...(inboundExcluded.length ? ['--exclude-inbound-ports', inboundExcluded.join(',')] : []),
    ...(o.excludeOutboundPorts.length
      ? ['--exclude-outbound-ports', o.excludeOutboundPorts.join(',')]
      : []),
    ...(o.excludeOutboundCidrs.length
      ? ['--exclude-outbound-cidrs', o.excludeOutboundCidrs.join(',')]
      : []),
  ];
  return {
    name: INIT_CONTAINER_NAME,
    image: o.image ?? t.image,
    ...(t.imagePullPolicy ? { imagePullPolicy: t.imagePullPolicy } : {}),
    command: ['ferry'],
    args,
    resources: { requests: { cpu: '10m', memory: '64Mi' } },
    // iptables needs root with NET_ADMIN (and NET_RAW for the owner match), nothing more.
    securityContext: {
      runAsUser: 0,
      runAsGroup: 0,
      runAsNonRoot: false,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: false,
      privileged: false,
      capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['ALL'] },
    },
  };
}
