/**
 * Structural mutation of a decoded resource (the plain-object form protobufjs reads):
 * one node somewhere in the tree replaced with a boundary value, deleted, duplicated or
 * given an unknown sibling, so the encoded result is still a well-formed message whose
 * content a validator must judge.
 */
import type { SeededRandom } from '../support/seeded-random.js';

const VALUES: readonly unknown[] = [
  '',
  'x',
  '\u0000',
  'é',
  '*',
  '.*',
  '[',
  '(a|',
  '/',
  '::1',
  '256.0.0.1',
  'localhost',
  'type.googleapis.com/google.protobuf.Empty',
  'x'.repeat(5000),
  -1,
  0,
  1,
  65_536,
  2_147_483_647,
  4_294_967_295,
  2 ** 53,
  1.5,
  true,
  false,
  {},
  [],
  { seconds: '-1' },
  { seconds: '315576000001' },
  { nanos: 1_000_000_000 },
];

type Node = Record<string, unknown> | unknown[];

/** Every object and array in the tree, with the path to it. */
function containers(value: unknown, out: Node[] = []): Node[] {
  if (value !== null && typeof value === 'object') {
    out.push(value as Node);
    for (const v of Object.values(value)) containers(v, out);
  }
  return out;
}

/** A mutated deep copy of `value` with 1..maxEdits edits. */
export function mutateJson(rng: SeededRandom, value: object, maxEdits = 3): object {
  const copy = structuredClone(value) as Record<string, unknown>;
  for (let i = rng.between(1, maxEdits); i > 0; i--) {
    const nodes = containers(copy);
    const node = rng.pick(nodes);
    const keys = Object.keys(node);
    const op = rng.int(5);
    if (op === 4 || keys.length === 0) {
      // A field the message may or may not have.
      if (Array.isArray(node)) node.push(structuredClone(rng.pick(VALUES)));
      else
        node[
          rng.pick([
            'name',
            'port_value',
            'address',
            'cluster',
            'prefix',
            'timeout',
            'weight',
            'extra',
          ])
        ] = structuredClone(rng.pick(VALUES));
      continue;
    }
    const key = rng.pick(keys);
    const at = Array.isArray(node) ? Number(key) : key;
    const target = node as Record<string | number, unknown>;
    if (op === 0 || op === 1) target[at] = structuredClone(rng.pick(VALUES));
    else if (op === 2) {
      if (Array.isArray(node)) node.splice(Number(key), 1);
      else delete target[at];
    } else if (Array.isArray(node)) node.push(structuredClone(node[Number(key)]));
    else target[at] = structuredClone(target[at]);
  }
  return copy;
}
