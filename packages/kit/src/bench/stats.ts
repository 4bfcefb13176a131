// Internal to shmkit: the statistics bench scripts report. Not a stable API.

/**
 * The `p`-quantile (p from 0 to 1: 0.5 the median, 0.99 the 99th
 * percentile) of ascending `sorted`, as the element at floor(p · n),
 * clamped to the last: no interpolation, so it is always a measured value.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no values');
  if (!(p >= 0 && p <= 1)) throw new RangeError(`percentile takes p from 0 to 1, got ${p}`);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** The median of `xs` (any order): percentile 0.5, the upper middle value of an even count. */
export function median(xs: readonly number[]): number {
  return percentile([...xs].sort((a, b) => a - b), 0.5);
}
