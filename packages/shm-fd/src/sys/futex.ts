import { ShmArgumentError } from '../errors';
import { check } from './calls';
import * as C from './constants';
import { libc } from './libc';
import { getScratch } from './scratch';

// Base addresses of the ArrayBuffers of mappings, so a futex word can be
// named by (Int32Array, index) like Atomics.wait does.
const bases = new WeakMap<ArrayBufferLike, number>();

/** @internal Records where an ArrayBuffer lives in native memory. */
export function registerBase(buf: ArrayBufferLike, addr: number): void {
  bases.set(buf, addr);
}

/** The native address of `view[index]`, for arrays over mapped memory. */
export function addressOf(view: Int32Array | BigInt64Array | Uint8Array, index = 0): number {
  const base = bases.get(view.buffer);
  if (base === undefined) {
    throw new ShmArgumentError('ERR_INVALID_ARG_VALUE', 'the array is not backed by a shmkit mapping; only mapped memory has a stable address');
  }
  return base + view.byteOffset + index * view.BYTES_PER_ELEMENT;
}

export type FutexWaitResult = 'ok' | 'not-equal' | 'timed-out' | 'interrupted';

/**
 * Sleeps while `view[index] === expected`, until woken by any process that
 * maps the same page, or until `timeoutMs` passes. Blocks the calling thread:
 * this is the primitive under the …Sync waits.
 *
 * Not FUTEX_PRIVATE_FLAG: the word is shared between processes.
 */
export function futexWait(view: Int32Array, index: number, expected: number, timeoutMs?: number): FutexWaitResult {
  const addr = addressOf(view, index);
  let ts = 0;
  if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
    const s = getScratch();
    const ms = Math.max(0, timeoutMs);
    s.buf.writeBigInt64LE(BigInt(Math.floor(ms / 1000)), 0);
    s.buf.writeBigInt64LE(BigInt(Math.floor((ms % 1000) * 1e6)), 8);
    ts = s.addr;
  }
  const r = libc().syscall6(C.SYS.futex, addr, C.FUTEX_WAIT, expected | 0, ts, 0, 0);
  if (r.value === 0) return 'ok';
  switch (r.errno) {
    case 11: // EAGAIN: the word no longer held `expected`
      return 'not-equal';
    case 110: // ETIMEDOUT
      return 'timed-out';
    case 4: // EINTR: a signal arrived; callers re-check their condition
      return 'interrupted';
    default:
      check(r, 'futex', 'waiting on a shared word');
      return 'ok';
  }
}

/** Wakes up to `count` waiters on `view[index]`; returns how many woke. */
export function futexWake(view: Int32Array, index: number, count = 0x7fffffff): number {
  const addr = addressOf(view, index);
  return check(libc().syscall6(C.SYS.futex, addr, C.FUTEX_WAKE, count, 0, 0, 0), 'futex', 'waking waiters on a shared word');
}
