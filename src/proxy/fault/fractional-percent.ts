/**
 * envoy.type.v3.FractionalPercent as a test of a random number: a request is in the fraction
 * when floor(random * denominator) < numerator, as Envoy's featureEnabled rolls
 * `random % denominator < numerator`. A numerator above the denominator means always, as
 * Envoy caps it.
 * https://www.envoyproxy.io/docs/envoy/latest/api-v3/type/v3/percent.proto
 */
import type { envoy } from '../../xds/index.js';
import { FilterConfigError } from './fault-error.js';

const DENOMINATORS: Readonly<Record<string, number>> = {
  HUNDRED: 100,
  TEN_THOUSAND: 10_000,
  MILLION: 1_000_000,
  0: 100,
  1: 10_000,
  2: 1_000_000,
};

/** A compiled fraction: `numerator` out of `denominator`. */
export interface Fraction {
  readonly numerator: number;
  readonly denominator: number;
}

/** Never: what an absent percentage means (proto3's zero value, as Envoy reads it). */
export const NEVER: Fraction = Object.freeze({ numerator: 0, denominator: 100 });

export function compileFraction(p: envoy.FractionalPercent | undefined, field: string): Fraction {
  if (p === undefined) return NEVER;
  const numerator = p.numerator ?? 0;
  if (!Number.isInteger(numerator) || numerator < 0) {
    throw new FilterConfigError(
      `${field}.numerator`,
      `must be a whole number >= 0, not ${numerator}`,
    );
  }
  const denominator = DENOMINATORS[String(p.denominator ?? 'HUNDRED')];
  if (denominator === undefined) {
    throw new FilterConfigError(
      `${field}.denominator`,
      `must be HUNDRED, TEN_THOUSAND or MILLION, not ${String(p.denominator)}`,
    );
  }
  return { numerator: Math.min(numerator, denominator), denominator };
}

/** Whether a request whose roll is `random` (in [0, 1)) falls in the fraction. */
export function inFraction(f: Fraction, random: number): boolean {
  if (f.numerator >= f.denominator) return true;
  if (f.numerator === 0) return false;
  return Math.floor(random * f.denominator) < f.numerator;
}
