// Decoding one raw snappy block through segments: either sequentially, with
// the decoder state carried by each chunk, or cut into independent pieces.
import { HISTORY } from '../codec/raw-decoder';
import { type RawPiece, splitRawBlock } from '../codec/raw-split';
import { readVarint } from '../codec/varint';
import { CorruptInputError, TinyFileError } from '../errors';
import type { Channel } from './channel';
import { checkTarget, type Done, type Prepare } from './chunking';
import { prefault } from './prefault';

/** Pieces of a raw block for parallel decoding, or null to decode it sequentially. */
export function independentPieces(block: Uint8Array, start: number, declared: number, ch: Channel): RawPiece[] | null {
  if (ch.slots < 2 || declared < SPLIT_MIN_BLOCK) return null;
  const target = Math.max(SPLIT_MIN, Math.min(Math.ceil(declared / ch.slots), ch.slotSize >>> 1));
  const pieces = splitRawBlock(block, start, declared, { target, maxIn: ch.slotSize, maxOut: ch.slotSize });
  return pieces !== null && pieces.length > 1 ? pieces : null;
}

export function piecePrepare(block: Uint8Array, p: RawPiece): Prepare {
  return (data, slot) => {
    data.set(block.subarray(p.inStart, p.inEnd), 0);
    slot.inLen = p.inEnd - p.inStart;
    slot.histLen = 0;
    slot.outLimit = p.outEnd - p.outStart;
    slot.setRawDecodeWords(0, 0, 0, p.outStart);
  };
}

export function pieceComplete(d: Done, p: RawPiece, out: Buffer): void {
  const consumed = d.slot.consumed;
  const whole = d.slot.literal === 0 && d.slot.copyLeft === 0;
  // Sizes come from the daemon, and must be exactly what the piece decodes to.
  if (d.outLen !== p.outEnd - p.outStart || consumed !== p.inEnd - p.inStart || !whole) {
    throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `tinyd decoded a piece to ${d.outLen} bytes from ${consumed}, not ${p.outEnd - p.outStart} from ${p.inEnd - p.inStart}`);
  }
  d.data.copy(out, p.outStart, 0, d.outLen);
}

/** The smallest piece a block is cut into. */
const SPLIT_MIN = 64 * 1024;
/**
 * Smaller blocks decode sequentially. Finding the cuts walks every element
 * on the client (≈ 1.3 ms per MiB of text here, a quarter of decoding it):
 * at 1 MiB that ate the gain of two workers (5.3 ms split vs 4.9 ms
 * sequential) and cost a CPU-bound pair of clients a third of their rate;
 * at 64 MiB one client decodes 1.3× faster split (275 vs 356 ms).
 */
const SPLIT_MIN_BLOCK = 8 * 1024 * 1024;

/**
 * The client side of decompressing one raw block through segments: the
 * decoder state and the last 64 KiB of output travel with each chunk, so
 * tinyd keeps nothing between chunks.
 */
export class RawDecode {
  readonly #block: Uint8Array;
  readonly #out: Buffer;
  /** The most output the chunk last sent can produce. */
  #outLimit = 0;
  readonly #declared: number;
  inPos: number;
  #produced = 0;
  #literal = 0;
  #copyLeft = 0;
  #copyOffset = 0;
  #sent = 0;
  #hist = 0;
  finished = false;

  /**
   * `output`: a number decodes into a Buffer of its own, of at most that many
   * bytes (maxOutputLength); `{ into }` decodes into the caller's buffer (its
   * first `declared` bytes), checked here.
   */
  constructor(block: Uint8Array, output: number | { into: unknown }) {
    const { value, next } = readVarint(block);
    const target = typeof output === 'number' ? undefined : output.into;
    if (typeof output !== 'number') {
      checkTarget(block, target, value, `the block decodes to ${value} bytes`, 'uncompressedLength(block)');
    } else if (value > output) {
      throw new TinyFileError('ERR_TINYFILE_TOO_LARGE', `the block declares ${value} bytes, more than maxOutputLength ${output}; raise it in TinyFile.connect`);
    }
    this.#block = block;
    this.#declared = value;
    // Allocated before the first chunk goes out, not when it is answered:
    // memory freed by the last call is then often still mapped.
    this.#out = target instanceof Uint8Array ? Buffer.from(target.buffer, target.byteOffset, value) : Buffer.allocUnsafe(value);
    this.inPos = next;
    this.#check();
  }

  prepare: Prepare = (data, slot) => {
      const slotSize = data.length;
      const hist = Math.min(HISTORY, this.#produced);
      const inLen = Math.min(slotSize - hist, this.#block.length - this.inPos);
      this.#sent = inLen;
      this.#hist = hist;
      this.#out.copy(data, 0, this.#produced - hist, this.#produced);
      data.set(this.#block.subarray(this.inPos, this.inPos + inLen), hist);
      slot.inLen = inLen;
      slot.histLen = hist;
      this.#outLimit = Math.min(slotSize - hist, this.#declared - this.#produced);
      slot.outLimit = this.#outLimit;
      slot.setRawDecodeWords(this.#literal, this.#copyLeft, this.#copyOffset, this.#produced);
  };

  complete = (d: Done): void => {
    const consumed = d.slot.consumed;
    // Sizes come from the daemon: check them before copying.
    if (d.outLen < 0 || d.outLen > this.#declared - this.#produced || this.#hist + d.outLen > d.data.length || consumed < 0 || consumed > this.#sent) {
      throw new TinyFileError('ERR_TINYFILE_PROTOCOL', 'tinyd answered with out-of-range lengths');
    }
    // tinyd decodes in place, right after the history it was given.
    d.data.copy(this.#out, this.#produced, this.#hist, this.#hist + d.outLen);
    this.#produced += d.outLen;
    this.#literal = d.slot.literal;
    this.#copyLeft = d.slot.copyLeft;
    this.#copyOffset = d.slot.copyOffset;
    const before = this.inPos;
    this.inPos += consumed;
    if (consumed === 0 && d.outLen === 0) {
      // No progress: a tag cut by the end of the input, or more data than declared.
      if (this.#produced >= this.#declared) throw new CorruptInputError(`snappy data decodes to more than the declared ${this.#declared} bytes`, before);
      throw new CorruptInputError('truncated snappy tag at the end of the input', before);
    }
    this.#check();
  };

  #check(): void {
    const inputDone = this.inPos >= this.#block.length;
    if (this.#produced === this.#declared && this.#literal === 0 && this.#copyLeft === 0) {
      if (!inputDone) throw new CorruptInputError(`snappy data decodes to more than the declared ${this.#declared} bytes`, this.inPos);
      this.finished = true;
    } else if (inputDone && this.#copyLeft === 0) {
      throw new CorruptInputError(`snappy data ends after ${this.#produced} of the declared ${this.#declared} bytes`, this.inPos);
    }
  }

  result(): Buffer {
    return this.#out;
  }

  /** Touches the pages the chunk just sent decodes into; call it while tinyd works on it (see prefault.ts). */
  prefault(): void {
    prefault(this.#out, this.#produced, this.#produced + this.#outLimit);
  }

  /** Touches every page of the output; for pieces decoded in parallel, once the first is out. */
  prefaultAll(): void {
    prefault(this.#out, 0, this.#declared);
  }

  /** The output length the block declares. */
  get declared(): number {
    return this.#declared;
  }
}
