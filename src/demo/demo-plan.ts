/**
 * What the demo runs: every instance gets its own sidecar, and the traffic enters from
 * outside the mesh through a `ferry gateway` implementing DEMO_GATEWAY.
 */

export interface DemoInstance {
  readonly service: string;
  readonly version: string;
  /** False for a sidecar with no app behind it. */
  readonly app: boolean;
}

export const DEMO_PLAN: readonly DemoInstance[] = [
  { service: 'catalog', version: 'v1', app: true },
  { service: 'reviews', version: 'v1', app: true },
  { service: 'reviews', version: 'v2', app: true },
  { service: 'frontend', version: 'v1', app: true },
];

/** The service the gateway's HTTPRoute sends the traffic to. */
export const ENTRY_SERVICE = 'frontend';

/**
 * The Gateway the demo's mesh file declares (an HTTP listener on `listenerPort`, an
 * HTTPRoute to ENTRY_SERVICE) and `ferry gateway` implements. Its listener port is the one
 * a user would expose (80); the demo runs the gateway with `--port-offset` so that it
 * listens on a free unprivileged port instead.
 */
export const DEMO_GATEWAY = { namespace: 'default', name: 'edge', listenerPort: 80 } as const;

/** How many instances each service with an app has: what every sidecar should see. */
export function expectedEndpoints(plan: readonly DemoInstance[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const i of plan) if (i.app) counts.set(i.service, (counts.get(i.service) ?? 0) + 1);
  return counts;
}
