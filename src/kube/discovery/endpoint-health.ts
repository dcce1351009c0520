/**
 * An EndpointSlice endpoint's conditions as a mesh health status
 * (https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#conditions):
 * ready → HEALTHY; terminating but still serving → DRAINING (finishes what it has, gets
 * nothing new); anything else → UNHEALTHY. An absent condition is "unknown", which the API
 * says consumers should read as ready/serving, and as not terminating.
 */
import type { HealthStatus } from '../../mesh/index.js';
import type { KubeEndpoint } from './kube-objects.js';

export function endpointHealth(conditions: KubeEndpoint['conditions']): HealthStatus {
  const ready = conditions?.ready ?? true;
  const serving = conditions?.serving ?? ready;
  const terminating = conditions?.terminating ?? false;
  if (terminating) return serving ? 'DRAINING' : 'UNHEALTHY';
  if (ready) return 'HEALTHY';
  return 'UNHEALTHY';
}
