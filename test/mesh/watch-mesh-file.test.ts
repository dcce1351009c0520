import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'mocha';
import {
  type MeshConfig,
  type MeshFileError,
  type MeshFileWatch,
  watchMeshFile,
} from '../../src/mesh/index.js';
import { KubeletVolume } from '../support/kubelet-volume.js';

type Event = { kind: 'config'; config: MeshConfig } | { kind: 'error'; error: MeshFileError };

/** Records a watcher's calls; `next()` waits for the next one, failing after `timeoutMs`. */
class Recorder {
  readonly events: Event[] = [];
  private taken = 0;
  private waiter: (() => void) | undefined;

  readonly handlers = {
    onConfig: (config: MeshConfig) => this.push({ kind: 'config', config }),
    onError: (error: MeshFileError) => this.push({ kind: 'error', error }),
  };

  async next(timeoutMs = 1000): Promise<Event> {
    if (this.taken >= this.events.length) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => {
          this.waiter = resolve;
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no watcher event within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]).finally(() => clearTimeout(timer));
    }
    return this.events[this.taken++];
  }

  private push(event: Event): void {
    this.events.push(event);
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }
}

function mesh(serviceName: string): string {
  return `services:\n  - { name: ${serviceName}, ports: [{ port: 80, protocol: http }] }\n`;
}

function names(event: Event): string[] {
  assert.equal(event.kind, 'config', event.kind === 'error' ? event.error.message : '');
  return event.kind === 'config' ? event.config.services.map((s) => s.name) : [];
}

/** Lets a burst of file events and the watcher's debounced read go by, for ordering tests. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('watchMeshFile', () => {
  let dir: string;
  let file: string;
  const watches: MeshFileWatch[] = [];

  const start = async (recorder: Recorder, debounceMs?: number): Promise<MeshFileWatch> => {
    const w = watchMeshFile(file, recorder.handlers, { debounceMs });
    watches.push(w);
    await w.ready;
    return w;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-mesh-watch-'));
    file = join(dir, 'mesh.yaml');
    await writeFile(file, mesh('first'));
  });

  afterEach(async () => {
    for (const w of watches.splice(0)) w.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a valid change within one second, and not the initial state', async () => {
    const recorder = new Recorder();
    await start(recorder);
    assert.deepEqual(recorder.events, []);
    await writeFile(file, mesh('second'));
    assert.deepEqual(names(await recorder.next(1000)), ['second']);
    assert.equal(recorder.events.length, 1);
  });

  it('reports an invalid change as an error naming file and line, then recovers', async () => {
    const recorder = new Recorder();
    await start(recorder);
    await writeFile(file, 'services:\n  - { name: x, ports: [{ port: 0, protocol: http }] }\n');
    const event = await recorder.next(1000);
    assert.equal(event.kind, 'error');
    if (event.kind !== 'error') return;
    assert.equal(event.error.code, 'FERRY_MESH_INVALID');
    assert.equal(event.error.errors[0].file, file);
    assert.equal(event.error.errors[0].line, 2);
    assert.match(event.error.message, /mesh\.yaml:2:\d+: services\[0\]\.ports\[0\]\.port/);

    await writeFile(file, mesh('fixed'));
    // The next call is the fix: the invalid content produced no config in between.
    assert.deepEqual(names(await recorder.next(1000)), ['fixed']);
    assert.deepEqual(
      recorder.events.map((e) => e.kind),
      ['error', 'config'],
    );
  });

  it('sees a file replaced by rename, as editors save', async () => {
    const recorder = new Recorder();
    await start(recorder);
    const temp = join(dir, '.mesh.yaml.tmp');
    await writeFile(temp, mesh('renamed'));
    await rename(temp, file);
    assert.deepEqual(names(await recorder.next(1000)), ['renamed']);
  });

  it('ignores files next to the mesh file', async () => {
    const recorder = new Recorder();
    await start(recorder);
    await writeFile(join(dir, 'other.yaml'), 'not: a mesh\n');
    await writeFile(file, mesh('mine'));
    assert.deepEqual(names(await recorder.next(1000)), ['mine']);
    assert.equal(recorder.events.length, 1);
  });

  it('ignores saves that leave the content as it was', async () => {
    const recorder = new Recorder();
    await start(recorder, 10);
    await writeFile(file, mesh('first'));
    // Give the identical save time to be read on its own (were it merged with the next write,
    // the test would still pass, never fail spuriously).
    await pause(150);
    await writeFile(file, mesh('changed'));
    assert.deepEqual(names(await recorder.next(1000)), ['changed']);
  });

  it('calls nothing after close()', async () => {
    const closed = new Recorder();
    const open = new Recorder();
    const w = await start(closed, 10);
    // A second watcher with a longer debounce: once it has reported, the closed one (had it
    // still been running) would have reported before it.
    await start(open, 100);
    w.close();
    await writeFile(file, mesh('after-close'));
    assert.deepEqual(names(await open.next(1000)), ['after-close']);
    assert.deepEqual(closed.events, []);
  });

  describe('files as a cluster writes them', () => {
    it("follows a ConfigMap volume through the kubelet's ..data swaps (regression: edits never applied)", async () => {
      const volume = new KubeletVolume(join(dir, 'config'), 'mesh.yaml');
      await volume.write(mesh('v1'));
      assert.equal(await readlink(volume.file), '..data/mesh.yaml');
      const recorder = new Recorder();
      const w = watchMeshFile(volume.file, recorder.handlers);
      watches.push(w);
      await w.ready;
      await volume.write(mesh('v2'));
      assert.deepEqual(names(await recorder.next(1000)), ['v2']);
      // The first timestamped directory is gone: the second swap must still be seen.
      await volume.write(mesh('v3'));
      assert.deepEqual(names(await recorder.next(1000)), ['v3']);
      assert.deepEqual(
        recorder.events.map((e) => e.kind),
        ['config', 'config'],
      );
    });

    it('follows a symbolic link to the file that is pointed elsewhere, and in-place edits of its target', async () => {
      await mkdir(join(dir, 'a'));
      await mkdir(join(dir, 'b'));
      await writeFile(join(dir, 'a', 'mesh.yaml'), mesh('in-a'));
      await writeFile(join(dir, 'b', 'mesh.yaml'), mesh('in-b'));
      const link = join(dir, 'current.yaml');
      await symlink(join(dir, 'a', 'mesh.yaml'), link);
      const recorder = new Recorder();
      const w = watchMeshFile(link, recorder.handlers);
      watches.push(w);
      await w.ready;
      await writeFile(join(dir, 'a', 'mesh.yaml'), mesh('edited-in-a'));
      assert.deepEqual(names(await recorder.next(1000)), ['edited-in-a']);
      await symlink(join(dir, 'b', 'mesh.yaml'), join(dir, 'current.tmp'));
      await rename(join(dir, 'current.tmp'), link);
      assert.deepEqual(names(await recorder.next(1000)), ['in-b']);
      // The watch moved with the link: an edit of the new target is seen, of the old not.
      await writeFile(join(dir, 'a', 'mesh.yaml'), mesh('stale'));
      await writeFile(join(dir, 'b', 'mesh.yaml'), mesh('edited-in-b'));
      assert.deepEqual(names(await recorder.next(1000)), ['edited-in-b']);
    });

    it('sees its directory renamed away and another renamed into its place', async () => {
      const conf = join(dir, 'conf');
      await mkdir(conf);
      await writeFile(join(conf, 'mesh.yaml'), mesh('old-dir'));
      const recorder = new Recorder();
      const w = watchMeshFile(join(conf, 'mesh.yaml'), recorder.handlers);
      watches.push(w);
      await w.ready;
      const next = join(dir, 'conf.new');
      await mkdir(next);
      await writeFile(join(next, 'mesh.yaml'), mesh('new-dir'));
      await rename(conf, join(dir, 'conf.old'));
      await rename(next, conf);
      assert.deepEqual(names(await recorder.next(1000)), ['new-dir']);
      // And the new directory is the one watched from now on.
      await writeFile(join(conf, 'mesh.yaml'), mesh('edited'));
      assert.deepEqual(names(await recorder.next(1000)), ['edited']);
    });

    it('sees a directory symbolic link swapped to another directory', async () => {
      await mkdir(join(dir, 'rev1'));
      await mkdir(join(dir, 'rev2'));
      await writeFile(join(dir, 'rev1', 'mesh.yaml'), mesh('rev1'));
      await writeFile(join(dir, 'rev2', 'mesh.yaml'), mesh('rev2'));
      await symlink('rev1', join(dir, 'live'));
      const recorder = new Recorder();
      const w = watchMeshFile(join(dir, 'live', 'mesh.yaml'), recorder.handlers);
      watches.push(w);
      await w.ready;
      await symlink('rev2', join(dir, 'live.tmp'));
      await rename(join(dir, 'live.tmp'), join(dir, 'live'));
      assert.deepEqual(names(await recorder.next(1000)), ['rev2']);
    });
  });
});
