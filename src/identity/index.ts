/**
 * Workload identity: the control plane's certificate authority and identity service
 * (ferry.identity.v1), local workload tokens, the sidecar's WorkloadIdentity, and TLS
 * for the control plane's secure port.
 */
export {
  CA_FILES,
  loadCaDirectory,
} from './ca-directory.js';
export {
  type CaMaterial,
  CertificateAuthority,
} from './certificate-authority.js';
export {
  controlPlaneCredentials,
  controlPlaneSpiffeId,
  DEFAULT_FERRY_NAMESPACE,
  type IdentityUpdate,
  ServingCertificate,
} from './control-plane-tls.js';
export type { CredentialVerifier } from './credential-verifier.js';
export { buildCsr, checkCsr } from './csr.js';
export {
  createIdentityClient,
  type IdentityApi,
} from './identity-api.js';
export { IdentityError } from './identity-error.js';
export { IdentityService } from './identity-service.js';
export { IssuedCertificate, uriSans } from './issued-certificate.js';
export {
  caMaterialFromPem,
  loadOperatorCa,
  type OperatorCaFiles,
} from './operator-ca.js';
export { makeRootCa } from './root-ca.js';
export {
  bearerCredentials,
  credentialFromFile,
  type SidecarIdentity,
  sidecarIdentity,
} from './sidecar-identity.js';
export {
  checkTrustDomain,
  checkWorkloadName,
  type WorkloadName,
} from './spiffe-id.js';
export {
  CredentialRefusedError,
  type IdentityTimers,
  WorkloadIdentity,
} from './workload-identity.js';
export {
  loadOrCreateTokenKey,
  readTokenKey,
  TOKEN_KEY_FILE,
  WorkloadTokens,
} from './workload-token.js';
