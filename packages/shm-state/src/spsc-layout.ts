// The shared-memory layout of an SpscQueue: header words, geometry, and
// the header's initialisation and validation. Every process using the
// queue agrees on these.
import { ShmStateCorruptError, ShmStateCorruptWordError, ShmStateError } from './errors';
import { checkHeaderStart, fourcc, int32At, isPowerOfTwo, type Memory } from './memory-region';
import { Notifier } from './notifier';

export const MAGIC = fourcc('SPSQ');
export const VERSION = 1;
// Header words (int32 index). Producer and consumer positions sit on their
// own cache lines so the two sides do not invalidate each other's line.
export const W_MAGIC = 0;
export const W_VERSION = 1;
export const W_CAPACITY = 2;
export const W_TAIL = 16; // byte 64: next byte the producer writes (unmasked, wraps at 2^32)
export const W_HEAD = 32; // byte 128: next byte the consumer reads
export const NOT_EMPTY = 192;
export const NOT_FULL = NOT_EMPTY + Notifier.byteLength;
export const HEADER = NOT_FULL + Notifier.byteLength; // 704, a multiple of 64

export const MIN_CAPACITY = 64;
export const MAX_CAPACITY = 1 << 30;

export function checkCapacity(capacity: number): void {
  if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
    throw new ShmStateError('ERR_OUT_OF_RANGE', `SpscQueue capacity must be a power of two between ${MIN_CAPACITY} and ${MAX_CAPACITY} bytes, got ${capacity}`);
  }
}

export function largestPowerOfTwo(n: number): number {
  if (n < 1) return 0;
  return 2 ** Math.floor(Math.log2(n));
}

/** Writes an empty queue's header at `offset` (the region is checked by the caller). */
export function initHeader(memory: Memory, offset: number, capacity: number): void {
  const h = int32At(memory, offset, HEADER, 'SpscQueue');
  // Magic last: a queue half-initialised by a killed creator never opens.
  Atomics.store(h, W_MAGIC, 0);
  for (let i = 1; i < h.length; i++) Atomics.store(h, i, 0);
  Atomics.store(h, W_VERSION, VERSION);
  Atomics.store(h, W_CAPACITY, capacity);
  Notifier.init(memory, offset + NOT_EMPTY);
  Notifier.init(memory, offset + NOT_FULL);
  Atomics.store(h, W_MAGIC, MAGIC);
}

/** Validates the header a creator (any process) wrote at `offset`; returns the ring's capacity. */
export function readHeader(memory: Memory, offset: number): number {
  const h = int32At(memory, offset, HEADER, 'SpscQueue');
  const where = `SpscQueue at offset ${offset}`;
  checkHeaderStart(h, where, 'queue', MAGIC, VERSION);
  const capacity = Atomics.load(h, W_CAPACITY);
  if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY || capacity > MAX_CAPACITY) {
    throw new ShmStateCorruptError(where, `impossible capacity ${capacity}`);
  }
  if (offset + HEADER + capacity > memory.byteLength) {
    throw new ShmStateCorruptError(where, `capacity ${capacity} runs past the end of the ${memory.byteLength}-byte buffer`);
  }
  const used = (Atomics.load(h, W_TAIL) - Atomics.load(h, W_HEAD)) >>> 0;
  if (used > capacity || used % 4 !== 0) throw new ShmStateCorruptError(where, `head and tail are ${used} bytes apart in a ${capacity}-byte ring`);
  return capacity;
}

/**
 * `tail` and `head` (both written by a peer) lie further apart than the
 * ring holds, or off the 4-byte grid of records.
 */
export function corruptPositions(capacity: number, tail: number, head: number): ShmStateCorruptWordError {
  return new ShmStateCorruptWordError('SpscQueue', 'tail/head', `are ${(tail - head) >>> 0} bytes apart (tail ${tail >>> 0}, head ${head >>> 0}) in a ${capacity}-byte ring of 4-byte-aligned records`);
}
