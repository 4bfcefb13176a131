import { ShmClosedError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { isIPCBuffer, type IPCBuffer } from '../buffer';
import { IPCBufferError, LockStateError, argType, outOfRange } from '../errors';

/**
 * Checks that `bytes` bytes at `offset` of `buffer` can hold a lock. Only
 * mapped memory (an IPCBuffer of kind posix, file, sysv or anonymous) can:
 * waiters in other processes need the same pages, and blocking waits need a
 * shmkit mapping. Locks are 8-aligned (shm-state's requirement).
 */
export function checkPlacement(buffer: unknown, offset: unknown, bytes: number): IPCBuffer {
  if (!(buffer instanceof Uint8Array)) throw argType('buffer', 'an IPCBuffer', buffer);
  if (typeof offset !== 'number') throw argType('offset', 'a number', offset);
  if (!isIPCBuffer(buffer) || (buffer as IPCBuffer).kind === 'memory') {
    throw new IPCBufferError('ERR_INVALID_ARG_VALUE', 'a lock must live in shared memory: pass an IPCBuffer of kind posix, file, sysv or anonymous');
  }
  if ((buffer as IPCBuffer).closed) throw new ShmClosedError(`the ${(buffer as IPCBuffer).kind} IPCBuffer a lock was to be placed in`);
  if (!Number.isInteger(offset) || offset < 0 || (buffer.byteOffset + offset) % 8 !== 0 || offset + bytes > buffer.length) {
    throw outOfRange(`a lock needs ${bytes} bytes at an 8-byte aligned offset inside the buffer's ${buffer.length} bytes, got offset ${offset}`);
  }
  sys.addressOf(new Int32Array(buffer.buffer, buffer.byteOffset + offset, 1)); // throws now, not at the first wait, if the memory is not a shmkit mapping
  return buffer as IPCBuffer;
}

/** Opens shm-state's structure, translating "something else lives here" into ipcbuffer's code. */
export function attach<T>(open: () => T, what: string): T {
  try {
    return open();
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_SHM_STATE_BAD_HEADER') {
      throw new IPCBufferError('ERR_IPCBUFFER_NOT_A_LOCK', `${what}: the memory holds something else (${(err as Error).message}); use another name or offset, or remove the object`, { cause: err });
    }
    throw err;
  }
}

/**
 * The check every lock operation starts with: ERR_SHM_CLOSED when the
 * caller's IPCBuffer holding the lock (`placedIn`, for Mutex.at and
 * Semaphore.at) was closed: its memory is gone. ERR_IPCBUFFER_LOCK_CLOSED
 * when the lock object itself was.
 */
export function checkOpen(closed: boolean, placedIn: IPCBuffer | undefined, what: string): void {
  if (placedIn?.closed === true) throw new ShmClosedError(`the IPCBuffer holding ${what}`);
  if (closed) throw new LockStateError('ERR_IPCBUFFER_LOCK_CLOSED', `${what} is closed; open it again`);
}

/** shm-state's errors of a wait or release, in ipcbuffer's codes. */
export function translate(err: unknown, what: string, signal?: AbortSignal): unknown {
  const code = (err as { code?: unknown }).code;
  if (code === 'ABORT_ERR' && signal?.aborted === true) return signal.reason;
  if (code === 'ERR_SHM_CLOSED') return new LockStateError('ERR_IPCBUFFER_LOCK_CLOSED', `${what} was closed while waiting`, { cause: err });
  if (code === 'ERR_SHM_STATE_NOT_OWNER') return new LockStateError('ERR_IPCBUFFER_LOCK_STATE', `${what}: ${(err as Error).message}`, { cause: err });
  return err;
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

/** shm-state's wait options for a checked timeout. */
export function waitOptions(limit: number, signal?: AbortSignal): { timeoutMs?: number; signal?: AbortSignal } {
  return { ...(Number.isFinite(limit) ? { timeoutMs: limit } : {}), ...(signal === undefined ? {} : { signal }) };
}
