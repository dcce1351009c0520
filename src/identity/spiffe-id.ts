/**
 * Workload identities as SPIFFE IDs, in the Kubernetes form Istio uses:
 * spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>.
 * https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md
 */
import { IdentityError } from './identity-error.js';

export interface WorkloadName {
  readonly namespace: string;
  readonly serviceAccount: string;
}

// Kubernetes names: a namespace is a DNS label, a service account a DNS subdomain.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
// SPIFFE trust domains: lower-case letters, digits, dots, dashes and underscores.
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

/** Checks a namespace / service account pair; throws FERRY_IDENTITY_INVALID naming the field. */
export function checkWorkloadName(name: WorkloadName): WorkloadName {
  if (!NAMESPACE.test(name.namespace))
    throw new IdentityError(
      'FERRY_IDENTITY_INVALID',
      `namespace "${name.namespace}" is not a valid Kubernetes namespace name`,
    );
  if (!SERVICE_ACCOUNT.test(name.serviceAccount))
    throw new IdentityError(
      'FERRY_IDENTITY_INVALID',
      `service account "${name.serviceAccount}" is not a valid Kubernetes name`,
    );
  return name;
}

export function checkTrustDomain(trustDomain: string): string {
  if (!TRUST_DOMAIN.test(trustDomain))
    throw new IdentityError(
      'FERRY_IDENTITY_INVALID',
      `trust domain "${trustDomain}" may hold only a-z, 0-9, ".", "-" and "_"`,
    );
  return trustDomain;
}

export function spiffeIdOf(trustDomain: string, name: WorkloadName): string {
  return `spiffe://${trustDomain}/ns/${name.namespace}/sa/${name.serviceAccount}`;
}
