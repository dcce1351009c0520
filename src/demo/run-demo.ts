/**
 * The local demo (`npm start`): a control plane, three demo services (frontend calls
 * catalog and reviews; reviews runs as v1 and v2 and the mesh file splits it 80/20), each
 * instance with its own sidecar, and a `ferry gateway` (the mesh file's Gateway and its
 * HTTPRoute to frontend) where a traffic generator outside the mesh sends its requests, all
 * on 127.0.0.1 and all separate processes. It prints what runs where and a traffic summary
 * every few seconds; on stop the traffic ends first, then every process, in order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadMeshFile } from '../mesh/index.js';
import { DemoFleet } from './demo-fleet.js';
import { DEMO_PLAN } from './demo-plan.js';
import { DemoError, type StartedMesh, startMesh, waitForMesh } from './start-mesh.js';
import { StartProgress } from './start-progress.js';
import { generateTraffic } from './traffic.js';
import { formatTrafficStats, type TrafficStats } from './traffic-stats.js';
import { formatWhereTable, type WhereInfo } from './where-table.js';

export interface DemoOptions {
  readonly meshFile: string;
  /** The ferry CLI the demo runs its processes with: the path of dist/src/cli/main.js. */
  readonly ferryMain: string;
  /** Seconds of traffic; 0 runs until `signal` aborts. */
  readonly durationS: number;
  /** Requests a second from the traffic generator. */
  readonly rate: number;
  /** Seconds between traffic summaries. Default 2. */
  readonly windowS?: number;
  readonly print: (line: string) => void;
  /** Aborted to stop (Ctrl-C): the traffic ends, then every process is stopped in order. */
  readonly signal: AbortSignal;
  /** Aborted to stop at once (a second Ctrl-C): whatever still runs gets SIGKILL. */
  readonly killSignal?: AbortSignal;
  /**
   * How long one process may take to start, and the mesh to come together: a limit for a
   * mesh that will never come together, far above what a busy machine takes. Default 120 s.
   */
  readonly startTimeoutMs?: number;
}

export interface DemoResult {
  /** Totals of the run; undefined when it was stopped before the traffic started. */
  readonly traffic: TrafficStats | undefined;
  /** Processes that did not exit after SIGTERM in time (or on a forced stop) and got SIGKILL. */
  readonly killed: readonly string[];
}

const SIDECAR_DRAIN_MS = 3000;

/** Runs the demo until `durationS` is up or `signal` aborts. Throws DemoError if it cannot start. */
export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  // A bad mesh file is reported, with all its errors, before anything starts.
  await loadMeshFile(o.meshFile);
  const windowS = o.windowS ?? 2;
  const killSignal = o.killSignal ?? new AbortController().signal;
  const stopSignal = AbortSignal.any([o.signal, killSignal]);
  const fleet = new DemoFleet(o.ferryMain, o.print);
  // The control plane's CA lives for the run only: a fresh root, fresh workload tokens.
  const caDir = mkdtempSync(path.join(tmpdir(), 'ferry-demo-ca-'));

  let traffic: TrafficStats | undefined;
  let failure: unknown;
  const progress = new StartProgress(o.print);
  try {
    const timeoutMs = o.startTimeoutMs ?? 120_000;
    const mesh = await startMesh(fleet, {
      meshFile: o.meshFile,
      plan: DEMO_PLAN,
      timeoutMs,
      drainMs: SIDECAR_DRAIN_MS,
      signal: stopSignal,
      caDir,
      progress,
    });
    // From outside the mesh, as a client would call the gateway's address.
    const gatewayAddress = `127.0.0.1:${mesh.gateway.ports.listener}`;
    const entry = {
      outbound: new URL(`http://${gatewayAddress}`),
      authority: gatewayAddress,
      name: `gateway ${mesh.gateway.ref}`,
    };
    // Traffic starts only once the mesh is ready: what it counts is the mesh's, not the
    // start-up's.
    await waitForMesh(mesh, entry, { plan: DEMO_PLAN, timeoutMs, signal: stopSignal, progress });
    progress.close();
    o.print('');

    for (const line of formatWhereTable(whereInfo(mesh, o, windowS))) o.print(line);
    // The duration's own controller and timer, held here: an AbortSignal.timeout() that only
    // AbortSignal.any() refers to can be garbage-collected before it fires (node holds the
    // sources of any() weakly), and the demo then never stopped (a regression test: demo.test).
    const timeUp = new AbortController();
    const durationTimer =
      o.durationS > 0 ? setTimeout(() => timeUp.abort(), o.durationS * 1000) : undefined;
    try {
      traffic = await generateTraffic({
        ...entry,
        rate: o.rate,
        signal: o.durationS > 0 ? AbortSignal.any([stopSignal, timeUp.signal]) : stopSignal,
        windowMs: windowS * 1000,
        onWindow: (w, now) => o.print(formatTrafficStats('traffic', w, now)),
      });
    } finally {
      clearTimeout(durationTimer);
    }
    o.print(formatTrafficStats('total', traffic, performance.now()));
  } catch (err) {
    progress.close();
    // Ctrl-C while starting is a stop like any other; anything else is a failure.
    if (!stopSignal.aborted) {
      failure = err;
      o.print(`demo failed to start: ${(err as Error).message}; stopping what runs`);
    }
  }

  const running = fleet.running;
  o.print(
    `stopping ${running} process${running === 1 ? '' : 'es'}: ` +
      'the gateway and the sidecars drain first, then the apps, then the control plane',
  );
  const killed = await fleet.stop(killSignal);
  rmSync(caDir, { recursive: true, force: true });
  o.print(
    killed.length === 0
      ? 'stopped: every process has exited'
      : `stopped; killed with SIGKILL: ${killed.join(', ')}`,
  );
  if (failure !== undefined) {
    throw failure instanceof DemoError
      ? failure
      : new DemoError((failure as Error).message, { cause: failure });
  }
  return { traffic, killed };
}

function whereInfo(mesh: StartedMesh, o: DemoOptions, windowS: number): WhereInfo {
  return {
    meshFile: o.meshFile,
    controlPlane: {
      pid: mesh.controlPlane.proc.pid,
      xdsPort: mesh.controlPlane.xdsPort,
      securePort: mesh.controlPlane.securePort,
      httpPort: mesh.controlPlane.httpPort,
    },
    instances: mesh.instances.map((s) => ({
      service: s.instance.service,
      version: s.instance.version,
      nodeId: s.nodeId,
      app: s.app && { pid: s.app.proc.pid, port: s.app.port },
      sidecar: { pid: s.sidecar.proc.pid, ports: s.sidecar.ports },
    })),
    gateway: { pid: mesh.gateway.proc.pid, ref: mesh.gateway.ref, ports: mesh.gateway.ports },
    traffic: { rate: o.rate, windowS },
  };
}
