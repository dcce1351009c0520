/**
 * A ConfigMap volume written the way the kubelet's atomic writer writes it
 * (pkg/volume/util/atomic_writer.go), step by step:
 *
 *   dir/..2026_12_05_11_00_00.123/mesh.yaml   the payload, in a timestamped directory
 *   dir/..data -> ..2026_12_05_11_00_00.123   the current payload
 *   dir/mesh.yaml -> ..data/mesh.yaml         the user-visible key
 *
 * An update writes a new timestamped directory, makes `..data_tmp` point at it, renames
 * `..data_tmp` over `..data` (the one atomic step) and removes the old directory.
 */
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

export class KubeletVolume {
  private current: string | undefined;
  private generation = 0;

  constructor(
    readonly dir: string,
    readonly key: string,
  ) {}

  /** The path a container reads: `dir/key`. */
  get file(): string {
    return path.join(this.dir, this.key);
  }

  /** Writes a new payload: the first call makes the volume, later calls swap `..data`. */
  async write(content: string): Promise<void> {
    this.generation += 1;
    // The kubelet's name: ..<UTC time, Go layout 2006_01_02_15_04_05>.<random>.
    const stamp = new Date(Date.UTC(2026, 11, 5, 11, 0, this.generation))
      .toISOString()
      .replace(/[-T:]/g, '_')
      .replace(/\.\d+Z$/, '');
    const name = `..${stamp}.${100 + this.generation}`;
    await mkdir(path.join(this.dir, name), { recursive: true });
    await writeFile(path.join(this.dir, name, this.key), content);
    const tmp = path.join(this.dir, '..data_tmp');
    await symlink(name, tmp);
    await rename(tmp, path.join(this.dir, '..data'));
    if (this.current === undefined) {
      await symlink(path.join('..data', this.key), this.file);
    } else {
      await rm(path.join(this.dir, this.current), { recursive: true, force: true });
    }
    this.current = name;
  }
}
