/**
 * Probes of the running mesh, polled until they hold: a sidecar is ready, a sidecar sees
 * every instance as an endpoint, a request is answered end to end.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { sendOne } from './traffic.js';

const POLL_MS = 50;

/** Calls `check` until it returns true; false on timeout; throws when `signal` aborts. */
export async function poll(
  check: () => Promise<boolean>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    signal.throwIfAborted();
    if (await check().catch(() => false)) return true;
    if (performance.now() >= deadline) return false;
    await sleep(POLL_MS, undefined, { signal });
  }
}

async function get(url: string, signal: AbortSignal): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { signal });
  return { status: res.status, text: await res.text() };
}

/** GET /healthz/ready on the sidecar's ready port answers 200. */
export function sidecarReady(readyPort: number, signal: AbortSignal): () => Promise<boolean> {
  return async () =>
    (await get(`http://127.0.0.1:${readyPort}/healthz/ready`, signal)).status === 200;
}

interface ClusterJson {
  readonly name: string;
  readonly hosts: ReadonlyArray<{ readonly healthy: boolean }>;
}

/**
 * The sidecar's admin /clusters lists, for each service, its whole-service cluster
 * (`outbound|PORT||HOST`, Envoy's naming) with `count` healthy hosts.
 */
export function sidecarSees(
  adminPort: number,
  expected: ReadonlyMap<string, number>,
  signal: AbortSignal,
): () => Promise<boolean> {
  return async () => {
    const r = await get(`http://127.0.0.1:${adminPort}/clusters?format=json`, signal);
    if (r.status !== 200) return false;
    const { clusters } = JSON.parse(r.text) as { clusters: ClusterJson[] };
    for (const [service, count] of expected) {
      const cluster = clusters.find((c) =>
        new RegExp(`^outbound\\|\\d+\\|\\|${service}\\.`).test(c.name),
      );
      if (!cluster || cluster.hosts.filter((h) => h.healthy).length < count) return false;
    }
    return true;
  };
}

/**
 * Requests through `outbound` to `authority` (the demo's frontend) have been answered 200
 * by way of each of `versions` of reviews; `answered` collects the versions seen so far.
 */
export function answersFromEvery(
  outbound: URL,
  authority: string,
  versions: readonly string[],
  answered: Set<string>,
): () => Promise<boolean> {
  const agent = new http.Agent({ keepAlive: false });
  return async () => {
    const r = await sendOne(agent, outbound, authority, 2000, () => performance.now());
    if (r.status === 200 && r.reviewsVersion !== undefined) answered.add(r.reviewsVersion);
    return versions.every((v) => answered.has(v));
  };
}
