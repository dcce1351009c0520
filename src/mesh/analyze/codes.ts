/**
 * The analyzer's message catalogue: one stable code per kind of problem, as Istio numbers
 * its analyzer messages (IST0101 ReferencedResourceNotFound,
 * https://istio.io/latest/docs/reference/config/analysis/), with a severity and the fix.
 * Codes are never reused or renumbered.
 */

export type Severity = 'error' | 'warning';

export interface MessageType {
  readonly code: string;
  readonly name: string;
  readonly severity: Severity;
  /** What to do about it, in one sentence. */
  readonly fix: string;
}

function type(code: string, name: string, severity: Severity, fix: string): MessageType {
  return { code, name, severity, fix };
}

export const MESSAGES = {
  invalid: type(
    'FM0001',
    'InvalidMeshFile',
    'error',
    'correct the field named; the control plane keeps serving the last valid file until then',
  ),
  unknownSubset: type(
    'FM0101',
    'UnknownSubset',
    'error',
    "declare the subset under the target service's subsets, or name one it has",
  ),
  shadowedRoute: type(
    'FM0102',
    'ShadowedRoute',
    'warning',
    'routes are tried in order: move this route above the one that catches its requests, or narrow that one',
  ),
  noEndpoints: type(
    'FM0103',
    'NoEndpoints',
    'warning',
    'start a workload with a sidecar for the service (ferry proxy --service NAME), or list endpoints in the mesh file',
  ),
  strictForProxyless: type(
    'FM0104',
    'StrictWithProxylessClients',
    'error',
    'proxyless gRPC clients have no certificate: set policy.mtls to PERMISSIVE for the service, or give those clients a sidecar',
  ),
  authorizationNeverMatches: type(
    'FM0105',
    'AuthorizationNeverMatches',
    'warning',
    'name principals in the mesh trust domain, turn mTLS on for the service (principals need it), or remove the rule',
  ),
  weightsNotHundred: type(
    'FM0106',
    'WeightsNotHundred',
    'warning',
    'make the weights add up to 100, so that each one reads as the percentage it gets',
  ),
  unusedSubset: type(
    'FM0107',
    'UnusedSubset',
    'warning',
    'route to the subset (a route backend or mirror with subset: NAME) or remove it',
  ),
} as const;
