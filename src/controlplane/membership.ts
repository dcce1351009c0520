/**
 * Who may be an endpoint of a service, decided from what the operator declared and never
 * from what a sidecar claims (issue 12, "Anyone can join any service"). A workload with a
 * verified identity (namespace + service account, proven by its credential) joins:
 * - a service of the cluster only where the Service selects it: its address is one of the
 *   Service's EndpointSlice endpoints, and that pod runs as the verified service account
 *   (Kubernetes decides membership, as Istio's endpoints come from the Service's pods);
 * - any other service (the mesh file's, or one the workload implies) only if the service
 *   admits the account (`services[].serviceAccounts`, default the service's own name).
 * The announced namespace and service account must be the verified ones.
 */
import { admittedServiceAccounts, type Service, serviceKey, type Workload } from '../mesh/index.js';

/** The identity a credential proved. */
export interface VerifiedIdentity {
  readonly namespace: string;
  readonly serviceAccount: string;
}

/** Why a registration was refused; stable, used as the metric label. */
export type RefusalReason =
  | 'no_credential'
  | 'invalid_credential'
  | 'identity_mismatch'
  | 'not_admitted'
  | 'not_selected';

export const REFUSAL_REASONS: readonly RefusalReason[] = [
  'no_credential',
  'invalid_credential',
  'identity_mismatch',
  'not_admitted',
  'not_selected',
];

export interface MembershipRefusal {
  readonly reason: RefusalReason;
  readonly message: string;
}

/** Services by `<name>.<namespace>`, for the lookups of one check. */
export type ServiceIndex = ReadonlyMap<string, Service>;

export function indexServices(services: readonly Service[]): Map<string, Service> {
  const byKey = new Map<string, Service>();
  for (const s of services) byKey.set(serviceKey(s.name, s.namespace), s);
  return byKey;
}

/**
 * Undefined when `workload`, proven to be `identity`, may be an endpoint of the service it
 * announces; otherwise why not. `declared`: the mesh file and the cluster merged (without
 * registered workloads); `cluster`: the cluster's own services.
 */
export function checkMembership(
  workload: Workload,
  identity: VerifiedIdentity,
  declared: ServiceIndex,
  cluster: ServiceIndex,
): MembershipRefusal | undefined {
  if (
    workload.namespace !== identity.namespace ||
    workload.serviceAccount !== identity.serviceAccount
  )
    return {
      reason: 'identity_mismatch',
      message: `announces namespace ${workload.namespace} and service account ${workload.serviceAccount}, but its credential proves ${identity.namespace}/${identity.serviceAccount}`,
    };
  const key = serviceKey(workload.service, workload.namespace);
  const discovered = cluster.get(key);
  if (discovered) {
    const pod = discovered.endpoints.find((e) => e.address === workload.address);
    if (!pod)
      return {
        reason: 'not_selected',
        message: `the Kubernetes Service ${key} does not select a pod at ${workload.address}`,
      };
    if (pod.serviceAccount !== identity.serviceAccount)
      return {
        reason: 'not_admitted',
        message: `the pod at ${workload.address} runs as service account ${pod.serviceAccount}, not ${identity.serviceAccount}`,
      };
    return undefined;
  }
  const service = declared.get(key);
  const admitted = service ? admittedServiceAccounts(service) : [workload.service];
  if (!admitted.includes(identity.serviceAccount))
    return {
      reason: 'not_admitted',
      message: `service ${key} admits service accounts [${admitted.join(', ')}], not ${identity.serviceAccount}`,
    };
  return undefined;
}
