/**
 * Regular expressions with RE2 semantics, as Envoy's safe_regex (and gRPC's xDS clients)
 * use: Google's RE2 compiled to WebAssembly (`re2-wasm`, the engine @grpc/grpc-js-xds uses
 * for the same matchers). RE2 runs in time linear in the input and cannot backtrack, so a
 * pattern like `(a+)+b` costs microseconds on any input, where V8's backtracking engine
 * takes seconds on 29 bytes (issue 12). RE2 syntax is taken as it is (`\A`, `\z`,
 * `(?P<name>...)`, `[[:alpha:]]`, `\Q...\E`); what RE2 refuses — backreferences,
 * lookaround, possessive quantifiers — is refused here, with RE2's reason.
 * https://github.com/google/re2/wiki/Syntax
 *
 * Patterns in the linear subset (linear-subset.ts: V8 cannot backtrack on them beyond a
 * constant per character, and they mean the same in both engines) run on V8, which costs
 * well under a microsecond per match where RE2 in WebAssembly costs tens; every other
 * pattern runs on RE2. The engine (about 10 MiB and 200 ms to load) is loaded on the first
 * pattern that needs it, so a sidecar whose configuration has none pays nothing for it. Patterns compile once,
 * at configuration time; the WebAssembly memory of one is freed when its object is
 * collected (re2-wasm itself never frees it, and configurations are replaced for good).
 */
import { createRequire } from 'node:module';
import type { RE2 } from 're2-wasm';
import { linearJsSource } from './linear-subset.js';

/** A compiled pattern: `test` for matchers, `String.prototype.replace` for substitutions. */
export interface Re2Regex {
  readonly source: string;
  test(input: string): boolean;
  [Symbol.replace](input: string, replacement: string): string;
}

export type Re2Result = { ok: true; regex: Re2Regex } | { ok: false; error: string };

/**
 * `full`: the pattern must match the whole input (Envoy's matchers); `global`: every
 * occurrence, unanchored (regex_rewrite's substitution).
 */
export type Re2Mode = 'full' | 'global';

type Re2Class = typeof RE2;

let engine: Re2Class | undefined;
let freeing: FinalizationRegistry<{ delete(): void }> | undefined;

function load(): Re2Class {
  if (!engine) {
    const require = createRequire(import.meta.url);
    engine = (require('re2-wasm') as { RE2: Re2Class }).RE2;
    freeing = new FinalizationRegistry((handle) => handle.delete());
  }
  return engine;
}

/** Compiles an RE2 pattern, or says why RE2 refuses it. */
export function compileRe2(pattern: string, mode: Re2Mode = 'full'): Re2Result {
  if (typeof pattern !== 'string' || pattern.length === 0)
    return { ok: false, error: 'regex is empty' };
  if (mode === 'full') {
    const source = linearJsSource(pattern);
    if (source !== undefined) {
      try {
        return { ok: true, regex: new RegExp(`^(?:${source})$`, 'u') };
      } catch {
        // Not valid for V8 in unicode mode (an escape it does not take): RE2 decides.
      }
    }
  }
  const Engine = load();
  try {
    // RE2 scopes inline flags to their group, so the anchors stay outside `(?i)` and `(?m)`.
    const regex = mode === 'full' ? new Engine(`^(?:${pattern})$`, 'u') : new Engine(pattern, 'gu');
    const handle = (regex as unknown as { wrapper?: { delete(): void } }).wrapper;
    if (handle && typeof handle.delete === 'function') freeing?.register(regex, handle);
    return { ok: true, regex: regex as unknown as Re2Regex };
  } catch (err) {
    return {
      ok: false,
      error: `regex ${JSON.stringify(pattern)} is not valid RE2: ${re2Reason(Engine, pattern, err)}`,
    };
  }
}

/**
 * RE2's own words about the pattern as written (not the anchored form compiled), without
 * re2-wasm's "Invalid regular expression: /…/u: " prefix.
 */
function re2Reason(Engine: Re2Class, pattern: string, err: unknown): string {
  let message = err instanceof Error ? err.message : String(err);
  try {
    new Engine(pattern, 'u');
  } catch (raw) {
    message = raw instanceof Error ? raw.message : String(raw);
  }
  const at = message.lastIndexOf('/u: ');
  return at >= 0 ? message.slice(at + 4) : message;
}
