// A resumable decoder for raw snappy blocks (format_description.txt at
// google/snappy@27f34a580be4a3becf5f8c0cba13433f53c21337). It can stop at any
// point (input exhausted or output full) and resume later, with only four
// numbers of state plus the last 64 KiB of output as history: that is what
// lets tinyd decode a block of any size through a fixed-size segment without
// keeping anything per client. Every length and offset is checked before use,
// because the input may come from a hostile peer.
import { CorruptInputError } from '../errors';

/** How far back tinyd lets a copy reach when a raw block is decoded in pieces. */
export const HISTORY = 65536;

/** Where a decode stopped; all plain numbers so the state can live in a shared header. */
export interface RawDecodeState {
  /** Literal bytes still to copy from the input. */
  literal: number;
  /** Bytes of a copy still to emit, and its offset. */
  copyLeft: number;
  copyOffset: number;
  /** Output bytes produced by earlier steps (for telling a corrupt offset from a far one). */
  produced: number;
}

export function initialDecodeState(): RawDecodeState {
  return { literal: 0, copyLeft: 0, copyOffset: 0, produced: 0 };
}

export interface DecodeStep {
  /** Input bytes consumed; an incomplete tag at the end is left unconsumed. */
  inPos: number;
  /** End of the output written (history included). */
  outPos: number;
}

/**
 * Decodes `input[inPos, inEnd)` into `out[outPos, outEnd)`. `out[0, outPos)`
 * holds the preceding output (the history copies may reach into). Mutates
 * `state`; `state.produced` counts bytes written by all steps so far.
 */
export function decodeRawStep(
  input: Uint8Array,
  inPos: number,
  inEnd: number,
  out: Uint8Array,
  outPos: number,
  outEnd: number,
  state: RawDecodeState,
  inputBase = 0,
): DecodeStep {
  const outStart = outPos;
  // Word-wide copies through DataViews take half the time of byte loops on text.
  const outView = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const inView = new DataView(input.buffer, input.byteOffset, input.byteLength);
  let literal = state.literal;
  let copyLeft = state.copyLeft;
  const produced0 = state.produced;
  let offset = state.copyOffset;
  for (;;) {
    if (copyLeft > 0) {
      const n = Math.min(copyLeft, outEnd - outPos);
      // Byte by byte: copies may overlap themselves (offset < length) to repeat a pattern.
      let from = outPos - offset;
      for (let i = 0; i < n; i++) out[outPos++] = out[from++]!;
      copyLeft -= n;
      if (copyLeft > 0) break;
    }
    if (literal > 0) {
      const n = Math.min(literal, inEnd - inPos, outEnd - outPos);
      if (n < 32) {
        for (let i = 0; i < n; i++) out[outPos++] = input[inPos++]!;
      } else {
        out.set(input.subarray(inPos, inPos + n), outPos);
        inPos += n;
        outPos += n;
      }
      literal -= n;
      if (literal > 0) break;
    }
    // Fast path: whole tags whose header, literal bytes and output all fit.
    // The checks are the same as below; only resuming is left to the slow path.
    while (inPos + 5 <= inEnd) {
      const t = input[inPos]!;
      const k = t & 3;
      if (k === 0) {
        let n = (t >>> 2) + 1;
        let p = inPos + 1;
        if (n > 60) {
          const extra = n - 60;
          n = 0;
          for (let i = extra; i >= 1; i--) n = n * 256 + input[inPos + i]!;
          n += 1;
          p += extra;
        }
        if (p + n > inEnd || outPos + n > outEnd) break;
        if (n <= 16 && p + 16 <= inEnd && outPos + 16 <= outEnd) {
          // 16 bytes in four words; the bytes past n are rewritten by what follows.
          outView.setUint32(outPos, inView.getUint32(p, true), true);
          outView.setUint32(outPos + 4, inView.getUint32(p + 4, true), true);
          outView.setUint32(outPos + 8, inView.getUint32(p + 8, true), true);
          outView.setUint32(outPos + 12, inView.getUint32(p + 12, true), true);
          outPos += n;
          p += n;
        } else if (n < 32) {
          for (let i = 0; i < n; i++) out[outPos++] = input[p++]!;
        } else {
          out.set(input.subarray(p, p + n), outPos);
          outPos += n;
          p += n;
        }
        inPos = p;
        continue;
      }
      let n: number;
      let off: number;
      let size: number;
      if (k === 1) {
        n = ((t >>> 2) & 7) + 4;
        off = ((t >>> 5) << 8) | input[inPos + 1]!;
        size = 2;
      } else if (k === 2) {
        n = (t >>> 2) + 1;
        off = input[inPos + 1]! | (input[inPos + 2]! << 8);
        size = 3;
      } else {
        n = (t >>> 2) + 1;
        off = (input[inPos + 1]! | (input[inPos + 2]! << 8) | (input[inPos + 3]! << 16)) + input[inPos + 4]! * 0x1000000;
        size = 5;
      }
      if (off === 0 || off > outPos || outPos + n > outEnd) break; // the slow path reports or resumes
      inPos += size;
      let from = outPos - off;
      if (off >= 4 && outPos + n + 8 <= outEnd) {
        // A word at a time, in order: with off ≥ 4 each word read was fully
        // written before (by an earlier element or the word just stored), so
        // a self-overlapping copy still repeats its pattern. The up to 7
        // bytes stored past n are rewritten by what follows.
        outView.setUint32(outPos, outView.getUint32(from, true), true);
        outView.setUint32(outPos + 4, outView.getUint32(from + 4, true), true);
        const end = outPos + n;
        for (let d = outPos + 8, f = from + 8; d < end; d += 8, f += 8) {
          outView.setUint32(d, outView.getUint32(f, true), true);
          outView.setUint32(d + 4, outView.getUint32(f + 4, true), true);
        }
        outPos = end;
      } else if (off >= n && n >= 16) {
        out.copyWithin(outPos, from, from + n);
        outPos += n;
      } else {
        for (let i = 0; i < n; i++) out[outPos++] = out[from++]!;
      }
    }
    if (inPos >= inEnd || outPos >= outEnd) break;
    const tag = input[inPos]!;
    const kind = tag & 3;
    if (kind === 0) {
      let len = (tag >>> 2) + 1;
      if (len <= 60) {
        inPos += 1;
      } else {
        // format_description.txt §2.1: 61..64 mean the length-1 follows in 1..4 little-endian bytes.
        const extra = len - 60;
        if (inPos + 1 + extra > inEnd) break;
        len = 0;
        for (let i = extra; i >= 1; i--) len = len * 256 + input[inPos + i]!;
        len += 1;
        inPos += 1 + extra;
      }
      literal = len;
      continue;
    }
    let len: number;
    if (kind === 1) {
      // §2.2.1: copy with a 1-byte offset; length 4..11, offset 11 bits.
      if (inPos + 2 > inEnd) break;
      len = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | input[inPos + 1]!;
      inPos += 2;
    } else if (kind === 2) {
      // §2.2.2: copy with a 2-byte little-endian offset; length 1..64.
      if (inPos + 3 > inEnd) break;
      len = (tag >>> 2) + 1;
      offset = input[inPos + 1]! | (input[inPos + 2]! << 8);
      inPos += 3;
    } else {
      // §2.2.3: copy with a 4-byte little-endian offset.
      if (inPos + 5 > inEnd) break;
      len = (tag >>> 2) + 1;
      offset = (input[inPos + 1]! | (input[inPos + 2]! << 8) | (input[inPos + 3]! << 16)) + input[inPos + 4]! * 0x1000000;
      inPos += 5;
    }
    const tagAt = inputBase + inPos;
    if (offset === 0) throw new CorruptInputError('snappy copy with offset 0', tagAt);
    if (offset > outPos) {
      const total = produced0 + (outPos - outStart);
      if (offset <= total) {
        throw new CorruptInputError(
          `a copy reaches ${offset} bytes back, beyond the ${HISTORY} bytes of history kept when a raw block is decoded in pieces; use the framing format (compressFile / streams) for such data`,
          tagAt,
          'ERR_TINYFILE_WINDOW',
        );
      }
      throw new CorruptInputError(`snappy copy reaches ${offset} bytes back but only ${total} bytes were decoded`, tagAt);
    }
    copyLeft = len;
  }
  state.literal = literal;
  state.copyLeft = copyLeft;
  state.copyOffset = offset;
  state.produced = produced0 + (outPos - outStart);
  return { inPos, outPos };
}

/**
 * Decodes a whole raw block (length preamble included) held in memory.
 * Throws CorruptInputError unless the block decodes to exactly its declared length.
 */
export function decodeRawBlock(block: Uint8Array, out: Uint8Array, declared: number, bodyStart: number): number {
  if (declared > out.length) throw new CorruptInputError(`declared length ${declared} exceeds the ${out.length}-byte output`);
  const state = initialDecodeState();
  const r = decodeRawStep(block, bodyStart, block.length, out, 0, declared, state);
  finishRaw(r, block.length, state, declared);
  return declared;
}

/** Checks that a decode that was given all of its input ended exactly at the declared length. */
export function finishRaw(r: DecodeStep, inEnd: number, state: RawDecodeState, declared: number): void {
  if (r.inPos < inEnd) {
    if (state.produced >= declared) throw new CorruptInputError(`snappy data decodes to more than the declared ${declared} bytes`, r.inPos);
    throw new CorruptInputError('truncated snappy tag at the end of the input', r.inPos);
  }
  if (state.literal > 0 || state.copyLeft > 0 || state.produced !== declared) {
    throw new CorruptInputError(`snappy data ends after ${state.produced} of the declared ${declared} bytes`, inEnd);
  }
}
