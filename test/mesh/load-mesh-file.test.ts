import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'mocha';
import { loadMeshFile, MeshFileError } from '../../src/mesh/index.js';
import { lines } from './mesh-fixtures.js';

describe('loadMeshFile', () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-mesh-load-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads a valid file', async () => {
    const file = join(dir, 'valid.yaml');
    await writeFile(
      file,
      lines('services:', '  - { name: a, ports: [{ port: 80, protocol: http }] }'),
    );
    const config = await loadMeshFile(file);
    assert.equal(config.services[0].hostname, 'a.default.svc.cluster.local');
  });

  it('throws MeshFileError with every error, naming the file', async () => {
    const file = join(dir, 'invalid.yaml');
    await writeFile(file, lines('mesh: { mtls: on }', 'services: [{ name: a }]'));
    await assert.rejects(loadMeshFile(file), (err: unknown) => {
      assert.ok(err instanceof MeshFileError);
      assert.equal(err.code, 'FERRY_MESH_INVALID');
      assert.deepEqual(
        err.errors.map((e) => [e.file, e.line, e.field]),
        [
          [file, 1, 'mesh.mtls'],
          [file, 2, 'services[0].ports'],
        ],
      );
      assert.match(err.message, new RegExp(`^${escapeRegExp(file)}:1:15: mesh\\.mtls: `));
      return true;
    });
  });

  it('says when the file does not exist', async () => {
    const file = join(dir, 'missing.yaml');
    await assert.rejects(loadMeshFile(file), (err: unknown) => {
      assert.ok(err instanceof MeshFileError);
      assert.equal(err.code, 'FERRY_MESH_UNREADABLE');
      assert.equal(err.message, `${file}: the mesh file does not exist`);
      return true;
    });
  });

  it('says when the file cannot be read', async () => {
    const file = join(dir, 'a-directory.yaml');
    await mkdir(file);
    await assert.rejects(loadMeshFile(file), (err: unknown) => {
      assert.ok(err instanceof MeshFileError);
      assert.equal(err.code, 'FERRY_MESH_UNREADABLE');
      assert.match(err.message, new RegExp(`^${escapeRegExp(file)}: cannot read the mesh file`));
      return true;
    });
  });
});

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
