/**
 * The edge: the resources of one response, decoded, validated and compiled by the consumer
 * (its compile hook turns a resource into what it runs on). Every problem of every resource
 * is collected, and any problem, a compile failure too, rejects the whole response (it is
 * NACKed and the last good resources stay), so a message names each resource and what is
 * wrong. A resource whose bytes are those the client already has is neither validated nor
 * compiled again: it keeps its value and compiled form (delta: not even decoded).
 */
import { decodeResource } from '../xds/index.js';
import { deepFreeze } from './deep-freeze.js';
import { type ResourceType, resourceType } from './resource-types.js';
import type { Resource } from './validate.js';
import type { ReceivedResource } from './xds-stream.js';

export type CompileOutcome =
  | { readonly ok: true; readonly compiled: unknown }
  | { readonly ok: false; readonly error: string };

/**
 * The consumer's compiler, run once per new version of a resource: its compiled form, or
 * why it cannot be used (the NACK's message). `previous` is the compiled form of the
 * version it replaces, for state worth carrying over (it must not be changed).
 */
export type CompileHook = (
  typeUrl: string,
  name: string,
  value: object,
  previous: unknown,
) => CompileOutcome;

/** What the client already has of a resource (to skip what did not change). */
export interface KnownResource {
  readonly bytes: Uint8Array | undefined;
  readonly value: Resource;
  readonly compiled: unknown;
}

export interface DecodedResource {
  readonly name: string;
  readonly version: string;
  readonly value: Resource;
  /** The serialized resource, to tell an unchanged resource from a changed one. */
  readonly bytes: Uint8Array;
  /** The hook's compiled form (undefined without a hook). */
  readonly compiled: unknown;
}

export type DecodeResult =
  | { readonly ok: true; readonly resources: readonly DecodedResource[] }
  | { readonly ok: false; readonly error: string };

export function decodeResources(
  type: ResourceType,
  received: readonly ReceivedResource[],
  hook: CompileHook | undefined,
  known: (name: string) => KnownResource | undefined,
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
    // Delta names a resource outside its body: an unchanged one is not even decoded.
    const same = r.name !== undefined ? unchanged(known(r.name), bytes) : undefined;
    if (same && r.name !== undefined && !seen.has(r.name)) {
      seen.add(r.name);
      resources.push({
        name: r.name,
        version: r.version,
        value: same.value,
        bytes,
        compiled: same.compiled,
      });
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
    const before = known(name);
    const kept = unchanged(before, bytes);
    if (kept) {
      resources.push({
        name,
        version: r.version,
        value: kept.value,
        bytes,
        compiled: kept.compiled,
      });
      continue;
    }
    const problems = type.validate(value);
    // Compiled only when the structure is sound: the compiler may rely on it.
    const outcome =
      problems.length === 0
        ? runHook(hook, type.typeUrl, name, value, before?.compiled)
        : undefined;
    if (outcome && !outcome.ok) problems.push(outcome.error);
    if (problems.length > 0) {
      errors.push(resourceProblem(type.short, name, problems.join('; ')));
      continue;
    }
    resources.push({
      name,
      version: r.version,
      value,
      bytes,
      compiled: outcome?.ok ? outcome.compiled : undefined,
    });
  }
  return errors.length > 0 ? { ok: false, error: errors.join('\n') } : { ok: true, resources };
}

function unchanged(known: KnownResource | undefined, bytes: Uint8Array): KnownResource | undefined {
  return known?.bytes && Buffer.compare(known.bytes, bytes) === 0 ? known : undefined;
}

/** A resource's problem as a NACK names it: `CDS "name": problem`. */
function resourceProblem(short: string, name: string, problem: string): string {
  return `${short} "${name}": ${problem}`;
}

/** Runs the hook; a throw is a compile failure like any other (never an ACK). */
export function runHook(
  hook: CompileHook | undefined,
  typeUrl: string,
  name: string,
  value: Resource,
  previous: unknown,
): CompileOutcome | undefined {
  if (!hook) return undefined;
  try {
    return hook(typeUrl, name, value, previous);
  } catch (err) {
    return { ok: false, error: `compile failed: ${(err as Error).message}` };
  }
}

/**
 * Compiles a resource this client accepted, elsewhere (a worker of a primary, which gets its
 * resources over IPC): the same hook, a throw a failure, and a failure's message the one this
 * client's NACK of the resource would carry, so a refusal there reads as one here.
 */
export function compileAccepted(
  hook: CompileHook,
  typeUrl: string,
  name: string,
  value: Resource,
  previous: unknown,
): CompileOutcome {
  const outcome = runHook(hook, typeUrl, name, value, previous)!;
  if (outcome.ok) return outcome;
  const short = resourceType(typeUrl)?.short ?? typeUrl;
  return { ok: false, error: resourceProblem(short, name, outcome.error) };
}
