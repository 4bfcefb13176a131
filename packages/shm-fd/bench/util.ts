export { environment, printTable, type Row } from '../src/bench-table';

/** Median of `runs` timings (ms) of fn. */
export function timeMs(fn: () => void, runs = 7): { median: number; spread: number } {
  fn(); // warm-up
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  t.sort((a, b) => a - b);
  const median = t[Math.floor(t.length / 2)] as number;
  return { median, spread: ((t[t.length - 1] as number) - (t[0] as number)) / 2 };
}

/**
 * Times `ours` and `base` alternately, so load from other processes drifts
 * into both sides alike; medians of `runs` each.
 */
export function timePair(ours: () => void, base: () => void, runs = 9): { ours: number; base: number } {
  ours();
  base();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [fn, into] of i % 2 === 0 ? ([[ours, a], [base, b]] as const) : ([[base, b], [ours, a]] as const)) {
      const s = process.hrtime.bigint();
      fn();
      into.push(Number(process.hrtime.bigint() - s) / 1e6);
    }
  }
  const median = (t: number[]) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 2)] as number;
  return { ours: median(a), base: median(b) };
}

