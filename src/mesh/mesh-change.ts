/**
 * What an applied mesh file change changed, in words: "routes of reviews changed",
 * "service ratings added", "mesh mtls changed". The control plane logs it with every applied
 * edit, so that whoever edits the file (the demo's user first) sees the edit took and what
 * it touched. A pure function of the configurations before and after.
 */
import type { MeshConfig, Service } from './model.js';

/** Service fields in the order they are reported. */
const SERVICE_FIELDS = [
  'ports',
  'addresses',
  'endpoints',
  'subsets',
  'policy',
  'routes',
  'authorization',
  'telemetry',
] as const satisfies ReadonlyArray<keyof Service>;

const MESH_FIELDS = ['trustDomain', 'domain', 'mtls', 'telemetry'] as const;

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function serviceId(s: Service): string {
  return s.namespace === 'default' ? s.name : `${s.name}.${s.namespace}`;
}

function list(words: readonly string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** One phrase per changed part; empty when nothing the model holds changed. */
export function describeMeshChange(before: MeshConfig, after: MeshConfig): string[] {
  const changes: string[] = [];
  const mesh = MESH_FIELDS.filter((f) => !same(before.mesh[f], after.mesh[f]));
  if (mesh.length) changes.push(`mesh ${list(mesh)} changed`);
  const old = new Map(before.services.map((s) => [serviceId(s), s]));
  const now = new Map(after.services.map((s) => [serviceId(s), s]));
  for (const [id, s] of now) {
    const prev = old.get(id);
    if (!prev) {
      changes.push(`service ${id} added`);
      continue;
    }
    const fields = SERVICE_FIELDS.filter((f) => !same(prev[f], s[f]));
    if (fields.length) changes.push(`${list(fields)} of ${id} changed`);
  }
  for (const id of old.keys()) if (!now.has(id)) changes.push(`service ${id} removed`);
  return changes;
}
