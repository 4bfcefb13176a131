// Assembles one raw snappy block from the compressed pieces of a call,
// which finish in any order.
//
// BlockGather (compress): each piece is copied from its segment into a
// reusable scratch at a fixed stride, and the block is allocated once, at its
// exact size, when all are in. Allocating a Buffer per piece and then
// concatenating them cost a 1 MiB call more CPU (page faults of fresh large
// allocations, and the garbage collections they trigger) than the copies do,
// and that CPU is taken from tinyd's workers on a small machine.
//
// BlockPlacer (compressInto): pieces go straight to their place in the
// caller's buffer as soon as every piece before them is in; only a piece
// that finishes ahead of one before it waits in the scratch.
import { maxCompressedLength } from '../codec/codec';
import { writeVarint, varintLength } from '../codec/varint';
import { TinyFileError } from '../errors';

/** The largest scratch kept between calls; bigger calls use Buffer.concat. */
export const MAX_GATHER_BYTES = 16 * 1024 * 1024;

/** One spare scratch, lent to one call at a time; concurrent calls allocate their own. */
export class ScratchPool {
  #spare: Buffer | undefined;

  take(bytes: number): Buffer {
    const s = this.#spare;
    if (s !== undefined && s.length >= bytes) {
      this.#spare = undefined;
      return s;
    }
    return Buffer.allocUnsafeSlow(bytes);
  }

  give(b: Buffer): void {
    if (b.length <= MAX_GATHER_BYTES && (this.#spare === undefined || this.#spare.length < b.length)) this.#spare = b;
  }

  clear(): void {
    this.#spare = undefined;
  }
}

/** Where the compressed pieces of one call go. */
export interface PieceSink {
  /** Takes piece `i`'s compressed body (`length` bytes at the start of `from`). */
  put(i: number, from: Buffer, length: number): void;
  /** Returns the scratch to the pool; call once, when the call is over (done or failed). */
  release(): void;
}

/** tinyd wrote `length` into shared memory: never trust it past the stride. */
function checkPieceLength(length: number, stride: number, from: Buffer): void {
  if (length < 0 || length > stride || length > from.length) {
    throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `tinyd reported ${length} compressed bytes for a piece whose bound is ${stride}`);
  }
}

export class BlockGather implements PieceSink {
  readonly #scratch: Buffer;
  readonly #lengths: number[];

  constructor(
    readonly pool: ScratchPool,
    readonly pieces: number,
    /** The most bytes one piece can compress to. */
    readonly stride: number,
  ) {
    this.#scratch = pool.take(pieces * stride);
    this.#lengths = new Array<number>(pieces).fill(-1);
  }

  put(i: number, from: Buffer, length: number): void {
    checkPieceLength(length, this.stride, from);
    from.copy(this.#scratch, i * this.stride, 0, length);
    this.#lengths[i] = length;
  }

  /** The block: the varint of `inputLength`, then every piece in order. */
  block(inputLength: number): Buffer {
    const head = varintLength(inputLength);
    const out = Buffer.allocUnsafe(head + this.#lengths.reduce((a, n) => a + n, 0));
    writeVarint(inputLength, out, 0);
    let at = head;
    for (let i = 0; i < this.pieces; i++) {
      const n = this.#lengths[i]!;
      if (n < 0) throw new TinyFileError('ERR_TINYFILE_INTERNAL', `piece ${i} of the block never arrived`);
      at += this.#scratch.copy(out, at, i * this.stride, i * this.stride + n);
    }
    return out;
  }

  release(): void {
    this.pool.give(this.#scratch);
  }
}

export class BlockPlacer implements PieceSink {
  readonly #target: Buffer;
  /** Where the next piece in order goes. */
  #at: number;
  /** The first piece not yet placed. */
  #next = 0;
  /** Pieces in ahead of their turn: their length in the scratch (at `i × stride`), or a copy of their own. */
  readonly #waiting: Array<number | Buffer | undefined>;
  #scratch: Buffer | undefined;

  constructor(
    readonly pool: ScratchPool,
    readonly pieces: number,
    /** The most bytes one piece can compress to. */
    readonly stride: number,
    inputLength: number,
    /** Holds at least maxCompressedLength(inputLength) bytes (the caller checks). */
    target: Uint8Array,
  ) {
    // Only the bound is ours to write, whatever lies beyond it in the target.
    this.#target = Buffer.from(target.buffer, target.byteOffset, maxCompressedLength(inputLength));
    this.#at = writeVarint(inputLength, this.#target, 0);
    this.#waiting = new Array<number | Buffer | undefined>(pieces);
  }

  put(i: number, from: Buffer, length: number): void {
    checkPieceLength(length, this.stride, from);
    if (i !== this.#next) {
      this.#wait(i, from, length);
      return;
    }
    this.#place(from, 0, length);
    for (let w = this.#waiting[++this.#next]; w !== undefined; w = this.#waiting[++this.#next]) {
      this.#waiting[this.#next] = undefined;
      if (typeof w === 'number') this.#place(this.#scratch!, this.#next * this.stride, w);
      else this.#place(w, 0, w.length);
    }
  }

  #wait(i: number, from: Buffer, length: number): void {
    const bytes = this.pieces * this.stride;
    if (bytes > MAX_GATHER_BYTES) {
      this.#waiting[i] = Buffer.from(from.subarray(0, length));
      return;
    }
    this.#scratch ??= this.pool.take(bytes);
    from.copy(this.#scratch, i * this.stride, 0, length);
    this.#waiting[i] = length;
  }

  #place(from: Buffer, start: number, length: number): void {
    // The pieces of one block never add up to more than its bound: more means tinyd is lying.
    if (this.#at + length > this.#target.length) {
      throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `tinyd's pieces add up to more than the ${this.#target.length} bytes a block of this input can take`);
    }
    this.#at += from.copy(this.#target, this.#at, start, start + length);
  }

  /** The block's length, once every piece is placed. */
  finish(): number {
    if (this.#next !== this.pieces) throw new TinyFileError('ERR_TINYFILE_INTERNAL', `piece ${this.#next} of the block never arrived`);
    return this.#at;
  }

  release(): void {
    if (this.#scratch !== undefined) this.pool.give(this.#scratch);
    this.#scratch = undefined;
  }
}
