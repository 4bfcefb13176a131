import { alternateTimings, medianOf, sortedTimings } from '../src/bench';

export { environment, printTable, type Row } from '../src/bench';

/** Median of `runs` timings (ms) of fn. */
export function timeMs(fn: () => void, runs = 7): { median: number; spread: number } {
  const t = sortedTimings(fn, runs);
  return { median: medianOf(t), spread: ((t[t.length - 1] as number) - (t[0] as number)) / 2 };
}

/**
 * Times `ours` and `base` alternately, so load from other processes drifts
 * into both sides alike; medians of `runs` each.
 */
export function timePair(ours: () => void, base: () => void, runs = 9): { ours: number; base: number } {
  const t = alternateTimings(ours, base, runs);
  const median = (xs: number[]) => medianOf([...xs].sort((x, y) => x - y));
  return { ours: median(t.ours), base: median(t.base) };
}
