/**
 * What a credential proves: the workload it belongs to. The identity service asks a
 * CredentialVerifier and signs only for the answer. Locally that is Ferry's own token
 * (workload-token.ts); in Kubernetes it will be a TokenReview of the pod's
 * service-account token.
 */
import type { WorkloadName } from './spiffe-id.js';

export interface CredentialVerifier {
  /**
   * The workload the credential proves, or a rejection with an IdentityError
   * (FERRY_TOKEN_INVALID / FERRY_TOKEN_EXPIRED) saying why.
   */
  verify(credential: string): Promise<WorkloadName>;
}
