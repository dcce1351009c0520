/** `ferry control-plane`: runs the control plane on a mesh file (and, in cluster, Kubernetes). */
import { readFileSync } from 'node:fs';
import type { LoadedKubeConfig } from '../controlplane/index.js';
import { createLogger } from '../log/index.js';
import { UsageError } from './args.js';
import { CONTROL_PLANE_HELP, parseControlPlaneArgs } from './control-plane-args.js';
import { stateFile, writeControlPlaneState } from './state-file.js';

export { CONTROL_PLANE_HELP } from './control-plane-args.js';

type ControlPlaneModule = typeof import('../controlplane/index.js');

/** The API server's configuration: the kubeconfig named, else the pod's in-cluster one. */
function loadKubeConfig(
  { kubeConfigFromFile, kubeConfigInCluster }: ControlPlaneModule,
  kubeconfig: string | undefined,
): LoadedKubeConfig {
  return kubeconfig !== undefined
    ? kubeConfigFromFile(kubeconfig)
    : kubeConfigInCluster({
        host: process.env.KUBERNETES_SERVICE_HOST,
        port: process.env.KUBERNETES_SERVICE_PORT,
      });
}

export async function runControlPlane(argv: string[]): Promise<void> {
  const args = parseControlPlaneArgs(argv);
  if (args.help) {
    process.stdout.write(CONTROL_PLANE_HELP);
    return;
  }
  const debugToken = args.debugTokenFile ? readDebugToken(args.debugTokenFile) : undefined;
  // The control plane's modules (gRPC, protos, Kubernetes client, CA) load once the flags
  // are known good: a usage error or --help answers without about 0.7 s of CPU to load them.
  const controlPlane = await import('../controlplane/index.js');
  const log = createLogger({ level: args.logLevel, name: 'control-plane' });
  const loaded = args.kubernetes
    ? loadKubeConfig(controlPlane, args.kubernetes.kubeconfig)
    : undefined;
  const cp = await controlPlane.ControlPlane.start({
    ...args.options,
    debugToken,
    // In a pod the namespace comes with the service account, as a fallback to --namespace.
    namespace: args.options.namespace ?? loaded?.namespace,
    kubernetes:
      args.kubernetes && loaded
        ? { ...args.kubernetes.settings, kubeConfig: loaded.kubeConfig }
        : undefined,
    log,
  });
  const host = args.options.host ?? '127.0.0.1';
  const secure = cp.identity
    ? `, xDS+identity over TLS on ${host}:${cp.securePort} as ${cp.identity.spiffeId}`
    : '';
  const webhook = cp.webhookPort
    ? `, injection webhook on https://${host}:${cp.webhookPort}/inject`
    : '';
  const kube = loaded ? `, Kubernetes API ${loaded.source}` : '';
  process.stdout.write(
    `ferry control plane: xDS on ${host}:${cp.xdsPort}${secure}${webhook}, ` +
      `HTTP on http://${host}:${cp.httpPort}/ (config ${args.config}${kube})\n`,
  );
  // So that proxy-status, proxy-config, check, analyze and version find this control plane
  // without flags (its ports may be random, as the demo's are).
  const httpHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const removeState = writeControlPlaneState(
    {
      pid: process.pid,
      http: `http://${httpHost.includes(':') ? `[${httpHost}]` : httpHost}:${cp.httpPort}`,
      xds: `${httpHost}:${cp.xdsPort}`,
      ...(cp.identity ? { secure: `${httpHost}:${cp.securePort}` } : {}),
      config: args.config,
      startedAt: new Date().toISOString(),
    },
    process.env,
  );
  if (removeState) log.debug({ file: stateFile(process.env) }, 'state file written');
  const stop = async () => {
    removeState?.();
    await cp.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

/** The debug token: the file's first line; an unreadable or empty file is a usage error. */
function readDebugToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--debug-token-file: cannot read ${file}: ${(err as Error).message}`);
  }
  const token = text.split('\n')[0].trim();
  if (token.length < 16)
    throw new UsageError(`--debug-token-file: ${file} must hold a token of at least 16 characters`);
  return token;
}
