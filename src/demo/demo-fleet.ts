/**
 * Every process the demo starts, by role, and their shutdown in order: the gateway, then
 * the sidecars (SIGTERM: they drain while their apps still answer), then the apps, then the control
 * plane; SIGKILL for a group that overstays, or for everything on a forced stop.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DemoProcess } from './demo-process.js';

export type Role = 'gateway' | 'sidecars' | 'apps' | 'controlPlane';

/** How long each group may take to exit after SIGTERM; sidecars drain for `--drain`. */
const STOP_GRACE_MS: Record<Role, number> = {
  gateway: 8000,
  sidecars: 8000,
  apps: 4000,
  controlPlane: 4000,
};
/** The gateway first: it drains while the sidecars behind it still answer. */
const STOP_ORDER: readonly Role[] = ['gateway', 'sidecars', 'apps', 'controlPlane'];

/** Preloaded into every child: it stops itself when the demo's IPC channel closes. */
const EXIT_WITH_DEMO = new URL('./exit-with-demo.js', import.meta.url).href;

export class DemoFleet {
  private readonly byRole: Record<Role, DemoProcess[]> = {
    gateway: [],
    sidecars: [],
    apps: [],
    controlPlane: [],
  };
  private readonly all: DemoProcess[] = [];
  private stopping = false;

  /** `ferryMain`: the ferry CLI (dist/src/cli/main.js) every process runs. */
  constructor(
    private readonly ferryMain: string,
    private readonly print: (line: string) => void,
  ) {}

  /** Runs `ferry <args>` under `label`; its output is printed with that prefix. */
  spawn(role: Role, label: string, args: readonly string[]): DemoProcess {
    const proc = new DemoProcess({
      label,
      command: process.execPath,
      args: ['--import', EXIT_WITH_DEMO, this.ferryMain, ...args],
      print: this.print,
      ipc: true,
    });
    this.byRole[role].push(proc);
    this.all.push(proc);
    // Someone may kill a process to see what the mesh does: say so, and carry on.
    proc.exited.then((how) => {
      if (!this.stopping) this.print(`[${label}] exited (${how})`);
    });
    return proc;
  }

  get running(): number {
    return this.all.filter((p) => p.running).length;
  }

  /** Stops everything in order; resolves with the labels of the processes it had to SIGKILL. */
  async stop(kill: AbortSignal): Promise<string[]> {
    this.stopping = true;
    const killed: string[] = [];
    for (const role of STOP_ORDER) {
      const procs = this.byRole[role].filter((p) => p.running);
      for (const p of procs) p.kill(kill.aborted ? 'SIGKILL' : 'SIGTERM');
      const exited = Promise.all(procs.map((p) => p.exited));
      const done = new AbortController();
      await Promise.race([
        exited,
        sleep(STOP_GRACE_MS[role], undefined, {
          signal: AbortSignal.any([kill, done.signal]),
        }).catch(() => undefined),
      ]);
      done.abort();
      for (const p of procs.filter((p) => p.running)) {
        killed.push(p.label);
        p.kill('SIGKILL');
      }
      await exited;
    }
    return killed;
  }
}
