import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'mocha';
import {
  type MeshConfig,
  type MeshFileError,
  type MeshFileWatch,
  watchMeshFile,
} from '../../src/mesh/index.js';

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
});
