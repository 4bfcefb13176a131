import diagnostics from 'node:diagnostics_channel';

import * as sys from '@shmkit/shm-fd/sys';

import { type IPCBuffer } from '../buffer';
import { LockStateError, LockTimeoutError } from '../errors';
import { openPosix, unlinkPosix } from '../posix';
import { AsyncQueue } from './async-queue';
import { currentTid, threadAlive } from './thread-id';
import { checkTimeout, ensureInitialized, MAGIC_MUTEX, SLICE_MS, wordsAt, type AcquireOptions } from './words';

// Layout (4 × int32): [0] magic, [1] state = holder tid | WAITERS (0 = free),
// [2] number of times a dead holder's lock was taken over, [3] reserved.
const STATE = 1;
const RECOVERIES = 2;
const WAITERS = 1 << 30;
const TID_MASK = WAITERS - 1;

/** Published when a lock is taken over from a dead holder: { what, deadHolder, by }. */
export const recoveredChannel = diagnostics.channel('ipcbuffer:lock:recovered');

/** Bytes a Mutex occupies inside a shared buffer (Mutex.at). */
export const MUTEX_BYTES = 16;

export interface OpenLockOptions {
  /** Create the named object when missing (default true). */
  create?: boolean;
  /** Permission bits of a created object (default 0o600). */
  mode?: number;
}

/**
 * A mutual-exclusion lock shared by processes (and threads), living in 16
 * bytes of shared memory: a named POSIX object (Mutex.open) or any offset of
 * an IPCBuffer (Mutex.at).
 *
 * Ownership is per thread. When the holder dies, the next waiter takes the
 * lock over within about 100 ms and `recovered` tells it so: the data the
 * lock protects may be half-updated.
 *
 * lockSync() blocks the thread (use it in workers or short critical
 * sections); lock() waits in a helper thread and never blocks the event loop.
 */
export class Mutex implements Disposable {
  readonly #words: Int32Array;
  readonly #owned: IPCBuffer | undefined;
  readonly #what: string;
  #queue: AsyncQueue | undefined;
  #recovered = false;
  #closed = false;

  private constructor(words: Int32Array, owned: IPCBuffer | undefined, what: string) {
    this.#words = words;
    this.#owned = owned;
    this.#what = what;
    ensureInitialized(words, MAGIC_MUTEX, what, () => {
      Atomics.store(words, STATE, 0);
      Atomics.store(words, RECOVERIES, 0);
    });
  }

  /** The mutex named `name` (a POSIX shm object "/name"), created unlocked if missing. */
  static open(name: string, options: OpenLockOptions = {}): Mutex {
    const buf = openPosix(name, 4096, { create: options.create ?? true, ...(options.mode === undefined ? {} : { mode: options.mode }) });
    try {
      return new Mutex(wordsAt(buf, 0, MUTEX_BYTES), buf, `mutex ${buf.name as string}`);
    } catch (err) {
      buf.close();
      throw err;
    }
  }

  /** A mutex in 16 bytes at `offset` (4-aligned) of a shared IPCBuffer; zeroed memory is an unlocked mutex. */
  static at(buffer: IPCBuffer, offset = 0): Mutex {
    return new Mutex(wordsAt(buffer, offset, MUTEX_BYTES), undefined, `mutex at offset ${offset} of ${buffer.name ?? buffer.path ?? buffer.key ?? buffer.kind}`);
  }

  /** Removes the name; processes that opened it keep using it. */
  static unlink(name: string): void {
    unlinkPosix(name);
  }

  #check(): void {
    if (this.#closed) throw new LockStateError('ERR_IPCBUFFER_LOCK_CLOSED', `${this.#what} is closed; open it again`);
  }

  /** Thread id of the holder, or 0 when free. */
  get holder(): number {
    this.#check();
    return Atomics.load(this.#words, STATE) & TID_MASK;
  }

  /** True when the last acquisition by this object took the lock over from a dead holder. */
  get recovered(): boolean {
    return this.#recovered;
  }

  /** How many times any process took this lock over from a dead holder. */
  get recoveries(): number {
    this.#check();
    return Atomics.load(this.#words, RECOVERIES);
  }

  // Invariant of the state word: 0 (free) or holder tid, plus WAITERS when
  // someone may be asleep on it; only the holder (or a taker-over of a dead
  // holder, by CAS on the exact value it saw) moves it away from a tid.
  #take(extra: number): boolean {
    const me = currentTid();
    const w = this.#words;
    for (;;) {
      const c = Atomics.load(w, STATE);
      if (c === 0) {
        if (Atomics.compareExchange(w, STATE, 0, me | extra) === 0) {
          this.#recovered = false;
          return true;
        }
        continue;
      }
      const holder = c & TID_MASK;
      if (holder !== me && !threadAlive(holder)) {
        if (Atomics.compareExchange(w, STATE, c, me | (c & WAITERS) | extra) === c) {
          Atomics.add(w, RECOVERIES, 1);
          this.#recovered = true;
          if (recoveredChannel.hasSubscribers) recoveredChannel.publish({ what: this.#what, deadHolder: holder, by: me });
          return true;
        }
        continue;
      }
      return false;
    }
  }

  /** Sets WAITERS so the holder's unlock wakes us; returns the value to sleep on, or null to retry. */
  #announce(): number | null {
    const w = this.#words;
    const c = Atomics.load(w, STATE);
    if (c === 0) return null;
    if ((c & WAITERS) !== 0) return c;
    return Atomics.compareExchange(w, STATE, c, c | WAITERS) === c ? c | WAITERS : null;
  }

  /** Takes the lock if it is free (or its holder is dead); never waits. */
  tryLock(): boolean {
    this.#check();
    return this.#take(0);
  }

  /**
   * Blocks this thread until the lock is taken. Throws ERR_IPCBUFFER_LOCK_STATE
   * if this thread already holds it (it would wait forever) and
   * ERR_IPCBUFFER_LOCK_TIMEOUT after `timeoutMs`.
   */
  lockSync(timeoutMs?: number): void {
    this.#check();
    const limit = checkTimeout(timeoutMs);
    if (this.#take(0)) return;
    if ((Atomics.load(this.#words, STATE) & TID_MASK) === currentTid()) {
      throw new LockStateError('ERR_IPCBUFFER_LOCK_STATE', `${this.#what} is already held by this thread; lockSync() would wait forever (use lock() from async code)`);
    }
    const deadline = Date.now() + limit;
    for (;;) {
      // Once we have slept, take with WAITERS set: others may still be asleep behind us.
      if (this.#take(WAITERS)) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new LockTimeoutError(this.#what, limit);
      const expected = this.#announce();
      if (expected === null) continue;
      sys.futexWait(this.#words, STATE, expected, Math.min(left, SLICE_MS));
    }
  }

  /**
   * Resolves once the lock is taken, waiting in a helper thread. Other async
   * callers in this thread queue behind the holder, even when the holder is
   * this thread.
   */
  lock(options: AcquireOptions = {}): Promise<void> {
    try {
      this.#check();
      const limit = checkTimeout(options.timeoutMs);
      if ((this.#queue?.pending ?? 0) === 0 && this.#take(0)) return Promise.resolve();
      this.#queue ??= new AsyncQueue(this.#words, {
        tryTake: () => this.#take(WAITERS),
        recover: () => undefined, // #take already takes over from dead holders
        prepare: () => {
          const expected = this.#announce();
          return expected === null ? null : { index: STATE, expected };
        },
        finish: () => undefined,
      }, this.#what);
      return this.#queue.enqueue(limit, options.signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Releases the lock and wakes one waiter. Throws ERR_IPCBUFFER_LOCK_STATE unless this thread holds it. */
  unlock(): void {
    this.#check();
    const w = this.#words;
    const c = Atomics.load(w, STATE);
    if ((c & TID_MASK) !== currentTid()) {
      throw new LockStateError('ERR_IPCBUFFER_LOCK_STATE', `${this.#what} is not held by this thread (holder: ${c & TID_MASK || 'none'}); only the holder can unlock`);
    }
    const prev = Atomics.exchange(w, STATE, 0);
    if ((prev & WAITERS) !== 0) sys.futexWake(w, STATE, 1);
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

  /** Stops async waiting and releases the named object's mapping. Does not unlock. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue?.close();
    this.#owned?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
