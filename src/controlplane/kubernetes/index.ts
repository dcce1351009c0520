/**
 * The control plane in Kubernetes: reaching the API server, the cluster as a registry
 * source, the CA root in a Secret, and the injection webhook with its managed caBundle.
 */
export {
  CA_SECRET_KEYS,
  type CaFromSecret,
  type CaSecretOptions,
  loadOrCreateCaSecret,
} from './ca-secret.js';
export { type DiscoverySourceOptions, startDiscovery } from './discovery-source.js';
export {
  GATEWAY_API_KINDS,
  GatewayApiSource,
  type GatewayApiWiring,
  startGatewayApi,
} from './gateway-api-source.js';
export { canonical, type GatewayApiObject, statusUpdates } from './gateway-status.js';
export { type Injector, type InjectorOptions, startInjector } from './injector.js';
export {
  type InClusterSettings,
  kubeConfigFromFile,
  kubeConfigInCluster,
  type LoadedKubeConfig,
  SERVICE_ACCOUNT_DIR,
} from './kube-config.js';
export { KubeError, type KubeErrorCode } from './kube-error.js';
export { patchWebhookCaBundle, type WebhookCaBundleOptions } from './webhook-ca-bundle.js';
