import { InjectError } from './inject-error.js';

/**
 * Native sidecars (init containers with `restartPolicy: Always`, KEP-753) are on by default
 * from Kubernetes 1.29 (beta, SidecarContainers feature gate), so 1.29 is where Ferry
 * starts to use them. https://kubernetes.io/docs/concepts/workloads/pods/sidecar-containers/
 */
const NATIVE_SIDECAR_MINOR = 29;

/**
 * Whether a cluster of this version runs native sidecars. Accepts what `kubectl version`
 * and providers print: `1.29`, `v1.30.2`, `v1.29.1-gke.1589020`, `1.28+`.
 */
export function supportsNativeSidecars(version: string): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version.trim());
  if (!m) {
    throw new InjectError(
      'FERRY_INJECT_BAD_VERSION',
      `Kubernetes version "${version}" is not MAJOR.MINOR (e.g. 1.29 or v1.30.2)`,
    );
  }
  const major = Number(m[1]);
  const minor = Number(m[2]);
  return major > 1 || (major === 1 && minor >= NATIVE_SIDECAR_MINOR);
}
