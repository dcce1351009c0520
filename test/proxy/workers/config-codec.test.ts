/**
 * A worker's decoder: resources of a response checked before any configuration holds them
 * are compiled once, kept, and reused by the configuration that comes; a refusal reads as
 * the xDS client's NACK of the resource does.
 */
import assert from 'node:assert/strict';
import { ConfigDecoder } from '../../../src/proxy/workers/config-codec.js';
import type { WireConfig, WireEntry } from '../../../src/proxy/workers/worker-messages.js';
import { types } from '../../../src/xds/index.js';
import type { CompileHook } from '../../../src/xds-client/index.js';

function entry(name: string, version = '1'): WireEntry {
  return { name, version, value: { name, type: 'EDS' } };
}

function config(version: number, clusters: WireEntry[]): WireConfig {
  return { version, listeners: [], routes: [], clusters, endpoints: [], secrets: [] };
}

describe('ConfigDecoder', () => {
  let compiled: string[];
  const compile: CompileHook = (_typeUrl, name, _value, previous) => {
    compiled.push(name);
    if (name.startsWith('refused-')) return { ok: false, error: `refuses ${name}` };
    if (name === 'throws') throw new Error('boom');
    return { ok: true, compiled: { name, previous } };
  };

  beforeEach(() => {
    compiled = [];
  });

  it('compiles a checked resource once; the configuration that holds it reuses it', () => {
    const d = new ConfigDecoder(compile);
    assert.equal(d.check(types.CLUSTER, [entry('orders')]), undefined);
    assert.deepEqual(compiled, ['orders']);
    const r = d.decode(config(1, [entry('orders')]));
    assert.ok(r.ok);
    assert.deepEqual(compiled, ['orders']);
    assert.deepEqual(r.config.clusters.get('orders')?.compiled, {
      name: 'orders',
      previous: undefined,
    });
    // A new version is compiled again, with the form it replaces.
    assert.equal(d.check(types.CLUSTER, [entry('orders', '2')]), undefined);
    const next = d.decode(config(2, [entry('orders', '2')]));
    assert.ok(next.ok);
    assert.deepEqual(compiled, ['orders', 'orders']);
    assert.deepEqual(
      (next.config.clusters.get('orders')!.compiled as { previous: unknown }).previous,
      r.config.clusters.get('orders')?.compiled,
    );
  });

  it('refuses as the xDS client NACKs: each resource named with its type, none of it kept', () => {
    const d = new ConfigDecoder(compile);
    assert.equal(
      d.check(types.CLUSTER, [entry('fine'), entry('refused-a'), entry('throws')]),
      'CDS "refused-a": refuses refused-a\nCDS "throws": compile failed: boom',
    );
    // Nothing of the refused response was kept: `fine` is compiled again when it comes.
    compiled = [];
    assert.ok(d.decode(config(1, [entry('fine')])).ok);
    assert.deepEqual(compiled, ['fine']);
    const bad = d.decode(config(2, [entry('fine'), entry('refused-b')]));
    assert.deepEqual(bad, { ok: false, error: 'CDS "refused-b": refuses refused-b' });
  });
});
