/** `ferry inject`: adds the sidecar to Kubernetes manifests offline (as istioctl kube-inject). */
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  DEFAULT_PROXY_IMAGE,
  DEFAULT_XDS_ADDRESS,
  injectionTemplate,
  injectManifest,
  supportsNativeSidecars,
} from '../kube/inject/index.js';
import { UsageError } from './args.js';

export const INJECT_HELP = `Usage: ferry inject -f FILE [options]

Adds Ferry's sidecar (and the ferry-init container that installs the traffic capture)
to every workload of a Kubernetes manifest: Deployments, StatefulSets, DaemonSets,
ReplicaSets, Jobs, CronJobs and Pods. Multi-document YAML in, YAML out; other objects
pass through. A workload is left alone when it opts out (annotation ferry.io/inject:
"false"), is already injected, or uses hostNetwork.

  ferry inject -f app.yaml | kubectl apply -f -
  kubectl get deploy web -o yaml | ferry inject -f - | kubectl apply -f -

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
      --token-audience AUD  the audience of that token (the control plane's --token-audience)
      --trust-domain TD   SPIFFE trust domain                     (default cluster.local)
  -h, --help              show this help
`;

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
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
      'token-audience': { type: 'string' },
      'trust-domain': { type: 'string' },
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
  for (const flag of ['token-audience', 'trust-domain'] as const)
    if (v[flag] !== undefined && v['ca-root'] === undefined)
      throw new UsageError(`--${flag} needs --ca-root FILE (the sidecar's identity)`);
  let rootPem: string | undefined;
  if (v['ca-root'] !== undefined) {
    try {
      rootPem = await readFile(v['ca-root'], 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --ca-root ${v['ca-root']}: ${(err as Error).message}`);
    }
    if (!/-----BEGIN CERTIFICATE-----/.test(rootPem))
      throw new UsageError(`--ca-root ${v['ca-root']} holds no PEM certificate`);
  }
  const template = injectionTemplate({
    xdsAddress: v.xds,
    image: v.image,
    nativeSidecar: supportsNativeSidecars(v['kube-version'] ?? '1.29'),
    capture: v.capture as 'init' | 'cni' | undefined,
    logLevel: level,
    identity:
      rootPem === undefined
        ? undefined
        : {
            rootPem,
            trustDomain: v['trust-domain'] ?? 'cluster.local',
            tokenAudience: v['token-audience'],
          },
  });
  let text: string;
  try {
    text = v.filename === '-' ? await readStdin() : await readFile(v.filename, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${v.filename}: ${(err as Error).message}`);
  }
  const { yaml, objects } = injectManifest(text, template);
  for (const o of objects) {
    if (!o.injected && o.reason !== 'not a workload') {
      process.stderr.write(`ferry inject: left ${o.kind} ${o.name} alone: ${o.reason}\n`);
    }
  }
  if (v.output) await writeFile(v.output, yaml);
  else process.stdout.write(yaml);
}
