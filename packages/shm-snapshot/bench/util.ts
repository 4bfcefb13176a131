
import { environment, median, printTable as printShmkitTable, sortedTimings, type Row } from '@shmkit/kit/bench';

export { environment, type Row };

export function printTable(title: string, rows: Row[]): void {
  printShmkitTable(title, rows, 'shmkit');
}

/** Median of `runs` timings (ms) of fn, after one warm-up. */
export function timeMs(fn: () => void, runs = 7): { median: number; min: number; max: number } {
  const t = sortedTimings(fn, runs);
  return { median: median(t), min: t[0] as number, max: t[t.length - 1] as number };
}

/** Operations per second of `op`, run in batches for about `ms` milliseconds (median of 5 slices). */
export function rate(op: () => void, ms = 1000, batch = 10_000): number {
  const slices: number[] = [];
  for (let s = 0; s < 5; s++) {
    let n = 0;
    const start = process.hrtime.bigint();
    const until = start + BigInt(Math.round((ms / 5) * 1e6));
    let now = start;
    while (now < until) {
      for (let i = 0; i < batch; i++) op();
      n += batch;
      now = process.hrtime.bigint();
    }
    slices.push(n / (Number(now - start) / 1e9));
  }
  return median(slices);
}

export function fmtRate(r: number): string {
  return r >= 1e6 ? `${(r / 1e6).toFixed(2)} M/s` : r >= 1e3 ? `${(r / 1e3).toFixed(0)} k/s` : `${r.toFixed(0)}/s`;
}

