/**
 * Stage one of validation: the JSON Schema that ships in `schema/mesh.schema.json` (so editors
 * validate the file too), run with Ajv collecting all errors, which are reworded here into
 * messages a person can act on.
 */
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { deepFreeze } from './deep-freeze.js';
import { type FieldPath, fieldPathFromPointer } from './field-path.js';
import type { Issue } from './issue.js';

// One schema file serves editors and this validator. From dist/src/mesh/ it is three levels up,
// next to package.json (package.json ships `schema/`). Read once, when the module loads.
const require = createRequire(import.meta.url);
export const MESH_SCHEMA: Readonly<Record<string, unknown>> = deepFreeze(
  require('../../../schema/mesh.schema.json'),
);

// The compiled validator is immutable apart from `validate.errors`, which Ajv overwrites on
// every call; it is read right after the call, so sharing one is safe in single-threaded JS.
// Loaded and compiled on first use, not when the module loads: every sidecar and gateway
// imports this module (through src/mesh) and never validates a mesh file, and Ajv's compile
// of this schema cost each of them about 0.3 s of CPU at start (over 0.8 s measured on a
// loaded machine), when a busy machine can least afford it.
let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  if (!compiled) {
    const { Ajv } = require('ajv') as typeof import('ajv');
    compiled = new Ajv({ allErrors: true, strict: true, verbose: true }).compile(MESH_SCHEMA);
  }
  return compiled;
}

export function checkSchema(data: unknown): Issue[] {
  const validate = validator();
  if (validate(data)) return [];
  const errors = validate.errors ?? [];
  const issues: Issue[] = [];
  for (const error of errors) {
    const issue = toIssue(error, data);
    if (issue !== undefined) issues.push(issue);
  }
  return issues;
}

function toIssue(error: ErrorObject, data: unknown): Issue | undefined {
  const path = fieldPathFromPointer(error.instancePath, data);
  const params = error.params as Record<string, unknown>;
  const schema = (error.parentSchema ?? {}) as Record<string, unknown>;
  const value: unknown = error.data;
  // An error about a property name (from propertyNames) carries that name; the summary error
  // Ajv adds after it says nothing more.
  const propertyName = (error as { propertyName?: string }).propertyName;
  if (propertyName !== undefined) {
    return {
      path: [...path, propertyName],
      at: 'key',
      message: `invalid name ${quote(propertyName)}: expected ${describe(schema)}`,
    };
  }
  // A value that fits none of a few forms gets one error naming them all, rather than one per
  // form it does not fit.
  if (error.schemaPath.includes('/anyOf/')) return undefined;
  switch (error.keyword) {
    case 'propertyNames':
    // `if`/`then` (a Gateway API resource's spec by its kind): the errors inside say it all.
    case 'if':
      return undefined;
    case 'anyOf':
      return { path, message: `invalid value ${show(value)}: expected ${describe(schema)}` };
    case 'required':
      return {
        path: [...path, String(params.missingProperty)],
        message: `required property ${quote(params.missingProperty)} is missing`,
      };
    case 'additionalProperties':
      return unknownProperty(path, String(params.additionalProperty), schema);
    case 'type':
      if (typeof schema.pattern === 'string' && typeof schema.description === 'string') {
        return { path, message: `invalid value ${show(value)}: expected ${describe(schema)}` };
      }
      return { path, message: `must be ${article(String(params.type))}, not ${typeName(value)}` };
    case 'pattern':
      return { path, message: `invalid value ${show(value)}: expected ${describe(schema)}` };
    case 'enum':
      return {
        path,
        message: `must be one of ${(params.allowedValues as unknown[]).join(', ')}; got ${show(value)}`,
      };
    case 'const':
      return { path, message: `must be ${show(params.allowedValue)}` };
    case 'minimum':
      return { path, message: `must be at least ${params.limit}; got ${show(value)}` };
    case 'maximum':
      return { path, message: `must be at most ${params.limit}; got ${show(value)}` };
    case 'minLength':
      return {
        path,
        message:
          params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters`,
      };
    case 'maxLength':
      return { path, message: `must be at most ${params.limit} characters` };
    case 'minItems':
      return { path, message: `must have at least ${params.limit} item(s)` };
    case 'uniqueItems':
      return {
        path: [...path, Number(params.i)],
        message: `duplicate of item ${params.j}`,
      };
    case 'minProperties':
    case 'maxProperties':
      return { path, message: cardinality(error.keyword, schema, params) };
    default:
      return { path, message: error.message ?? `fails ${error.keyword}` };
  }
}

function unknownProperty(path: FieldPath, name: string, schema: Record<string, unknown>): Issue {
  const known = Object.keys((schema.properties ?? {}) as Record<string, unknown>);
  const near = closest(name, known);
  const hint =
    near !== undefined
      ? `; did you mean ${quote(near)}?`
      : known.length > 0
        ? ` (allowed: ${known.join(', ')})`
        : '';
  return { path: [...path, name], at: 'key', message: `unknown property ${quote(name)}${hint}` };
}

/** Properties that qualify a choice (`invert`, a cookie's `ttl`) rather than being one. */
const MODIFIERS = new Set(['invert', 'ttl']);

/** minProperties / maxProperties only ever express "exactly one of" or "at least one of". */
function cardinality(
  keyword: string,
  schema: Record<string, unknown>,
  params: Record<string, unknown>,
): string {
  const known = Object.keys((schema.properties ?? {}) as Record<string, unknown>);
  const choices = known.filter((k) => !MODIFIERS.has(k)).join(', ');
  if (schema.maxProperties === 1) return `needs exactly one of ${choices}`;
  if (keyword === 'minProperties') {
    return known.length > 0 ? `needs at least one of ${choices}` : 'must not be empty';
  }
  return `must have at most ${params.limit} properties`;
}

/** The schema's description of a syntax, as the object of "expected ...". */
function describe(schema: Record<string, unknown>): string {
  const text = typeof schema.description === 'string' ? schema.description : '';
  if (text === '') return `a value matching ${String(schema.pattern)}`;
  return (text[0].toLowerCase() + text.slice(1)).replace(/\.$/, '');
}

function quote(s: unknown): string {
  return `'${String(s)}'`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return quote(value);
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a mapping';
  return String(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number')
    return Number.isInteger(value) ? `the number ${value}` : `${value}`;
  return `${article(typeof value)} ${show(value)}`;
}

function article(type: string): string {
  switch (type) {
    case 'object':
      return 'a mapping';
    case 'array':
      return 'a list';
    case 'integer':
      return 'an integer';
    default:
      return `a ${type}`;
  }
}

/** The known name nearest to a misspelt one, if any is near (Levenshtein distance ≤ 2). */
function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j] + 1, current[j - 1] + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length];
}
