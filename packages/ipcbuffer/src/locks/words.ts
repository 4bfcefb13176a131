import * as sys from '@shmkit/shm-fd/sys';

import { isIPCBuffer, type IPCBuffer } from '../buffer';
import { IPCBufferError, argType, outOfRange } from '../errors';

/** Word 0 of every lock: which kind of lock lives here, written last by the initialiser. */
export const MAGIC_MUTEX = 0x4d545831; // "MTX1"
export const MAGIC_SEMAPHORE = 0x53454d31; // "SEM1"
const INITIALIZING = -1;

/** How long one futex sleep lasts before a waiter re-checks deadlines and holder liveness. */
export const SLICE_MS = 100;

/**
 * An Int32Array over `bytes` bytes at `offset` of a shared buffer. Only
 * mapped memory (an IPCBuffer of kind posix, file, sysv or anonymous) can
 * hold a lock: futex(2) needs a stable address shared between processes.
 */
export function wordsAt(buffer: unknown, offset: unknown, bytes: number): Int32Array {
  if (!(buffer instanceof Uint8Array)) throw argType('buffer', 'an IPCBuffer', buffer);
  if (typeof offset !== 'number') throw argType('offset', 'a number', offset);
  if (!Number.isInteger(offset) || offset < 0 || offset % 4 !== 0 || offset + bytes > buffer.length) {
    throw outOfRange(`a lock needs ${bytes} bytes at a 4-byte aligned offset inside the buffer's ${buffer.length} bytes, got offset ${offset}`);
  }
  if (!isIPCBuffer(buffer) || (buffer as IPCBuffer).kind === 'memory') {
    throw new IPCBufferError('ERR_INVALID_ARG_VALUE', 'a lock must live in shared memory: pass an IPCBuffer of kind posix, file, sysv or anonymous');
  }
  const words = new Int32Array(buffer.buffer, buffer.byteOffset + offset, bytes / 4);
  sys.addressOf(words); // throws now, not at the first wait, if the memory is not a shmkit mapping
  return words;
}

/**
 * Initialises a lock exactly once across processes: whoever moves word 0 from
 * 0 to INITIALIZING writes the fields, then publishes the magic (release
 * order), so nobody ever uses half-written fields.
 */
export function ensureInitialized(words: Int32Array, magic: number, what: string, init: () => void): boolean {
  const deadline = Date.now() + 2000;
  for (;;) {
    // Invariant: word 0 is 0 (fresh), INITIALIZING, or a magic; it never goes back.
    const m = Atomics.load(words, 0);
    if (m === magic) return false;
    if (m === 0) {
      if (Atomics.compareExchange(words, 0, 0, INITIALIZING) !== 0) continue;
      init();
      Atomics.store(words, 0, magic);
      sys.futexWake(words, 0);
      return true;
    }
    if (m !== INITIALIZING) {
      throw new IPCBufferError('ERR_IPCBUFFER_NOT_A_LOCK', `${what}: the memory holds something else (word 0 is 0x${(m >>> 0).toString(16)}); use another name or offset, or remove the object`);
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new IPCBufferError('ERR_IPCBUFFER_LOCK_UNINITIALIZED', `${what}: its creator died while initialising it; remove it (ipcbuffer rm) and create it again`);
    }
    sys.futexWait(words, 0, INITIALIZING, Math.min(left, SLICE_MS));
  }
}

export interface AcquireOptions {
  /** Give up after this many milliseconds with ERR_IPCBUFFER_LOCK_TIMEOUT (default: wait forever). */
  timeoutMs?: number;
  /** Give up when this signal aborts (rejects with its reason). */
  signal?: AbortSignal;
}

export function checkTimeout(timeoutMs: unknown): number {
  if (timeoutMs === undefined) return Infinity;
  if (typeof timeoutMs !== 'number') throw argType('timeoutMs', 'a number', timeoutMs);
  if (Number.isNaN(timeoutMs) || timeoutMs < 0) throw outOfRange(`timeoutMs must be ≥ 0, got ${timeoutMs}`);
  return timeoutMs;
}
