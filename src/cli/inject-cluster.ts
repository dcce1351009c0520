/**
 * `ferry inject --from-cluster`: the mesh identity of an installed Ferry, read with the
 * user's kubeconfig, so that offline-injected sidecars trust the control plane and prove who
 * they are exactly as webhook-injected ones do: the root from the CA Secret (ca.crt, which
 * the control plane fills on its first start), the trust domain from the mesh ConfigMap, and
 * the token audience the control plane demands from its Deployment's `--token-audience`.
 */
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { CA_SECRET_KEYS, kubeConfigFromFile } from '../controlplane/kubernetes/index.js';
import type { MeshIdentityTemplate } from '../kube/inject/index.js';
import { parseMesh } from '../mesh/index.js';
import { UsageError } from './args.js';

export interface ClusterIdentityOptions {
  readonly kubeconfig: string;
  /** The control plane's namespace (the chart's release namespace). */
  readonly namespace: string;
  /** The chart's namePrefix: <prefix>-ca-root and <prefix>-mesh. */
  readonly namePrefix: string;
  readonly tokenAudience?: string;
  /** A trust domain given on the command line wins over the mesh ConfigMap's. */
  readonly trustDomain?: string;
}

/** One line: the status, the API server's own message, and what to check. */
function apiFailure(what: string, namespace: string, err: unknown): UsageError {
  const e = err as { code?: unknown; body?: unknown } | null;
  const status = typeof e?.code === 'number' ? e.code : undefined;
  let message = err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err);
  if (typeof e?.body === 'string') {
    try {
      const parsed = JSON.parse(e.body) as { message?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {}
  }
  const hint =
    status === 404
      ? ` (is Ferry installed in namespace ${namespace}? --control-plane-namespace, --name-prefix)`
      : status === 401 || status === 403
        ? ' (the kubeconfig user may not read it; or give --ca-root FILE)'
        : '';
  return new UsageError(
    `--from-cluster: cannot read ${what}: ${status !== undefined ? `HTTP ${status}: ` : ''}${message.slice(0, 300)}${hint}`,
  );
}

export async function meshIdentityFromCluster(
  o: ClusterIdentityOptions,
): Promise<MeshIdentityTemplate> {
  const { kubeConfig } = kubeConfigFromFile(o.kubeconfig);
  const api = kubeConfig.makeApiClient(CoreV1Api);
  const secretName = `${o.namePrefix}-ca-root`;
  let secret: Awaited<ReturnType<CoreV1Api['readNamespacedSecret']>>;
  try {
    secret = await api.readNamespacedSecret({ name: secretName, namespace: o.namespace });
  } catch (err) {
    throw apiFailure(`Secret ${o.namespace}/${secretName}`, o.namespace, err);
  }
  const encoded = secret.data?.[CA_SECRET_KEYS.cert];
  const rootPem = encoded ? Buffer.from(encoded, 'base64').toString('utf8') : '';
  if (!/-----BEGIN CERTIFICATE-----/.test(rootPem)) {
    throw new UsageError(
      `--from-cluster: Secret ${o.namespace}/${secretName} holds no ${CA_SECRET_KEYS.cert} yet ` +
        '(the control plane writes it on its first start); or give --ca-root FILE',
    );
  }
  let trustDomain = o.trustDomain;
  if (trustDomain === undefined) {
    const mapName = `${o.namePrefix}-mesh`;
    let text: string | undefined;
    try {
      const map = await api.readNamespacedConfigMap({ name: mapName, namespace: o.namespace });
      text = map.data?.['mesh.yaml'];
    } catch (err) {
      // A missing mesh ConfigMap only means the default trust domain.
      if ((err as { code?: unknown } | null)?.code !== 404)
        throw apiFailure(`ConfigMap ${o.namespace}/${mapName}`, o.namespace, err);
    }
    if (text !== undefined) {
      const parsed = parseMesh(text, `ConfigMap ${o.namespace}/${mapName} mesh.yaml`);
      if (parsed.ok) trustDomain = parsed.config.mesh.trustDomain;
    }
  }
  let tokenAudience = o.tokenAudience;
  if (tokenAudience === undefined) {
    const name = `${o.namePrefix}-control-plane`;
    try {
      const deployment = await kubeConfig
        .makeApiClient(AppsV1Api)
        .readNamespacedDeployment({ name, namespace: o.namespace });
      // The first audience is the one injected sidecars get tokens for (as the webhook does).
      const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
      const flag = args.find((a) => a.startsWith('--token-audience='));
      tokenAudience = flag?.slice('--token-audience='.length);
    } catch (err) {
      // Not installed by the chart: the control plane's audience is unknown, as without it.
      if ((err as { code?: unknown } | null)?.code !== 404)
        throw apiFailure(
          `Deployment ${o.namespace}/${name} (or give --token-audience)`,
          o.namespace,
          err,
        );
    }
  }
  return {
    rootPem,
    trustDomain: trustDomain ?? 'cluster.local',
    tokenAudience,
    // The control plane's SPIFFE ID names its namespace; the sidecar's default is ferry-system.
    ...(o.namespace !== 'ferry-system' ? { controlPlaneNamespace: o.namespace } : {}),
  };
}
