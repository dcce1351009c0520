/**
 * Workload identity: the control plane's certificate authority and identity service
 * (ferry.identity.v1), local workload tokens, the sidecar's WorkloadIdentity, and TLS
 * for the control plane's secure port.
 */
export {
  CA_FILES,
  type CaDirectoryOptions,
  type LoadedCa,
  loadCaDirectory,
} from './ca-directory.js';
export {
  type CaMaterial,
  type CaOptions,
  CertificateAuthority,
  DEFAULT_CERT_TTL_MS,
  type IssuedChain,
} from './certificate-authority.js';
export {
  CONTROL_PLANE_SERVICE_ACCOUNT,
  controlPlaneCredentials,
  controlPlaneSpiffeId,
  DEFAULT_FERRY_NAMESPACE,
  type IdentityUpdate,
  ServingCertificate,
  type ServingCertificateOptions,
} from './control-plane-tls.js';
export type { CredentialVerifier } from './credential-verifier.js';
export { buildCsr, type CheckedCsr, checkCsr } from './csr.js';
export {
  type CreateCertificateRequest,
  type CreateCertificateResponse,
  createIdentityClient,
  type IdentityApi,
  identityServiceDefinition,
} from './identity-api.js';
export { IdentityError, type IdentityErrorCode } from './identity-error.js';
export {
  type CsrResult,
  IdentityService,
  type IdentityServiceOptions,
} from './identity-service.js';
export { IssuedCertificate, REDACTED, uriSans } from './issued-certificate.js';
export {
  type CaPemParts,
  caMaterialFromPem,
  loadOperatorCa,
  type OperatorCaFiles,
  type PemPart,
} from './operator-ca.js';
export { makeRootCa, type RootPem } from './root-ca.js';
export {
  bearerCredentials,
  credentialFromFile,
  type SidecarIdentity,
  type SidecarIdentityOptions,
  sidecarIdentity,
} from './sidecar-identity.js';
export {
  checkTrustDomain,
  checkWorkloadName,
  spiffeIdOf,
  type WorkloadName,
} from './spiffe-id.js';
export {
  type CertificateListener,
  CredentialRefusedError,
  DEFAULT_MAX_CREDENTIAL_FAILURES,
  type IdentityTimers,
  WorkloadIdentity,
  type WorkloadIdentityOptions,
} from './workload-identity.js';
export {
  loadOrCreateTokenKey,
  readTokenKey,
  TOKEN_KEY_FILE,
  WorkloadTokens,
} from './workload-token.js';
