// The shared-memory layout of a HashMap: header words, slot words, slot
// states and geometry. Every process reading the map agrees on these.
import { ShmStateError } from './errors';
import { alignUp, fourcc, isPowerOfTwo } from './memory-region';
import { Mutex } from './mutex';

export const MAGIC = fourcc('HMAP');
export const VERSION = 1;
export const W_MAGIC = 0;
export const W_VERSION = 1;
export const W_CAPACITY = 2;
export const W_KEY_SIZE = 3;
export const W_VALUE_SIZE = 4;
export const W_COUNT = 5;
export const W_USED = 6; // full + tombstone slots: probing ends at an empty slot, so keep one
export const W_REPAIRS = 7;
export const MUTEX_AT = 64;
export const SLOTS_AT = MUTEX_AT + Mutex.byteLength; // 384
// Slot words.
export const S_VERSION = 0; // seqlock: odd while the writer changes the slot
export const S_STATE = 1;
export const S_HASH = 2;
export const S_KEY_LEN = 3;
export const S_VALUE_LEN = 4;
export const SLOT_HEADER = 24;
export const EMPTY = 0;
export const FULL = 1;
export const DELETED = 2;

export function strideFor(keySize: number, valueSize: number): number {
  return alignUp(SLOT_HEADER + alignUp(keySize, 4) + alignUp(valueSize, 4), 8);
}

export function checkGeometry(capacity: number, keySize: number, valueSize: number): void {
  if (!isPowerOfTwo(capacity) || capacity < 2 || capacity > 1 << 24) throw new ShmStateError('ERR_OUT_OF_RANGE', `HashMap capacity must be a power of two between 2 and 2^24, got ${capacity}`);
  if (!Number.isInteger(keySize) || keySize < 1 || keySize > 4096) throw new ShmStateError('ERR_OUT_OF_RANGE', `HashMap keySize must be between 1 and 4096 bytes, got ${keySize}`);
  if (!Number.isInteger(valueSize) || valueSize < 0 || valueSize > 1 << 20) throw new ShmStateError('ERR_OUT_OF_RANGE', `HashMap valueSize must be between 0 and 2^20 bytes, got ${valueSize}`);
}
