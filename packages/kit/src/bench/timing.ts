// Internal to shmkit: how the bench scripts time a subject against its
// alternative. Not a stable API.

/**
 * Timings in ms of `ours` and `base`, `runs` each after one warm-up each,
 * alternating which goes first so load from other processes drifts into
 * both sides alike. The caller picks the statistic (median, best).
 */
export function alternateTimings(ours: () => void, base: () => void, runs: number): { ours: number[]; base: number[] } {
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
  return { ours: a, base: b };
}

/** Timings in ms of `runs` calls of `fn` after one warm-up, sorted ascending. */
export function sortedTimings(fn: () => void, runs: number): number[] {
  fn();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  return t.sort((x, y) => x - y);
}
