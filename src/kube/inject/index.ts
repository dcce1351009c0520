/** Sidecar injection: the pure pod → JSON patch logic behind the webhook and `ferry inject`. */
export {
  ANNOTATIONS,
  isQuantity,
  NAMESPACE_LABEL,
  type PodOverrides,
  readOverrides,
} from './annotations.js';
export { completionWarning, runsToCompletion } from './completion-warning.js';
export {
  CA_ROOT_ANNOTATION,
  IDENTITY_MOUNT,
  type MeshIdentityTemplate,
} from './identity-volume.js';
export { InjectError, type InjectErrorCode } from './inject-error.js';
export {
  type InjectedManifest,
  injectManifest,
  type ManifestObjectResult,
  type ManifestOptions,
} from './inject-manifest.js';
export { injectPod, type PodInjection } from './inject-pod.js';
export {
  alreadyInjected,
  type InjectionDecision,
  type InjectionMode,
  type InjectionScope,
  injectionDecision,
  type SkipNotice,
  SYSTEM_NAMESPACES,
} from './injection-policy.js';
export {
  DEFAULT_PROXY_IMAGE,
  DEFAULT_XDS_ADDRESS,
  type InjectionTemplate,
  injectionTemplate,
  type TemplateOptions,
} from './injection-template.js';
export { type AddOperation, applyPatch, escapePointerToken, type JsonPatch } from './json-patch.js';
export type { Container, ObjectMeta, PodSpec, PodTemplate, StringMap } from './kube-types.js';
export { supportsNativeSidecars } from './kube-version.js';
export { readManifestDocuments, writeManifestObject } from './kube-yaml.js';
export { otherMeshOptOut, otherMeshSidecar } from './other-mesh.js';
export { type PatchContext, podPatch } from './pod-patch.js';
export {
  ORIGINAL_PROBES_ANNOTATION,
  type ProbeRewrite,
  REWRITE_PROBES_ANNOTATION,
  rewriteProbes,
} from './probe-rewrite.js';
export {
  INIT_CONTAINER_NAME,
  PROXY_CONTAINER_NAME,
  serviceName,
  waitUntilReadyScript,
} from './sidecar-containers.js';
