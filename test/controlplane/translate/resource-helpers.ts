/** Small accessors for tests that look into translated resources. */
import assert from 'node:assert/strict';
import type { NamedResource, Resources } from '../../../src/controlplane/translate/index.js';
import { types } from '../../../src/xds/index.js';

// biome-ignore lint/suspicious/noExplicitAny: tests read deep into plain resource objects.
export type Loose = any;

export const TYPE_URLS: Readonly<Record<keyof Resources, string>> = {
  listeners: types.LISTENER,
  routes: types.ROUTE,
  clusters: types.CLUSTER,
  endpoints: types.ENDPOINT,
};

/** Every resource with its type URL. */
export function* everyResource(r: Resources): Generator<[string, NamedResource]> {
  for (const kind of Object.keys(TYPE_URLS) as (keyof Resources)[]) {
    for (const resource of r[kind]) yield [TYPE_URLS[kind], resource];
  }
}

/** The value of the resource of that name; fails the test when there is none. */
export function get(list: readonly NamedResource[], name: string): Loose {
  const found = list.find((r) => r.name === name);
  assert.ok(found, `no resource ${name} among ${list.map((r) => r.name).join(', ')}`);
  return found.value;
}

export function names(list: readonly NamedResource[]): string[] {
  return list.map((r) => r.name);
}
