/**
 * How the control plane reaches the API server: a kubeconfig file the operator names, or,
 * in a pod, the in-cluster configuration every client uses (the API server's address from
 * KUBERNETES_SERVICE_HOST/PORT; the service-account token, CA and namespace from the files
 * the kubelet mounts). The token file is read again on each request, so the kubelet's
 * rotation of the projected token is picked up.
 * https://kubernetes.io/docs/tasks/run-application/access-api-from-pod/
 */
import { existsSync, readFileSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeError } from './kube-error.js';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface InClusterSettings {
  /** KUBERNETES_SERVICE_HOST. */
  readonly host: string | undefined;
  /** KUBERNETES_SERVICE_PORT. */
  readonly port: string | undefined;
  /** Where token, ca.crt and namespace are; default SERVICE_ACCOUNT_DIR. */
  readonly dir?: string;
}

export interface LoadedKubeConfig {
  readonly kubeConfig: KubeConfig;
  /** The namespace the configuration names (the pod's, in cluster), if any. */
  readonly namespace: string | undefined;
  /** Where it came from, for the start-up line. */
  readonly source: string;
}

/** A kubeconfig file: its current context, checked to name a cluster and a user. */
export function kubeConfigFromFile(file: string): LoadedKubeConfig {
  if (!existsSync(file))
    throw new KubeError('FERRY_KUBE_CONFIG', `${file}: the kubeconfig file does not exist`);
  const kubeConfig = new KubeConfig();
  try {
    kubeConfig.loadFromFile(file);
  } catch (err) {
    throw new KubeError(
      'FERRY_KUBE_CONFIG',
      `${file}: not a kubeconfig file: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  if (!context)
    throw new KubeError(
      'FERRY_KUBE_CONFIG',
      `${file}: its current-context "${kubeConfig.getCurrentContext()}" is not one of its contexts`,
    );
  if (!kubeConfig.getCurrentCluster())
    throw new KubeError(
      'FERRY_KUBE_CONFIG',
      `${file}: context "${context.name}" names cluster "${context.cluster}", which it does not define`,
    );
  return { kubeConfig, namespace: context.namespace, source: file };
}

/** The in-cluster configuration, or an error saying which part is missing. */
export function kubeConfigInCluster(settings: InClusterSettings): LoadedKubeConfig {
  const dir = settings.dir ?? SERVICE_ACCOUNT_DIR;
  const { host, port } = settings;
  if (!host || !port)
    throw new KubeError(
      'FERRY_KUBE_CONFIG',
      'not running in a Kubernetes pod (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set); give --kubeconfig FILE',
    );
  if (!/^\d+$/.test(port))
    throw new KubeError('FERRY_KUBE_CONFIG', `KUBERNETES_SERVICE_PORT is not a port: "${port}"`);
  const tokenFile = path.join(dir, 'token');
  const caFile = path.join(dir, 'ca.crt');
  for (const [file, what] of [
    [tokenFile, 'service-account token'],
    [caFile, "API server's CA certificate"],
  ] as const)
    if (!existsSync(file))
      throw new KubeError(
        'FERRY_KUBE_CONFIG',
        `${file} (the ${what}) does not exist: is a service account token mounted into the pod (automountServiceAccountToken)?`,
      );
  const namespaceFile = path.join(dir, 'namespace');
  const namespace = existsSync(namespaceFile)
    ? readFileSync(namespaceFile, 'utf8').trim() || undefined
    : undefined;
  const server = `https://${isIPv6(host) ? `[${host}]` : host}:${port}`;
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'in-cluster', server, caFile, skipTLSVerify: false }],
    // client-node's "tokenFile" provider reads the file again once it is a minute old.
    users: [
      { name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile } } },
    ],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account', namespace }],
    currentContext: 'in-cluster',
  });
  return { kubeConfig, namespace, source: `in-cluster (${server})` };
}
