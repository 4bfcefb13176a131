import { UsageError } from './usage-error';

// Binary multiples only: "k" and "KiB" (and "kb") all mean 1024.
const UNITS: Record<string, bigint> = { '': 1n, k: 1024n, m: 1024n ** 2n, g: 1024n ** 3n, t: 1024n ** 4n };
const SIZE = /^(\d+)\s*(?:([kmgt])(?:i?b)?|(b))?$/i;

export type SizeResult = { ok: true; bytes: number } | { ok: false; reason: string };

/**
 * Reads "4096", "64k", "8M", "1G", "2T", "16 KiB", "1gib" (case-insensitive,
 * binary multiples) as bytes. A plain number counts `plainUnit` bytes (1
 * unless the option documents another unit, e.g. 1024 for "KB").
 * Negative numbers, fractions and sizes past 2^53 - 1 bytes are refused
 * with the reason.
 */
export function parseSize(text: string, plainUnit = 1): SizeResult {
  const t = text.trim();
  if (t.startsWith('-')) return { ok: false, reason: 'a size cannot be negative' };
  if (/^\d*\.\d/.test(t)) return { ok: false, reason: 'a size must be a whole number (use a smaller unit, e.g. 1536k for 1.5M)' };
  const m = SIZE.exec(t);
  if (m === null) return { ok: false, reason: 'not a size (e.g. 4096, 64k, 8M, 1GiB)' };
  const suffix = (m[2] ?? '').toLowerCase();
  const unit = m[2] === undefined && m[3] === undefined ? BigInt(plainUnit) : (UNITS[suffix] as bigint);
  const bytes = BigInt(m[1] as string) * unit;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'too large (at most 2^53 - 1 bytes)' };
  return { ok: true, bytes: Number(bytes) };
}

export interface SizeLimits {
  min?: number;
  max?: number;
  /** Bytes a plain number stands for (default 1). */
  plainUnit?: number;
}

/** The size given to option `flag`, within [min, max]; a UsageError naming the option otherwise. */
export function sizeOption(flag: string, text: string, limits: SizeLimits = {}): number {
  const r = parseSize(text, limits.plainUnit);
  if (!r.ok) throw new UsageError(`${flag}: ${JSON.stringify(text)}: ${r.reason}`);
  const { min = 0, max = Number.MAX_SAFE_INTEGER } = limits;
  if (r.bytes < min || r.bytes > max) {
    throw new UsageError(`${flag}: ${JSON.stringify(text)} is out of range (${formatSize(min)} to ${formatSize(max)})`);
  }
  return r.bytes;
}

/** 8388608 → "8 MiB" for messages. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`;
}
