import { alternateTimings, median, sortedTimings } from '@shmkit/kit/bench';

export { environment, printTable, type Row } from '@shmkit/kit/bench';

/** Median of `runs` timings (ms) of fn. */
export function timeMs(fn: () => void, runs = 7): { median: number; spread: number } {
  const t = sortedTimings(fn, runs);
  return { median: median(t), spread: ((t[t.length - 1] as number) - (t[0] as number)) / 2 };
}

/**
 * Times `ours` and `base` alternately, so load from other processes drifts
 * into both sides alike; medians of `runs` each.
 */
export function timePair(ours: () => void, base: () => void, runs = 9): { ours: number; base: number } {
  const t = alternateTimings(ours, base, runs);
  return { ours: median(t.ours), base: median(t.base) };
}
