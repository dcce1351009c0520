/**
 * What an injected sidecar needs to get its certificate from the control plane: the mesh
 * root (to trust the control plane's secure port) and a service-account token (the
 * credential the control plane checks by TokenReview). Both arrive in one projected volume:
 * the token as a projected service-account token (for the audience the control plane asks
 * for, rotated by the kubelet), the root from an annotation the injector writes on the pod,
 * through the downward API, so that no ConfigMap has to be copied into every namespace.
 * https://kubernetes.io/docs/concepts/storage/projected-volumes/
 */

/** The pod annotation carrying the mesh root (PEM). */
export const CA_ROOT_ANNOTATION = 'ferry.io/ca-root';
export const IDENTITY_VOLUME = 'ferry-identity';
export const IDENTITY_MOUNT = '/var/run/ferry/identity';
export const ROOT_FILE = 'root-cert.pem';
export const TOKEN_FILE = 'token';
/** 12 h, as Istio's istio-token; the kubelet renews it at 80 % of its life. */
const TOKEN_EXPIRATION_SECONDS = 43_200;

/** The mesh identity the webhook hands to injected sidecars. */
export interface MeshIdentityTemplate {
  /** The mesh root(s), PEM. */
  readonly rootPem: string;
  readonly trustDomain: string;
  /** The audience the token is issued for; absent: the API server's own. */
  readonly tokenAudience?: string;
  /** The namespace in the control plane's SPIFFE ID; absent: the sidecar's default. */
  readonly controlPlaneNamespace?: string;
}

export function identityVolume(identity: MeshIdentityTemplate): Record<string, unknown> {
  return {
    name: IDENTITY_VOLUME,
    projected: {
      // Readable by the proxy's user (the app containers run as other users).
      defaultMode: 0o444,
      sources: [
        {
          serviceAccountToken: {
            path: TOKEN_FILE,
            expirationSeconds: TOKEN_EXPIRATION_SECONDS,
            ...(identity.tokenAudience ? { audience: identity.tokenAudience } : {}),
          },
        },
        {
          downwardAPI: {
            items: [
              {
                path: ROOT_FILE,
                fieldRef: { fieldPath: `metadata.annotations['${CA_ROOT_ANNOTATION}']` },
              },
            ],
          },
        },
      ],
    },
  };
}

/** `ferry proxy` flags that turn on mTLS with the files of the volume. */
export function identityArgs(identity: MeshIdentityTemplate): string[] {
  return [
    '--ca-root',
    `${IDENTITY_MOUNT}/${ROOT_FILE}`,
    '--token-file',
    `${IDENTITY_MOUNT}/${TOKEN_FILE}`,
    '--trust-domain',
    identity.trustDomain,
    ...(identity.controlPlaneNamespace
      ? ['--control-plane-namespace', identity.controlPlaneNamespace]
      : []),
  ];
}

export const IDENTITY_VOLUME_MOUNT = {
  name: IDENTITY_VOLUME,
  mountPath: IDENTITY_MOUNT,
  readOnly: true,
} as const;
