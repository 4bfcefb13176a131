import { UsageError } from './usage-error';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION = /^(\d{1,9}(?:\.\d{1,6})?)(ms|s|m|h)?$/;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

/**
 * Reads "500ms", "10s", "1.5s", "2m", "1h" as milliseconds (rounded up, so
 * "0.0001s" is not 0). A plain number is in `plainUnit`, the unit the
 * option documents.
 */
export function parseDuration(text: string, plainUnit: 'ms' | 's' | 'm' | 'h'): DurationResult {
  const t = text.trim();
  if (t.startsWith('-')) return { ok: false, reason: 'a duration cannot be negative' };
  const m = DURATION.exec(t);
  if (m === null) return { ok: false, reason: `not a duration (e.g. 500ms, 10s, 2m, 1h; a plain number is in ${plainUnit})` };
  return { ok: true, ms: Math.ceil(Number(m[1]) * (UNIT_MS[m[2] ?? plainUnit] as number)) };
}

export interface DurationLimits {
  /** The unit of a plain number. */
  plainUnit: 'ms' | 's' | 'm' | 'h';
  minMs?: number;
  maxMs?: number;
}

/** The duration in ms given to option `flag`, within [minMs, maxMs]; a UsageError naming the option otherwise. */
export function durationOption(flag: string, text: string, limits: DurationLimits): number {
  const r = parseDuration(text, limits.plainUnit);
  if (!r.ok) throw new UsageError(`${flag}: ${JSON.stringify(text)}: ${r.reason}`);
  const { minMs = 0, maxMs = 2 ** 31 - 1 } = limits;
  if (r.ms < minMs || r.ms > maxMs) {
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is out of range (${formatDuration(minMs)} to ${formatDuration(maxMs)})`);
  }
  return r.ms;
}

/** "10 s", "500 ms", "2.5 s": for log lines. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${ms / 1000} s`;
}
