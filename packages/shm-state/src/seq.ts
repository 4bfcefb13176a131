import { ShmStateCorruptError, ShmStateError } from './errors';
import { Ring } from './descriptor-ring';
import { ShmClosedError } from '@shmkit/shm-fd';

import { checkMapped, mappingOf, type ClosedProbe } from './mapping-probe';
import { checkRegion, isPowerOfTwo, type Memory } from './memory-region';

const RING_COUNT = 4;

/**
 * A checkpointed byte value (the Rust shm-state `Seq` log): each `set()`
 * appends the new value to a ring buffer right after the current one, then
 * pushes a frozen Ring descriptor for it, then invalidates the previous
 * descriptor. A value may use at most half the buffer, so writing the new
 * value never overwrites the current one.
 *
 * After a SIGKILL inside `set()` the previous value is still frozen and
 * `restore()` (run by `open`) returns it; a backup copier (shm-restore) only
 * ever copies a frozen, consistent value.
 *
 * Layout: a Ring of 4 descriptors, then `buffer` bytes of data. Descriptor
 * payload = begin × 2^32 + length; start/end = the data area's offsets.
 */
export class Seq {
  readonly buffer: number;
  readonly maxValue: number;
  readonly byteLength: number;
  readonly #ring: Ring;
  readonly #data: Uint8Array;
  readonly #dataOffset: number;
  readonly #mapping: ClosedProbe | undefined;
  #closed = false;
  #begin = 0;
  #len = 0;
  #current = -1;

  private constructor(memory: Memory, offset: number, ring: Ring, buffer: number) {
    this.buffer = buffer;
    this.maxValue = buffer / 2;
    this.byteLength = ring.byteLength + buffer;
    this.#ring = ring;
    this.#dataOffset = offset + ring.byteLength;
    this.#data = memory.subarray(this.#dataOffset, this.#dataOffset + buffer);
    this.#mapping = mappingOf(memory);
  }

  static byteLengthFor(buffer: number): number {
    checkBuffer(buffer);
    return Ring.byteLengthFor(RING_COUNT) + buffer;
  }

  static create(memory: Memory, options: { offset?: number; buffer: number }): Seq {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, Seq.byteLengthFor(options.buffer), 8, 'Seq');
    const ring = Ring.create(memory, { offset, count: RING_COUNT });
    memory.fill(0, offset + ring.byteLength, offset + ring.byteLength + options.buffer);
    return new Seq(memory, offset, ring, options.buffer);
  }

  /** Opens and restores the newest committed value. */
  static open(memory: Memory, options: { offset?: number; buffer: number }): Seq {
    const offset = options.offset ?? 0;
    checkBuffer(options.buffer);
    const ring = Ring.open(memory, { offset });
    if (ring.count !== RING_COUNT) throw new ShmStateCorruptError(`Seq at offset ${offset}`, `its ring has ${ring.count} descriptors, not ${RING_COUNT}`);
    checkRegion(memory, offset, ring.byteLength + options.buffer, 8, 'Seq');
    const seq = new Seq(memory, offset, ring, options.buffer);
    seq.restore();
    return seq;
  }

  /** Reloads the newest committed value; returns its length, or -1 when none was ever set. */
  restore(): number {
    this.#check();
    const frozen = this.#ring.frozen();
    let newest = frozen[0];
    for (const f of frozen) if (newest === undefined || f.seq > newest.seq) newest = f;
    this.#ring.restore();
    if (newest === undefined) {
      this.#begin = 0;
      this.#len = 0;
      this.#current = -1;
      return -1;
    }
    const begin = Math.floor(newest.descriptor.payload / 2 ** 32);
    const len = newest.descriptor.payload % 2 ** 32;
    const where = `Seq at offset ${this.#dataOffset}`;
    if (len > this.maxValue || begin >= this.buffer) throw new ShmStateCorruptError(where, `committed value [${begin}, +${len}) does not fit a ${this.buffer}-byte buffer`);
    if (newest.descriptor.start !== this.#dataOffset || newest.descriptor.end !== this.#dataOffset + this.buffer) {
      throw new ShmStateCorruptError(where, 'descriptor range does not match the data area (opened with another buffer size?)');
    }
    this.#begin = begin;
    this.#len = len;
    this.#current = newest.index;
    return len;
  }

  /** Commits `value` (at most `maxValue` bytes). */
  set(value: Uint8Array): void {
    this.#check();
    const len = value.byteLength;
    if (len > this.maxValue) throw new ShmStateError('ERR_SHM_STATE_MESSAGE_TOO_LARGE', `a ${len}-byte value exceeds half the ${this.buffer}-byte buffer`);
    const mask = this.buffer - 1;
    const begin = (this.#begin + ((this.#len + 3) & ~3)) & mask;
    const first = Math.min(len, this.buffer - begin);
    this.#data.set(value.subarray(0, first), begin);
    if (first < len) this.#data.set(value.subarray(first), 0);
    const index = this.#ring.push({ payload: begin * 2 ** 32 + len, start: this.#dataOffset, end: this.#dataOffset + this.buffer });
    if (this.#current >= 0 && this.#current !== index) this.#ring.invalidate(this.#current);
    this.#current = index;
    this.#begin = begin;
    this.#len = len;
  }

  /** A copy of the current value, or null when none was ever set. */
  get(): Buffer | null {
    this.#check();
    if (this.#current < 0) return null;
    const out = Buffer.allocUnsafe(this.#len);
    const first = Math.min(this.#len, this.buffer - this.#begin);
    out.set(this.#data.subarray(this.#begin, this.#begin + first));
    if (first < this.#len) out.set(this.#data.subarray(0, this.#len - first), first);
    return out;
  }

  close(): void {
    this.#closed = true;
    this.#ring.close();
  }

  #check(): void {
    if (this.#closed) throw new ShmClosedError('the Seq');
    checkMapped(this.#mapping, 'Seq');
  }
}

function checkBuffer(buffer: number): void {
  if (!isPowerOfTwo(buffer) || buffer < 8 || buffer > 1 << 30) throw new ShmStateError('ERR_OUT_OF_RANGE', `Seq buffer must be a power of two between 8 and 2^30 bytes, got ${buffer}`);
}
