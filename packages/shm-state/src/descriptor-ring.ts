import { ShmClosedError } from '@shmkit/shm-fd';

import { ShmStateCorruptError, ShmStateCorruptWordError, ShmStateError } from './errors';
import { mappingOf, type ClosedProbe } from './mapping-probe';
import { checkHeaderStart, checkRegion, fourcc, int32At, isPowerOfTwo, type Memory } from './memory-region';

const MAGIC = fourcc('RING');
const VERSION = 1;
const W_MAGIC = 0;
const W_VERSION = 1;
const W_COUNT = 2;
const HEADER = 64;
// Descriptor words (32 bytes each).
const D_MARK = 0; // odd: frozen (valid); even: open (the producer is writing it)
const D_SEQ = 1; // push counter when written: orders descriptors for restore()
const D_PAYLOAD = 2; // lo, hi
const D_START = 4;
const D_END = 6;
const D_WORDS = 8;
/** Largest payload, start or end push() writes. */
const MAX_FIELD = Number.MAX_SAFE_INTEGER;

/** A descriptor: a user value and a byte range [start, end) of the shared memory it vouches for. */
export interface Descriptor {
  payload: number;
  start: number;
  end: number;
}

export interface FrozenDescriptor {
  index: number;
  /** The mark to pass back to `stillFrozen()`. */
  mark: number;
  /** Push order; higher is newer. */
  seq: number;
  descriptor: Descriptor;
}

/**
 * A ring of descriptors with the semantics of the Rust shm-state `Ring`: a
 * checkpoint logger, not a queue between parties.
 *
 * The producer writes data, then pushes a descriptor naming it: the slot's
 * mark is moved to an even value (open: "being rewritten"), the payload and
 * range are written, then the mark is moved to the next odd value (frozen).
 * Marks only grow. A consumer (a backup copier such as shm-restore) may back
 * up a frozen descriptor by: finding it frozen, copying at least its range,
 * checking with `stillFrozen(index, mark)` that the mark did not move, then
 * committing its backup.
 *
 * Unlike the Rust work-in-progress, each descriptor also records a push
 * counter, so `restore()` finds the newest frozen descriptor even after the
 * ring wrapped, and the producer continues after it instead of overwriting it.
 *
 * After a SIGKILL: a push interrupted before its final mark store leaves that
 * descriptor open (invisible); every other frozen descriptor is intact, and
 * `restore()` returns the newest of them.
 *
 * Payload, start and end are numbers up to 2^53.
 */
export class Ring {
  readonly count: number;
  readonly byteLength: number;
  #h: Int32Array | undefined;
  readonly #mapping: ClosedProbe | undefined;
  readonly #d: Int32Array;
  #position = 0;
  #seq = 0;

  private constructor(memory: Memory, offset: number, count: number) {
    this.count = count;
    this.byteLength = Ring.byteLengthFor(count);
    this.#h = int32At(memory, offset, HEADER, 'Ring');
    this.#mapping = mappingOf(memory);
    this.#d = int32At(memory, offset + HEADER, count * D_WORDS * 4, 'Ring');
  }

  static byteLengthFor(count: number): number {
    if (!isPowerOfTwo(count) || count > 1 << 20) throw new ShmStateError('ERR_OUT_OF_RANGE', `Ring descriptor count must be a power of two up to 2^20, got ${count}`);
    return HEADER + count * D_WORDS * 4;
  }

  static create(memory: Memory, options: { offset?: number; count: number }): Ring {
    const offset = options.offset ?? 0;
    const bytes = Ring.byteLengthFor(options.count);
    checkRegion(memory, offset, bytes, 8, 'Ring');
    const all = int32At(memory, offset, bytes, 'Ring');
    Atomics.store(all, W_MAGIC, 0);
    for (let i = 1; i < all.length; i++) Atomics.store(all, i, 0);
    Atomics.store(all, W_VERSION, VERSION);
    Atomics.store(all, W_COUNT, options.count);
    Atomics.store(all, W_MAGIC, MAGIC);
    return new Ring(memory, offset, options.count);
  }

  /** Opens a ring and positions the producer after its newest frozen descriptor. */
  static open(memory: Memory, options: { offset?: number } = {}): Ring {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, HEADER, 8, 'Ring');
    const h = int32At(memory, offset, HEADER, 'Ring');
    const where = `Ring at offset ${offset}`;
    checkHeaderStart(h, where, 'ring', MAGIC, VERSION);
    const count = Atomics.load(h, W_COUNT);
    if (!isPowerOfTwo(count) || count > 1 << 20) throw new ShmStateCorruptError(where, `impossible descriptor count ${count}`);
    if (offset + Ring.byteLengthFor(count) > memory.byteLength) throw new ShmStateCorruptError(where, `${count} descriptors run past the end of the buffer`);
    const ring = new Ring(memory, offset, count);
    ring.restore();
    return ring;
  }

  /**
   * Finds the newest frozen descriptor, positions the producer after it, and
   * returns it (null when none is frozen: nothing was ever committed).
   */
  restore(): Descriptor | null {
    let newest: FrozenDescriptor | null = null;
    for (const f of this.frozen()) if (newest === null || f.seq > newest.seq) newest = f;
    this.#position = newest === null ? 0 : (newest.index + 1) % this.count;
    this.#seq = newest === null ? 0 : newest.seq;
    return newest?.descriptor ?? null;
  }

  /** Writes a descriptor (after the data it names was written) and freezes it; returns its index. */
  push(descriptor: Descriptor): number {
    const d = this.#descs();
    const index = this.#position;
    const b = index * D_WORDS;
    // Open first: from here a copier's stillFrozen() check on this slot fails.
    const open = ((Atomics.load(d, b + D_MARK) | 1) + 1) | 0;
    Atomics.store(d, b + D_MARK, open);
    this.#seq = (this.#seq + 1) >>> 0;
    Atomics.store(d, b + D_SEQ, this.#seq | 0);
    write64(d, b + D_PAYLOAD, descriptor.payload);
    write64(d, b + D_START, descriptor.start);
    write64(d, b + D_END, descriptor.end);
    // Freeze last: everything above (and the data) is sequenced before it.
    Atomics.store(d, b + D_MARK, open | 1);
    this.#position = (index + 1) % this.count;
    return index;
  }

  /** Marks descriptor `index` as no longer valid; true if it was frozen. */
  invalidate(index: number): boolean {
    const d = this.#descs();
    const b = (index % this.count) * D_WORDS;
    const old = Atomics.load(d, b + D_MARK);
    Atomics.store(d, b + D_MARK, ((old | 1) + 1) | 0);
    return (old & 1) === 1;
  }

  /** Every frozen descriptor right now (for copiers). */
  frozen(): FrozenDescriptor[] {
    const d = this.#descs();
    const out: FrozenDescriptor[] = [];
    for (let i = 0; i < this.count; i++) {
      const b = i * D_WORDS;
      const mark = Atomics.load(d, b + D_MARK);
      if ((mark & 1) === 0) continue;
      const descriptor = { payload: read64(d, b + D_PAYLOAD), start: read64(d, b + D_START), end: read64(d, b + D_END) };
      const seq = Atomics.load(d, b + D_SEQ) >>> 0;
      // Re-read the mark: a descriptor rewritten while we read it is skipped.
      if (Atomics.load(d, b + D_MARK) !== mark) continue;
      // push() only writes values below 2^53; anything above was written by someone else and is not even exact.
      if (descriptor.payload > MAX_FIELD || descriptor.start > MAX_FIELD || descriptor.end > MAX_FIELD) {
        throw new ShmStateCorruptWordError('Ring', `frozen descriptor ${i}`, `holds a field above 2^53 (payload ${descriptor.payload}, range [${descriptor.start}, ${descriptor.end}))`);
      }
      out.push({ index: i, mark, seq, descriptor });
    }
    return out;
  }

  /** True while descriptor `index` still carries `mark` (copier step 3). */
  stillFrozen(index: number, mark: number): boolean {
    return Atomics.load(this.#descs(), (index % this.count) * D_WORDS + D_MARK) === mark && (mark & 1) === 1;
  }

  close(): void {
    this.#h = undefined;
  }

  #descs(): Int32Array {
    if (this.#h === undefined) throw new ShmClosedError('the Ring');
    if (this.#mapping?.closed === true) {
      this.close();
      throw new ShmClosedError('the mapping under this Ring');
    }
    return this.#d;
  }
}

function read64(w: Int32Array, lo: number): number {
  return (Atomics.load(w, lo + 1) >>> 0) * 2 ** 32 + (Atomics.load(w, lo) >>> 0);
}

function write64(w: Int32Array, lo: number, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new ShmStateError('ERR_OUT_OF_RANGE', `descriptor fields are integers in [0, 2^53), got ${v}`);
  Atomics.store(w, lo, v % 2 ** 32 | 0);
  Atomics.store(w, lo + 1, Math.floor(v / 2 ** 32) | 0);
}
