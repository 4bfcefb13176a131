// Assembles one raw snappy block from the compressed pieces of a call.
// Pieces finish in any order; each is copied from its segment into a
// reusable scratch at a fixed stride, and the block is allocated once, at its
// exact size, when all are in. Allocating a Buffer per piece and then
// concatenating them cost a 1 MiB call more CPU (page faults of fresh large
// allocations, and the garbage collections they trigger) than the copies do,
// and that CPU is taken from tinyd's workers on a small machine.
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

export class BlockGather {
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

  /** Copies piece `i`'s compressed body (`length` bytes at the start of `from`). */
  put(i: number, from: Buffer, length: number): void {
    // tinyd wrote `length` into shared memory: never trust it past the stride.
    if (length < 0 || length > this.stride || length > from.length) {
      throw new TinyFileError('ERR_TINYFILE_PROTOCOL', `tinyd reported ${length} compressed bytes for a piece whose bound is ${this.stride}`);
    }
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

  /** Returns the scratch to the pool; call once, when the call is over (done or failed). */
  release(): void {
    this.pool.give(this.#scratch);
  }
}
