/** `ferry inject`: adds the sidecar to Kubernetes manifests offline (as istioctl kube-inject). */
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  DEFAULT_PROXY_IMAGE,
  DEFAULT_XDS_ADDRESS,
  InjectError,
  type InjectedManifest,
  injectionTemplate,
  injectManifest,
  type MeshIdentityTemplate,
  supportsNativeSidecars,
} from '../kube/inject/index.js';
import { UsageError } from './args.js';

export const INJECT_HELP = `Usage: ferry inject -f FILE [options]

Adds Ferry's sidecar (and the ferry-init container that installs the traffic capture)
to every workload of a Kubernetes manifest: Deployments, StatefulSets, DaemonSets,
ReplicaSets, ReplicationControllers, Jobs, CronJobs, Pods, OpenShift DeploymentConfigs,
and the items of Lists. Multi-document YAML in, YAML out (read as kubectl reads it:
YAML 1.1, 0644 is octal); other objects pass through. A workload is left alone when it
opts out (ferry.io/inject: "false", or Istio's sidecar.istio.io/inject: "false" or
Linkerd's linkerd.io/inject: disabled, with a warning), is already injected, uses
hostNetwork, or is in kube-system, kube-public or kube-node-lease. A workload that has
another mesh's sidecar (istio-proxy, linkerd-proxy) fails the command, unless
--skip-other-mesh.

The sidecars need the mesh root to reach the control plane's TLS port: give --ca-root, or
--from-cluster to read it (and the trust domain) from the cluster with your kubeconfig.

  ferry inject -f app.yaml --from-cluster | kubectl apply -f -
  kubectl get deploy web -o yaml | ferry inject -f - --ca-root root.pem | kubectl apply -f -

Options:
  -f, --filename FILE     the manifest; - reads standard input            (required)
  -o, --output FILE       write the result there instead of standard output
      --xds HOST:PORT     the control plane's xDS address
                          (default ${DEFAULT_XDS_ADDRESS})
      --image IMAGE       the Ferry image                (default ${DEFAULT_PROXY_IMAGE})
      --kube-version V    the cluster's version; 1.29 and later get native sidecars
                          (init containers with restartPolicy Always)     (default 1.29)
      --capture MODE      init: a ferry-init container installs the capture rules;
                          cni: the node's Ferry CNI plugin does             (default init)
      --log-level LEVEL   the sidecar's log level                          (default info)
      --ca-root FILE      the mesh root (the CA Secret's ca.crt): sidecars get it and a
                          service-account token, and use the secure port with mTLS
      --from-cluster      read the root from the Secret <prefix>-ca-root, the trust domain
                          from the ConfigMap <prefix>-mesh and the token audience from the
                          Deployment <prefix>-control-plane of the control plane's
                          namespace, with the kubeconfig
      --kubeconfig FILE   for --from-cluster       (default $KUBECONFIG, ~/.kube/config)
      --control-plane-namespace NS  where Ferry is installed   (default ferry-system)
      --name-prefix P     the chart's namePrefix                          (default ferry)
      --token-audience AUD  the audience of that token (the control plane's --token-audience)
      --trust-domain TD   SPIFFE trust domain    (default cluster.local, or the cluster's)
      --skip-other-mesh   leave workloads with another mesh's sidecar alone, with a
                          warning, instead of failing
  -h, --help              show this help
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Where kubectl finds its configuration: the first file of $KUBECONFIG, else ~/.kube/config. */
function defaultKubeconfig(): string {
  const first = process.env.KUBECONFIG?.split(path.delimiter).find((f) => f !== '');
  return first ?? path.join(homedir(), '.kube', 'config');
}

async function readRoot(file: string): Promise<string> {
  let rootPem: string;
  try {
    rootPem = await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --ca-root ${file}: ${(err as Error).message}`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(rootPem))
    throw new UsageError(`--ca-root ${file} holds no PEM certificate`);
  return rootPem;
}

/** One line per workload worth a word, on standard error. */
function report(objects: InjectedManifest['objects']): void {
  for (const o of objects) {
    const what = `${o.kind} ${o.name || '(unnamed)'}`;
    for (const w of o.warnings) process.stderr.write(`ferry inject: warning: ${what}: ${w}\n`);
    if (o.injected || o.notice === undefined) continue;
    const prefix = o.notice === 'quiet' ? '' : 'warning: ';
    process.stderr.write(`ferry inject: ${prefix}left ${what} alone: ${o.reason}\n`);
  }
}

export async function runInject(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      filename: { type: 'string', short: 'f' },
      output: { type: 'string', short: 'o' },
      xds: { type: 'string' },
      image: { type: 'string' },
      'kube-version': { type: 'string' },
      capture: { type: 'string' },
      'log-level': { type: 'string' },
      'ca-root': { type: 'string' },
      'from-cluster': { type: 'boolean' },
      kubeconfig: { type: 'string' },
      'control-plane-namespace': { type: 'string' },
      'name-prefix': { type: 'string' },
      'token-audience': { type: 'string' },
      'trust-domain': { type: 'string' },
      'skip-other-mesh': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (v.help) {
    process.stdout.write(INJECT_HELP);
    return;
  }
  if (!v.filename) throw new UsageError('-f FILE is required (- reads standard input)');
  if (v.capture !== undefined && v.capture !== 'init' && v.capture !== 'cni') {
    throw new UsageError(`--capture must be init or cni, got "${v.capture}"`);
  }
  const level = v['log-level'];
  if (level !== undefined && !['trace', 'debug', 'info', 'warn', 'error'].includes(level)) {
    throw new UsageError(`--log-level must be trace, debug, info, warn or error, got "${level}"`);
  }
  if (v['ca-root'] !== undefined && v['from-cluster'])
    throw new UsageError('give --ca-root FILE or --from-cluster, not both');
  for (const flag of ['kubeconfig', 'name-prefix'] as const)
    if (v[flag] !== undefined && !v['from-cluster'])
      throw new UsageError(`--${flag} is only used with --from-cluster`);
  const xdsAddress = v.xds ?? DEFAULT_XDS_ADDRESS;
  const namespace = v['control-plane-namespace'] ?? 'ferry-system';
  if (v['ca-root'] === undefined && !v['from-cluster']) {
    // Without the root a sidecar cannot trust the control plane's TLS port, nor get its
    // certificate: it would retry forever (regression: injected sidecars that never connect).
    throw new UsageError(
      `the sidecars need the mesh root to connect to ${xdsAddress}: give --ca-root FILE ` +
        `(kubectl -n ${namespace} get secret ferry-ca-root -o jsonpath='{.data.ca\\.crt}' | base64 -d > root.pem) ` +
        'or --from-cluster (reads it with your kubeconfig)',
    );
  }
  const identity: MeshIdentityTemplate =
    v['ca-root'] !== undefined
      ? {
          rootPem: await readRoot(v['ca-root']),
          trustDomain: v['trust-domain'] ?? 'cluster.local',
          tokenAudience: v['token-audience'],
          ...(namespace !== 'ferry-system' ? { controlPlaneNamespace: namespace } : {}),
        }
      : // Loaded only here: the Kubernetes client is large, and most runs do not need it.
        await (await import('./inject-cluster.js')).meshIdentityFromCluster({
          kubeconfig: v.kubeconfig ?? defaultKubeconfig(),
          namespace,
          namePrefix: v['name-prefix'] ?? 'ferry',
          tokenAudience: v['token-audience'],
          trustDomain: v['trust-domain'],
        });
  const template = injectionTemplate({
    xdsAddress,
    image: v.image,
    nativeSidecar: supportsNativeSidecars(v['kube-version'] ?? '1.29'),
    capture: v.capture as 'init' | 'cni' | undefined,
    logLevel: level,
    identity,
  });
  let text: string;
  try {
    text = v.filename === '-' ? await readStdin() : await readFile(v.filename, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${v.filename}: ${(err as Error).message}`);
  }
  let result: InjectedManifest;
  try {
    result = injectManifest(text, template, {
      otherMesh: v['skip-other-mesh'] ? 'skip' : 'refuse',
    });
  } catch (err) {
    if (err instanceof InjectError && err.code === 'FERRY_INJECT_OTHER_MESH') {
      throw new InjectError(
        err.code,
        `${err.message}; remove it, or give --skip-other-mesh to leave such workloads alone`,
      );
    }
    throw err;
  }
  report(result.objects);
  if (v.output) await writeFile(v.output, result.yaml);
  else process.stdout.write(result.yaml);
}
