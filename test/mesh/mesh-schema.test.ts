import assert from 'node:assert/strict';
import { describe, it } from 'mocha';
import { MESH_SCHEMA } from '../../src/mesh/index.js';

type Schema = Record<string, unknown>;

/** Every sub-schema of the mesh schema, with its JSON path. */
function* walk(schema: unknown, path: string): Generator<[string, Schema]> {
  if (typeof schema !== 'object' || schema === null) return;
  if (Array.isArray(schema)) {
    for (const [i, item] of schema.entries()) yield* walk(item, `${path}/${i}`);
    return;
  }
  yield [path, schema as Schema];
  for (const [key, value] of Object.entries(schema)) {
    if (key !== 'enum' && key !== 'required') yield* walk(value, `${path}/${key}`);
  }
}

describe('mesh.schema.json', () => {
  it('closes every object with fixed properties, so typos are caught', () => {
    for (const [path, schema] of walk(MESH_SCHEMA, '#')) {
      if (schema.type === 'object' && schema.properties !== undefined) {
        assert.equal(schema.additionalProperties, false, path);
      }
    }
  });

  it('describes every property, for editors', () => {
    for (const [path, schema] of walk(MESH_SCHEMA, '#')) {
      if (!path.endsWith('/properties')) continue;
      for (const [name, property] of Object.entries(schema)) {
        const p = property as Schema;
        const ref = typeof p.$ref === 'string' ? p.$ref : undefined;
        const target = ref ? (MESH_SCHEMA.definitions as Schema)[ref.split('/').pop() ?? ''] : p;
        assert.equal(typeof (target as Schema)?.description, 'string', `${path}/${name}`);
      }
    }
  });
});
