/** A `ferry proxy` process the fuzz loop can watch and, after a known crash, start again. */
import { mesh, service } from '../support/mesh.js';
import { startControlPlane } from '../support/mesh-harness.js';
import { type SidecarProcess, startSidecarProcess } from '../support/sidecar-process.js';
import type { LiveProcess } from './fuzz-loop.js';

export class LiveSidecar implements LiveProcess {
  dead = false;

  private constructor(
    private readonly args: readonly string[],
    private proc: SidecarProcess,
  ) {
    this.watch();
  }

  static async start(args: readonly string[]): Promise<LiveSidecar> {
    return new LiveSidecar(args, await startSidecarProcess(args));
  }

  get pid(): number {
    return this.proc.child.pid ?? 0;
  }

  get ports(): SidecarProcess['ports'] {
    return this.proc.ports;
  }

  get exited(): Promise<unknown> {
    return this.proc.exited;
  }

  stderr(): string {
    return this.proc.stderr();
  }

  async restart(): Promise<void> {
    await this.proc.kill();
    this.proc = await startSidecarProcess(this.args);
    this.dead = false;
    this.watch();
  }

  kill(): Promise<void> {
    return this.proc.kill();
  }

  private watch(): void {
    const proc = this.proc;
    void proc.exited.then(() => {
      if (this.proc === proc) this.dead = true;
    });
  }
}

/**
 * A live sidecar in front of `appPort` (service `fuzz:8080`), configured by a real control
 * plane; `stop` ends both.
 */
export async function startFuzzSidecar(
  appPort: number,
): Promise<{ sidecar: LiveSidecar; stop: () => Promise<void> }> {
  const cp = await startControlPlane(mesh(service('fuzz', 8080, 'http', [appPort])));
  let sidecar: LiveSidecar;
  try {
    sidecar = await LiveSidecar.start([
      '--xds',
      `127.0.0.1:${cp.xdsPort}`,
      '--service',
      'fuzz-client',
    ]);
  } catch (err) {
    await cp.close();
    throw err;
  }
  return {
    sidecar,
    stop: async () => {
      await sidecar.kill();
      await cp.close();
    },
  };
}
