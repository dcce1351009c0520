/**
 * Starting the demo mesh: the control plane, then every instance of the plan side by side
 * (its app, then its sidecar), every port picked by the OS and read from what each process
 * prints. Then waiting until the mesh has come together: every sidecar ready and seeing
 * every instance, and one request answered end to end; without that the first seconds of
 * traffic would race the control plane's pushes.
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadOrCreateTokenKey, WorkloadTokens } from '../identity/index.js';
import type { DemoFleet } from './demo-fleet.js';
import type { DemoInstance } from './demo-plan.js';
import { expectedEndpoints } from './demo-plan.js';
import type { DemoProcess } from './demo-process.js';
import { answers, poll, sidecarReady, sidecarSees } from './wait-for-mesh.js';
import type { SidecarPorts } from './where-table.js';

/** The demo could not start; everything it had started has been stopped. */
export class DemoError extends Error {
  readonly code = 'FERRY_DEMO_START';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DemoError';
  }
}

export interface StartedInstance {
  readonly instance: DemoInstance;
  /** The sidecar's xDS node id, as /debug/config_dump?node= takes it. */
  readonly nodeId: string;
  readonly app?: { readonly proc: DemoProcess; readonly port: number };
  readonly sidecar: { readonly proc: DemoProcess; readonly ports: SidecarPorts };
}

export interface StartedMesh {
  readonly controlPlane: {
    readonly proc: DemoProcess;
    readonly xdsPort: number;
    /** xDS and identity over TLS: where the sidecars connect. */
    readonly securePort: number;
    readonly httpPort: number;
  };
  readonly instances: readonly StartedInstance[];
}

export interface StartOptions {
  readonly meshFile: string;
  readonly plan: readonly DemoInstance[];
  /** How long one process may take to start, and the mesh to come together. */
  readonly timeoutMs: number;
  /** Sidecars' --drain, ms. */
  readonly drainMs: number;
  readonly signal: AbortSignal;
  /**
   * The control plane's CA directory (made for the run): every sidecar gets a workload token
   * for its service account and speaks mTLS, as in a real mesh.
   */
  readonly caDir: string;
}

const CONTROL_PLANE_PORTS =
  /^ferry control plane: xDS on [^ ]+:(\d+), xDS\+identity over TLS on [^ ]+:(\d+) as \S+, HTTP on http:\/\/[^/]+:(\d+)\//;
const PROXY_PORTS =
  /^ferry proxy \S+: outbound (\d+), inbound (\d+), admin (\d+), metrics (\d+), ready (\d+)/;
const APP_PORT = /^demo app \S+ \S+ listening on 127\.0\.0\.1:(\d+)/;

const DAY_MS = 24 * 3600 * 1000;

function tokenFile(caDir: string, service: string): string {
  return path.join(caDir, 'tokens', `${service}.token`);
}

export async function startMesh(fleet: DemoFleet, o: StartOptions): Promise<StartedMesh> {
  const cp = fleet.spawn('controlPlane', 'control-plane', [
    ...['control-plane', '--config', o.meshFile],
    ...['--xds-port', '0', '--http-port', '0', '--log-level', 'warn'],
    ...['--ca-dir', o.caDir, '--secure-port', '0', '--scrape-interval', '2000'],
  ]);
  const [, xdsPort, securePort, httpPort] = (
    await cp.waitFor(CONTROL_PLANE_PORTS, o.timeoutMs, o.signal)
  ).map(Number);
  // One workload token per service account, as `ferry token` prints them.
  const tokens = new WorkloadTokens(loadOrCreateTokenKey(o.caDir));
  mkdirSync(path.join(o.caDir, 'tokens'), { recursive: true, mode: 0o700 });
  for (const instance of o.plan) {
    const file = tokenFile(o.caDir, instance.service);
    const token = tokens.issue({ namespace: 'default', serviceAccount: instance.service }, DAY_MS);
    writeFileSync(file, token, { mode: 0o600 });
  }

  // Side by side: the sidecars find each other through the control plane. The first
  // failure ends the others' start-up, and nothing new is spawned once all have settled.
  const failed = new AbortController();
  const signal = AbortSignal.any([o.signal, failed.signal]);
  let firstError: unknown;
  const settled = await Promise.allSettled(
    o.plan.map((instance) =>
      startInstance(fleet, instance, securePort, { ...o, signal }).catch((err: unknown) => {
        firstError ??= err;
        failed.abort();
        throw err;
      }),
    ),
  );
  if (firstError !== undefined) throw firstError;
  return {
    controlPlane: { proc: cp, xdsPort, securePort, httpPort },
    instances: settled.map((r) => (r as PromiseFulfilledResult<StartedInstance>).value),
  };
}

async function startInstance(
  fleet: DemoFleet,
  instance: DemoInstance,
  xdsPort: number,
  o: StartOptions,
): Promise<StartedInstance> {
  const name = `${instance.service} ${instance.version}`;
  let app: StartedInstance['app'];
  if (instance.app) {
    const proc = fleet.spawn('apps', name, [
      ...['demo', 'app', '--name', instance.service, '--version', instance.version],
      ...['--port', '0'],
    ]);
    const m = await proc.waitFor(APP_PORT, o.timeoutMs, o.signal);
    app = { proc, port: Number(m[1]) };
  }
  const nodeId = `${instance.service}-${instance.version}`;
  const proc = fleet.spawn('sidecars', `sidecar ${name}`, [
    ...['proxy', '--xds', `127.0.0.1:${xdsPort}`, '--service', instance.service],
    ...['--id', nodeId, '--labels', `version=${instance.version}`],
    ...[
      '--service-account',
      instance.service,
      '--token-file',
      tokenFile(o.caDir, instance.service),
    ],
    ...['--ca-root', path.join(o.caDir, 'root-cert.pem')],
    ...(app ? ['--app-port', String(app.port)] : []),
    ...['--outbound-port', '0', '--inbound-port', '0', '--admin-port', '0'],
    ...['--metrics-port', '0', '--ready-port', '0'],
    ...['--drain', String(o.drainMs), '--log-level', 'warn'],
  ]);
  const [, outbound, inbound, admin, metrics, ready] = (
    await proc.waitFor(PROXY_PORTS, o.timeoutMs, o.signal)
  ).map(Number);
  // Both started on port 0, so the app learns its sidecar's outbound port only now.
  app?.proc.send({ outbound: `http://127.0.0.1:${outbound}` });
  if (!(await poll(sidecarReady(ready, o.signal), o.timeoutMs, o.signal))) {
    throw new DemoError(`sidecar ${name} did not become ready within ${o.timeoutMs} ms`);
  }
  return {
    instance,
    nodeId,
    app,
    sidecar: { proc, ports: { outbound, inbound, admin, metrics, ready } },
  };
}

/**
 * Waits until every sidecar sees every instance and `entry` answers through `outbound`.
 * Resolves with what did not come together in time (the demo warns and goes on).
 */
export async function waitForMesh(
  mesh: StartedMesh,
  entry: { readonly outbound: URL; readonly authority: string },
  o: Pick<StartOptions, 'plan' | 'timeoutMs' | 'signal'>,
): Promise<string[]> {
  const expected = expectedEndpoints(o.plan);
  const seen = await Promise.all(
    mesh.instances.map((s) =>
      poll(sidecarSees(s.sidecar.ports.admin, expected, o.signal), o.timeoutMs, o.signal),
    ),
  );
  const problems = mesh.instances
    .filter((_, i) => !seen[i])
    .map((s) => `sidecar ${s.nodeId} does not see every instance yet`);
  if (!(await poll(answers(entry.outbound, entry.authority), o.timeoutMs, o.signal))) {
    problems.push(`${entry.authority} has not answered 200 yet`);
  }
  return problems;
}
