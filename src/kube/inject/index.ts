/** Sidecar injection: the pure pod → JSON patch logic behind the webhook and `ferry inject`. */
export {
  ANNOTATIONS,
  isQuantity,
} from './annotations.js';
export { completionWarning } from './completion-warning.js';
export {
  CA_ROOT_ANNOTATION,
  IDENTITY_MOUNT,
  type MeshIdentityTemplate,
} from './identity-volume.js';
export { InjectError } from './inject-error.js';
export {
  type InjectedManifest,
  injectManifest,
} from './inject-manifest.js';
export { injectPod } from './inject-pod.js';
export { injectionDecision } from './injection-policy.js';
export {
  DEFAULT_PROXY_IMAGE,
  DEFAULT_XDS_ADDRESS,
  type InjectionTemplate,
  injectionTemplate,
  type TemplateOptions,
} from './injection-template.js';
export { applyPatch, type JsonPatch } from './json-patch.js';
export type { PodTemplate, StringMap } from './kube-types.js';
export { supportsNativeSidecars } from './kube-version.js';
export { readManifestDocuments } from './kube-yaml.js';

export { podPatch } from './pod-patch.js';
export { ORIGINAL_PROBES_ANNOTATION } from './probe-rewrite.js';
export {
  INIT_CONTAINER_NAME,
  PROXY_CONTAINER_NAME,
} from './sidecar-containers.js';
