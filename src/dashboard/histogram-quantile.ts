/**
 * A quantile from cumulative histogram buckets, as PromQL's histogram_quantile() computes
 * it: linear interpolation inside the bucket the rank falls in; the +Inf bucket answers its
 * lower bound. https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile
 */

/** `buckets`: upper bound (le) -> cumulative count. Undefined when there is nothing. */
export function histogramQuantile(
  q: number,
  buckets: ReadonlyMap<number, number>,
): number | undefined {
  const les = [...buckets.keys()].sort((a, b) => a - b);
  if (les.length === 0) return undefined;
  // Counts summed from sidecars with different bucket sets can dip; keep them monotonic.
  const counts: number[] = [];
  let max = 0;
  for (const le of les) {
    max = Math.max(max, buckets.get(le) ?? 0);
    counts.push(max);
  }
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let i = counts.findIndex((c) => c >= rank);
  if (i < 0) i = counts.length - 1;
  const upper = les[i] ?? 0;
  const lower = i === 0 ? 0 : (les[i - 1] ?? 0);
  if (upper === Number.POSITIVE_INFINITY) return lower;
  const below = i === 0 ? 0 : (counts[i - 1] ?? 0);
  const inBucket = (counts[i] ?? 0) - below;
  if (inBucket <= 0) return upper;
  return lower + (upper - lower) * ((rank - below) / inBucket);
}
