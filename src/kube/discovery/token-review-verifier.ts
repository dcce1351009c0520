/**
 * A CredentialVerifier for Kubernetes: the credential is a pod's service-account token, and
 * the API server says whose it is (POST authentication.k8s.io/v1 TokenReview,
 * https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-review-v1/).
 * An authenticated `system:serviceaccount:<namespace>:<name>` is that workload; anything
 * else is refused with an IdentityError FERRY_TOKEN_INVALID saying why, as the identity
 * service expects of every verifier. The API server being unreachable or refusing the review
 * itself is not the token's fault: that is a DiscoveryError FERRY_TOKEN_REVIEW_FAILED.
 *
 * With an audience (Istio uses "istio-ca"; Ferry's projected tokens use "ferry"), only
 * tokens issued for it are accepted: a token minted for some other service cannot be
 * replayed here.
 */
import type { AuthenticationV1Api, V1TokenReview } from '@kubernetes/client-node';
import {
  type CredentialVerifier,
  checkWorkloadName,
  IdentityError,
  type WorkloadName,
} from '../../identity/index.js';
import { DiscoveryError } from './discovery-error.js';

const SERVICE_ACCOUNT_PREFIX = 'system:serviceaccount:';

export interface TokenReviewVerifierOptions {
  /** Made by the caller: kubeConfig.makeApiClient(AuthenticationV1Api). */
  readonly api: AuthenticationV1Api;
  /** The audiences a token must be issued for; empty or absent: the API server's default. */
  readonly audiences?: readonly string[];
}

export class TokenReviewVerifier implements CredentialVerifier {
  constructor(private readonly o: TokenReviewVerifierOptions) {}

  async verify(token: string): Promise<WorkloadName> {
    if (!token) throw new IdentityError('FERRY_TOKEN_INVALID', 'no service-account token was sent');
    const audiences = [...(this.o.audiences ?? [])];
    let review: V1TokenReview;
    try {
      review = await this.o.api.createTokenReview({
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenReview',
          spec: { token, ...(audiences.length > 0 ? { audiences } : {}) },
        },
      });
    } catch (e) {
      const err = e as { code?: number; message?: string };
      throw new DiscoveryError(
        'FERRY_TOKEN_REVIEW_FAILED',
        `the API server did not review the token${err.code ? ` (HTTP ${err.code})` : ''}: ${firstLine(err.message)}`,
      );
    }
    const status = review.status;
    if (!status?.authenticated) {
      throw new IdentityError(
        'FERRY_TOKEN_INVALID',
        `the API server did not authenticate the token${status?.error ? `: ${status.error}` : ''}`,
      );
    }
    if (audiences.length > 0 && !status.audiences?.some((a) => audiences.includes(a))) {
      throw new IdentityError(
        'FERRY_TOKEN_INVALID',
        `the token is not for audience ${audiences.join(' or ')} (it is for ${status.audiences?.join(', ') || 'no audience'})`,
      );
    }
    const username = status.user?.username ?? '';
    const parts = username.startsWith(SERVICE_ACCOUNT_PREFIX)
      ? username.slice(SERVICE_ACCOUNT_PREFIX.length).split(':')
      : [];
    if (parts.length !== 2 || !parts[0] || !parts[1]) {
      throw new IdentityError(
        'FERRY_TOKEN_INVALID',
        `the token belongs to "${username}", not to a service account (system:serviceaccount:<namespace>:<name>)`,
      );
    }
    return checkWorkloadName({ namespace: parts[0], serviceAccount: parts[1] });
  }
}

function firstLine(message: string | undefined): string {
  return (message ?? 'no reason given').split('\n')[0].slice(0, 300);
}
