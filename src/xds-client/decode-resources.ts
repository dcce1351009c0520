/**
 * The edge: the resources of one response, decoded and validated. Every problem of every
 * resource is collected, and any problem rejects the whole response (it is NACKed and
 * the last good resources stay), so a message names each resource and what is wrong.
 */
import { decodeResource } from '../xds/index.js';
import { deepFreeze } from './deep-freeze.js';
import type { ResourceType } from './resource-types.js';
import type { Resource } from './validate.js';
import type { ReceivedResource } from './xds-stream.js';

/** Extra validation by the consumer: an error string rejects the resource. */
export type ValidateHook = (typeUrl: string, name: string, value: object) => string | undefined;

export interface DecodedResource {
  readonly name: string;
  readonly version: string;
  readonly value: Resource;
  /** The serialized resource, to tell an unchanged resource from a changed one. */
  readonly bytes: Uint8Array;
}

export type DecodeResult =
  | { readonly ok: true; readonly resources: readonly DecodedResource[] }
  | { readonly ok: false; readonly error: string };

export function decodeResources(
  type: ResourceType,
  received: readonly ReceivedResource[],
  hook: ValidateHook | undefined,
): DecodeResult {
  const errors: string[] = [];
  const resources: DecodedResource[] = [];
  const seen = new Set<string>();
  for (const [i, r] of received.entries()) {
    const label = `${type.short} resource ${r.name ? `"${r.name}"` : `#${i}`}`;
    const bytes = r.any?.value;
    if (!bytes) {
      errors.push(`${label} has no body`);
      continue;
    }
    if (r.any?.type_url !== type.typeUrl) {
      errors.push(`${label} is a ${r.any?.type_url || 'message without type_url'}`);
      continue;
    }
    let value: Resource;
    try {
      // Frozen from here on: neither the hook nor any consumer may change it.
      value = deepFreeze(decodeResource<Resource>(type.typeUrl, bytes));
    } catch (err) {
      errors.push(`${label} does not decode: ${(err as Error).message}`);
      continue;
    }
    const name = type.nameOf(value);
    if (typeof name !== 'string' || name === '') {
      errors.push(`${label} has no name`);
      continue;
    }
    if (r.name !== undefined && r.name !== name) {
      errors.push(`${label} is named "${name}" in its body`);
      continue;
    }
    if (seen.has(name)) {
      errors.push(`${type.short} "${name}" appears twice in one response`);
      continue;
    }
    seen.add(name);
    const problems = type.validate(value);
    const extra = runHook(hook, type.typeUrl, name, value);
    if (extra !== undefined) problems.push(extra);
    if (problems.length > 0) {
      errors.push(`${type.short} "${name}": ${problems.join('; ')}`);
      continue;
    }
    resources.push({ name, version: r.version, value, bytes });
  }
  return errors.length > 0 ? { ok: false, error: errors.join('\n') } : { ok: true, resources };
}

function runHook(
  hook: ValidateHook | undefined,
  typeUrl: string,
  name: string,
  value: Resource,
): string | undefined {
  if (!hook) return undefined;
  try {
    return hook(typeUrl, name, value);
  } catch (err) {
    return `validation failed: ${(err as Error).message}`;
  }
}
