/**
 * The control plane in Kubernetes: reaching the API server, the cluster as a registry
 * source, the CA root in a Secret, and the injection webhook with its managed caBundle.
 */
export {
  CA_SECRET_KEYS,
  loadOrCreateCaSecret,
} from './ca-secret.js';
export { startDiscovery } from './discovery-source.js';
export {
  GatewayApiSource,
  startGatewayApi,
} from './gateway-api-source.js';
export { canonical, type GatewayApiObject, statusUpdates } from './gateway-status.js';
export { type Injector, startInjector } from './injector.js';
export {
  kubeConfigFromFile,
  kubeConfigInCluster,
  type LoadedKubeConfig,
} from './kube-config.js';
export { KubeError } from './kube-error.js';
export { TlsSecretSource } from './tls-secret-source.js';
export { patchWebhookCaBundle } from './webhook-ca-bundle.js';
