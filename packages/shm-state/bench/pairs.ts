// How every peer row is measured: ours (A) and the alternative (B) in the
// same run, alternating which goes first (A B, B A, …) so load from other
// processes drifts into both alike; one warm-up each; the row reports the
// median of the per-pair ratios and their range.
import { median } from './util';

/** Pairs per row: 7 unless SHM_STATE_BENCH_PAIRS says otherwise (fewer for a smoke run). */
export const PAIRS = positive('SHM_STATE_BENCH_PAIRS', 7);
/**
 * SHM_STATE_BENCH_AA=1: an A/A control — every row measures the alternative
 * against itself, so its ratio range shows how far noise alone moves a
 * ratio on this machine.
 */
export const AA = process.env['SHM_STATE_BENCH_AA'] === '1';
/** Scales every message/operation count (SHM_STATE_BENCH_SCALE=0.05 for a smoke run). */
export const SCALE = positive('SHM_STATE_BENCH_SCALE', 1);

function positive(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!(n > 0) || !Number.isFinite(n)) {
    process.stderr.write(`shm-state bench: ${name} must be a positive number, got "${raw}"\n`);
    process.exit(2);
  }
  return n;
}

/** A count scaled by SCALE, at least `min`. */
export function scaled(n: number, min = 1): number {
  return Math.max(min, Math.round(n * SCALE));
}

/** One measurement: a rate (per second) or a latency (µs), and the CPU both processes spent. */
export interface Sample {
  value: number;
  /** CPU microseconds of both sides (process.cpuUsage, user + system). */
  cpuUs: number;
  /** Messages, round trips or operations the CPU figure covers. */
  units: number;
}

export interface Pairs {
  ours: Sample[];
  base: Sample[];
}

export async function abPairs(subject: () => Promise<Sample>, base: () => Promise<Sample>, pairs = PAIRS): Promise<Pairs> {
  const ours = AA ? base : subject;
  await ours();
  await base();
  const a: Sample[] = [];
  const b: Sample[] = [];
  for (let i = 0; i < pairs; i++) {
    if (i % 2 === 0) {
      a.push(await ours());
      b.push(await base());
    } else {
      b.push(await base());
      a.push(await ours());
    }
  }
  return { ours: a, base: b };
}

/** CPU seconds per million units = CPU µs per unit. */
export function cpuPerMillion(samples: Sample[]): number {
  return median(samples.map((s) => s.cpuUs / s.units));
}

/**
 * Per-pair ratios, > 1 meaning ours is better: rate ours ÷ theirs, or
 * latency theirs ÷ ours.
 */
export function ratios(p: Pairs, kind: 'rate' | 'latency'): number[] {
  return p.ours.map((o, i) => {
    const b = (p.base[i] as Sample).value;
    return kind === 'rate' ? o.value / b : b / o.value;
  });
}

export function rangeNote(rs: number[]): string {
  return `(range ${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}×, ${rs.length} pairs${AA ? ', A/A control: alternative vs itself' : ''})`;
}
