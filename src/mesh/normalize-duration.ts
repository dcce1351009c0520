import type { Data } from '../parsed-data/index.js';
import { DURATION_HINT, parseDuration } from './duration.js';
import type { FieldPath } from './field-path.js';
import type { Issue } from './issue.js';

/**
 * Reads the duration at `raw[key]` in milliseconds: undefined when absent or invalid (and then
 * an issue is recorded). `positive` rejects 0, for durations where 0 has no meaning
 * (a connect timeout, an ejection interval); request timeouts accept 0, which disables them.
 */
export function readDuration(
  raw: Data,
  key: string,
  path: FieldPath,
  issues: Issue[],
  positive = false,
): number | undefined {
  const value = raw[key];
  if (value === undefined) return undefined;
  const at = [...path, key];
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined) {
    const shown = typeof value === 'string' ? `'${value}'` : String(value);
    issues.push({ path: at, message: `invalid value ${shown}: ${DURATION_HINT}` });
    return undefined;
  }
  if (positive && ms === 0) {
    issues.push({ path: at, message: 'must be greater than 0' });
    return undefined;
  }
  return ms;
}
