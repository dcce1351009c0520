/**
 * Starting the demo mesh: the control plane, then every instance of the plan (its app, then
 * its sidecar) and the gateway side by side, every port picked by the OS and read from what
 * each process prints (the gateway's listener port, which its Gateway resource names, is
 * shifted to a free one with --port-offset). Then waiting until the mesh has come together: every sidecar ready and seeing
 * every instance, and the entry service answering end to end through every version of the
 * services it calls; without that the first seconds of traffic would race the control
 * plane's pushes (a version whose subset a sidecar has not been sent yet answers 503, and
 * the entry 502). Each step is reported as it completes (StartProgress).
 *
 * The waits are for conditions; their time limits only catch a mesh that will never come
 * together, and are far above what a busy machine takes: when one runs out the demo stops
 * with the reason rather than send traffic to a mesh that is not ready.
 */

import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { loadOrCreateTokenKey, WorkloadTokens } from '../identity/index.js';
import type { DemoFleet } from './demo-fleet.js';
import type { DemoInstance } from './demo-plan.js';
import { DEMO_GATEWAY, expectedEndpoints } from './demo-plan.js';
import type { DemoProcess } from './demo-process.js';
import type { StartProgress } from './start-progress.js';
import { answersFromEvery, poll, sidecarReady, sidecarSees } from './wait-for-mesh.js';
import type { GatewayPorts, SidecarPorts } from './where-table.js';

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
  /** `ferry gateway`: where the traffic enters the mesh. */
  readonly gateway: StartedGateway;
}

export interface StartedGateway {
  readonly proc: DemoProcess;
  /** `<namespace>/<name>` of the Gateway it implements. */
  readonly ref: string;
  readonly ports: GatewayPorts;
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
  readonly progress: StartProgress;
}

const CONTROL_PLANE_PORTS =
  /^ferry control plane: xDS on [^ ]+:(\d+), xDS\+identity over TLS on [^ ]+:(\d+) as \S+, HTTP on http:\/\/[^/]+:(\d+)\//;
const PROXY_PORTS =
  /^ferry proxy \S+: outbound (\d+), inbound (\d+), admin (\d+), metrics (\d+), ready (\d+)/;
const APP_PORT = /^demo app \S+ \S+ listening on 127\.0\.0\.1:(\d+)/;
const GATEWAY_PORTS = /^ferry gateway \S+ \([^)]*\): admin (\d+), metrics (\d+), ready (\d+)/;

const DAY_MS = 24 * 3600 * 1000;

function tokenFile(caDir: string, service: string): string {
  return path.join(caDir, 'tokens', `${service}.token`);
}

/**
 * A port free now, below the kernel's ephemeral range (32768..): one from that range could
 * be handed to any process's next port-0 bind before the gateway binds it.
 */
async function freeListenerPort(): Promise<number> {
  const port = 20_000 + Math.floor(Math.random() * 10_000);
  const probe = createServer().listen(port, '127.0.0.1');
  try {
    await once(probe, 'listening');
  } catch {
    return freeListenerPort(); // taken: another one
  }
  probe.close();
  await once(probe, 'close');
  return port;
}

export async function startMesh(fleet: DemoFleet, o: StartOptions): Promise<StartedMesh> {
  const progress = o.progress;
  progress.stage('starting the control plane');
  // At info: the demo shows its verdict on every mesh file edit (see log-line.ts).
  const cp = fleet.spawn('controlPlane', 'control-plane', [
    ...['control-plane', '--config', o.meshFile],
    ...['--xds-port', '0', '--http-port', '0', '--log-level', 'info'],
    ...['--ca-dir', o.caDir, '--secure-port', '0', '--scrape-interval', '2000'],
  ]);
  progress.begin('the control plane');
  const [, xdsPort, securePort, httpPort] = (
    await cp.waitFor(CONTROL_PLANE_PORTS, o.timeoutMs, o.signal)
  ).map(Number);
  progress.done('the control plane', `control plane up, its CA made (pid ${cp.pid})`);
  const apps = o.plan.filter((i) => i.app).length;
  progress.stage(
    `starting ${apps} apps, ${o.plan.length} sidecars and the gateway side by side (each proxy gets its certificate, then its configuration)`,
  );
  // One workload token per service account, as `ferry token` prints them; the gateway's is
  // in its Gateway's namespace, which is what entitles it to that Gateway's configuration.
  const tokens = new WorkloadTokens(loadOrCreateTokenKey(o.caDir));
  mkdirSync(path.join(o.caDir, 'tokens'), { recursive: true, mode: 0o700 });
  const accounts = [
    ...o.plan.map((i) => ({ namespace: 'default', serviceAccount: i.service })),
    { namespace: DEMO_GATEWAY.namespace, serviceAccount: DEMO_GATEWAY.name },
  ];
  for (const account of accounts) {
    const token = tokens.issue(account, DAY_MS);
    writeFileSync(tokenFile(o.caDir, account.serviceAccount), token, { mode: 0o600 });
  }

  // Side by side: the sidecars find each other through the control plane. The first
  // failure ends the others' start-up, and nothing new is spawned once all have settled.
  const failed = new AbortController();
  const signal = AbortSignal.any([o.signal, failed.signal]);
  let firstError: unknown;
  const firstFails = (err: unknown): never => {
    firstError ??= err;
    failed.abort();
    throw err;
  };
  const [settled, gateway] = await Promise.allSettled([
    Promise.allSettled(
      o.plan.map((instance) =>
        startInstance(fleet, instance, securePort, { ...o, signal }).catch(firstFails),
      ),
    ),
    startGateway(fleet, securePort, { ...o, signal }).catch(firstFails),
  ]);
  if (firstError !== undefined) throw firstError;
  return {
    controlPlane: { proc: cp, xdsPort, securePort, httpPort },
    instances: (
      settled as PromiseFulfilledResult<PromiseSettledResult<StartedInstance>[]>
    ).value.map((r) => (r as PromiseFulfilledResult<StartedInstance>).value),
    gateway: (gateway as PromiseFulfilledResult<StartedGateway>).value,
  };
}

/**
 * `ferry gateway` for DEMO_GATEWAY, one worker (the demo's rate needs no more, and the
 * machine is shared with the whole mesh), on 127.0.0.1 only, with its own identity and mTLS
 * to the sidecars, its listener shifted from the Gateway's port to a free one.
 */
async function startGateway(
  fleet: DemoFleet,
  xdsPort: number,
  o: StartOptions,
): Promise<StartedGateway> {
  const ref = `${DEMO_GATEWAY.namespace}/${DEMO_GATEWAY.name}`;
  const listener = await freeListenerPort();
  const proc = fleet.spawn('gateway', 'gateway', [
    ...['gateway', '--xds', `127.0.0.1:${xdsPort}`, '--gateway', ref],
    ...['--bind', '127.0.0.1', '--port-offset', String(listener - DEMO_GATEWAY.listenerPort)],
    ...['--concurrency', '1', '--token-file', tokenFile(o.caDir, DEMO_GATEWAY.name)],
    ...['--ca-root', path.join(o.caDir, 'root-cert.pem')],
    ...['--admin-port', '0', '--metrics-port', '0', '--ready-port', '0'],
    ...['--drain', String(o.drainMs), '--log-level', 'warn'],
  ]);
  const what = `gateway ${ref}`;
  o.progress.begin(what);
  const [, admin, metrics, ready] = (await proc.waitFor(GATEWAY_PORTS, o.timeoutMs, o.signal)).map(
    Number,
  );
  if (!(await poll(sidecarReady(ready, o.signal), o.timeoutMs, o.signal))) {
    throw new DemoError(`gateway ${ref} did not become ready within ${o.timeoutMs} ms`);
  }
  o.progress.done(what, `gateway ${ref} ready: its listener on 127.0.0.1:${listener}`);
  return { proc, ref, ports: { listener, admin, metrics, ready } };
}

async function startInstance(
  fleet: DemoFleet,
  instance: DemoInstance,
  xdsPort: number,
  o: StartOptions,
): Promise<StartedInstance> {
  const name = `${instance.service} ${instance.version}`;
  const progress = o.progress;
  let app: StartedInstance['app'];
  if (instance.app) {
    const proc = fleet.spawn('apps', name, [
      ...['demo', 'app', '--name', instance.service, '--version', instance.version],
      ...['--port', '0'],
    ]);
    progress.begin(`app ${name}`);
    const m = await proc.waitFor(APP_PORT, o.timeoutMs, o.signal);
    app = { proc, port: Number(m[1]) };
    progress.done(`app ${name}`, `app ${name} listening on ${app.port}`);
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
  const sidecar = `sidecar ${name}`;
  progress.begin(sidecar);
  const [, outbound, inbound, admin, metrics, ready] = (
    await proc.waitFor(PROXY_PORTS, o.timeoutMs, o.signal)
  ).map(Number);
  // Both started on port 0, so the app learns its sidecar's outbound port only now.
  app?.proc.send({ outbound: `http://127.0.0.1:${outbound}` });
  if (!(await poll(sidecarReady(ready, o.signal), o.timeoutMs, o.signal))) {
    throw new DemoError(`sidecar ${name} did not become ready within ${o.timeoutMs} ms`);
  }
  progress.done(sidecar, `sidecar ${name} ready: certificate and configuration in force`);
  return {
    instance,
    nodeId,
    app,
    sidecar: { proc, ports: { outbound, inbound, admin, metrics, ready } },
  };
}

/**
 * Waits until every sidecar sees every instance, and `entry` (the gateway, `name` in what
 * is printed) answers 200 from every version of the services it calls. Throws a DemoError naming what did not come
 * together within the time limit.
 */
export async function waitForMesh(
  mesh: StartedMesh,
  entry: { readonly outbound: URL; readonly authority: string; readonly name: string },
  o: Pick<StartOptions, 'plan' | 'timeoutMs' | 'signal' | 'progress'>,
): Promise<void> {
  const progress = o.progress;
  const expected = expectedEndpoints(o.plan);
  const every = [...expected].map(([service, n]) => `${service} x${n}`).join(', ');
  progress.stage(`waiting for every sidecar to see every instance (${every})`);
  const seen = await Promise.all(
    mesh.instances.map(async (s) => {
      const what = `${s.nodeId} to see every instance`;
      progress.begin(what);
      const ok = await poll(
        sidecarSees(s.sidecar.ports.admin, expected, o.signal),
        o.timeoutMs,
        o.signal,
      );
      if (ok) progress.done(what, `${s.nodeId} sees every instance`);
      return ok;
    }),
  );
  const blind = mesh.instances.filter((_, i) => !seen[i]).map((s) => s.nodeId);
  if (blind.length) {
    throw new DemoError(
      `${blind.join(', ')} did not see every instance (${every}) within ${o.timeoutMs / 1000} s`,
    );
  }
  const versions = o.plan.filter((i) => i.service === 'reviews').map((i) => i.version);
  const what = `${entry.name} to answer through reviews ${versions.join(' and ')}`;
  progress.stage(`waiting for ${what}`);
  progress.begin(what);
  const answered = new Set<string>();
  if (
    !(await poll(
      answersFromEvery(entry.outbound, entry.authority, versions, answered),
      o.timeoutMs,
      o.signal,
    ))
  ) {
    const missing = versions.filter((v) => !answered.has(v));
    throw new DemoError(
      `${entry.name} did not answer through reviews ${missing.join(' and ')} within ${o.timeoutMs / 1000} s`,
    );
  }
  progress.done(
    what,
    `${entry.name} answered through reviews ${versions.join(' and ')}: the mesh is ready`,
  );
}
