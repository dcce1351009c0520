/** A `ferry proxy` process the fuzz loop can watch and, after a known crash, start again. */
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
