import { CorruptInputError } from '../errors';

/** Bytes of the little-endian base-128 varint that prefixes a raw snappy block. */
export function varintLength(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 128);
    n++;
  }
  return n;
}

export function writeVarint(value: number, out: Uint8Array, at: number): number {
  while (value >= 0x80) {
    out[at++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

/**
 * Reads the uncompressed length that starts a raw block. The format allows
 * at most 32 bits (format_description.txt §1); anything longer is corrupt.
 */
export function readVarint(data: Uint8Array, at = 0): { value: number; next: number } {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    if (at + i >= data.length) throw new CorruptInputError('truncated length preamble of a raw snappy block', at + i);
    const b = data[at + i]!;
    value += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) {
      if (value > 0xffffffff) break;
      return { value, next: at + i + 1 };
    }
  }
  throw new CorruptInputError('the length preamble of a raw snappy block exceeds 32 bits', at);
}
