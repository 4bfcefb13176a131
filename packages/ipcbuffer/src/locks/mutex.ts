import diagnostics from 'node:diagnostics_channel';

import { currentThreadId, Mutex as SharedMutex, type LockGuard } from '@shmkit/shm-state';

import { closeWith, type IPCBuffer } from '../buffer';
import { LockStateError, LockTimeoutError } from '../errors';
import { openPosix, unlinkPosix } from '../posix';
import { attach, checkOpen, checkPlacement, checkTimeout, translate, waitOptions, type AcquireOptions } from './placement';

/** Published when a lock is taken over from a dead holder: { what, deadHolder, by, permits? }. */
export const recoveredChannel = diagnostics.channel('ipcbuffer:lock:recovered');

/** Bytes a Mutex occupies inside a shared buffer (IPCMutex.at): shm-state's Mutex. */
export const MUTEX_BYTES = SharedMutex.byteLength;

/** Size of a named lock's POSIX object. */
export const NAMED_BYTES = 4096;

export interface OpenLockOptions {
  /** Create the named object when missing (default true). */
  create?: boolean;
  /** Permission bits of a created object (default 0o600). */
  mode?: number;
}

/** Tells subscribers about a takeover that `guard` made. */
export function reportTakeover(guard: LockGuard, what: string, permits?: number): void {
  if (guard.deadOwner !== undefined && recoveredChannel.hasSubscribers) {
    recoveredChannel.publish({ what, deadHolder: guard.deadOwner, by: currentThreadId(), ...(permits === undefined ? {} : { permits }) });
  }
}

/**
 * A mutual-exclusion lock shared by processes (and threads): shm-state's
 * Mutex with thread ownership, in a named POSIX object (IPCMutex.open) or at
 * any offset of an IPCBuffer (IPCMutex.at).
 *
 * The lock word holds the holder's thread id, set by the compare-and-swap
 * that takes it. When the holder (a process, or a worker thread) dies, a
 * waiter takes the lock over within about 20 ms and `recovered` tells it so:
 * the data the lock protects may be half-updated.
 *
 * lockSync() blocks the thread (use it in workers or short critical
 * sections); lock() waits on the event loop (woken through a pipe) and never
 * blocks it.
 */
export class IPCMutex implements Disposable {
  readonly #m: SharedMutex;
  readonly #owned: IPCBuffer | undefined;
  /** The caller's buffer for locks placed with .at (named locks own theirs). */
  readonly #placedIn: IPCBuffer | undefined;
  readonly #what: string;
  readonly #forget: (() => void) | undefined;
  #guard: LockGuard | undefined;
  #recovered = false;
  #closed = false;

  private constructor(buffer: IPCBuffer, offset: number, owned: IPCBuffer | undefined, what: string) {
    this.#owned = owned;
    this.#placedIn = owned === undefined ? buffer : undefined;
    this.#what = what;
    this.#m = attach(() => SharedMutex.openOrCreate(buffer, { offset, owner: 'thread' }), what);
    this.#forget = owned === undefined ? closeWith(buffer, this) : undefined;
  }

  /** The mutex named `name` (a POSIX shm object "/name"), created unlocked if missing. */
  static open(name: string, options: OpenLockOptions = {}): IPCMutex {
    const buf = openPosix(name, NAMED_BYTES, { create: options.create ?? true, ...(options.mode === undefined ? {} : { mode: options.mode }) });
    try {
      return new IPCMutex(buf, 0, buf, `mutex ${buf.name as string}`);
    } catch (err) {
      buf.close();
      throw err;
    }
  }

  /** A mutex in MUTEX_BYTES at `offset` (8-aligned) of a shared IPCBuffer; zeroed memory becomes an unlocked mutex. */
  static at(buffer: IPCBuffer, offset = 0): IPCMutex {
    const b = checkPlacement(buffer, offset, MUTEX_BYTES);
    return new IPCMutex(b, offset, undefined, `mutex at offset ${offset} of ${b.name ?? b.path ?? b.key ?? b.kind}`);
  }

  /** Removes the name; processes that opened it keep using it. */
  static unlink(name: string): void {
    unlinkPosix(name);
  }

  #check(): void {
    checkOpen(this.#closed, this.#placedIn, this.#what);
  }

  /** Thread id of the holder (its pid for a main thread), or 0 when free. */
  get holder(): number {
    this.#check();
    return this.#m.holder;
  }

  /** True when the last acquisition by this object took the lock over from a dead holder. */
  get recovered(): boolean {
    return this.#recovered;
  }

  /** How many times any process took this lock over from a dead holder. */
  get recoveries(): number {
    this.#check();
    return this.#m.recoveries;
  }

  #took(g: LockGuard): void {
    this.#guard = g;
    this.#recovered = g.ownerDead;
    reportTakeover(g, this.#what);
    // ipcbuffer reports a takeover to the one acquisition that made it
    // (`recovered`), so the next holder starts clean.
    if (g.ownerDead) g.markConsistent();
  }

  /** Takes the lock if it is free (or its holder is dead); never waits. */
  tryLock(): boolean {
    this.#check();
    const g = this.#m.tryLock();
    if (g === null) return false;
    this.#took(g);
    return true;
  }

  /**
   * Blocks this thread until the lock is taken. Throws ERR_IPCBUFFER_LOCK_STATE
   * if this thread already holds it (it would wait forever) and
   * ERR_IPCBUFFER_LOCK_TIMEOUT after `timeoutMs`.
   */
  lockSync(timeoutMs?: number): void {
    this.#check();
    const limit = checkTimeout(timeoutMs);
    if (this.#m.heldByMe) {
      throw new LockStateError('ERR_IPCBUFFER_LOCK_STATE', `${this.#what} is already held by this thread; lockSync() would wait forever (use lock() from async code)`);
    }
    const g = this.#m.lockSync(waitOptions(limit));
    if (g === null) throw new LockTimeoutError(this.#what, limit);
    this.#took(g);
  }

  /**
   * Resolves once the lock is taken, waiting on the event loop. Other async
   * callers in this thread queue behind the holder, even when the holder is
   * this thread.
   */
  async lock(options: AcquireOptions = {}): Promise<void> {
    this.#check();
    const limit = checkTimeout(options.timeoutMs);
    let g: LockGuard | null;
    try {
      g = await this.#m.lock(waitOptions(limit, options.signal));
    } catch (err) {
      throw translate(err, this.#what, options.signal);
    }
    if (g === null) throw new LockTimeoutError(this.#what, limit);
    this.#took(g);
  }

  /** Releases the lock and wakes waiters. Throws ERR_IPCBUFFER_LOCK_STATE unless this object holds it. */
  unlock(): void {
    this.#check();
    const g = this.#guard;
    if (g === undefined) {
      const h = this.#m.holder;
      throw new LockStateError('ERR_IPCBUFFER_LOCK_STATE', `${this.#what} is not held through this Mutex object (holder: ${h === 0 ? 'none' : `thread ${h}`}); only the holder can unlock`);
    }
    this.#guard = undefined;
    try {
      g.unlock();
    } catch (err) {
      throw translate(err, this.#what);
    }
  }

  /** Runs `fn` holding the lock; releases it however `fn` ends. */
  async withLock<T>(fn: () => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    await this.lock(options);
    try {
      return await fn();
    } finally {
      this.unlock();
    }
  }

  /** Stops async waiting (pending lock() calls reject) and releases the named object's mapping. Does not unlock. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forget?.();
    this.#m.close();
    this.#owned?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
