/** What the demo runs: every instance gets its own sidecar; loadgen is the traffic's. */

export interface DemoInstance {
  readonly service: string;
  readonly version: string;
  /** False for loadgen: a sidecar with no app behind it, used by the traffic generator. */
  readonly app: boolean;
}

export const DEMO_PLAN: readonly DemoInstance[] = [
  { service: 'catalog', version: 'v1', app: true },
  { service: 'reviews', version: 'v1', app: true },
  { service: 'reviews', version: 'v2', app: true },
  { service: 'frontend', version: 'v1', app: true },
  { service: 'loadgen', version: 'v1', app: false },
];

/** The service the traffic generator calls. */
export const ENTRY_SERVICE = 'frontend';

/** How many instances each service with an app has: what every sidecar should see. */
export function expectedEndpoints(plan: readonly DemoInstance[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const i of plan) if (i.app) counts.set(i.service, (counts.get(i.service) ?? 0) + 1);
  return counts;
}
