import { ShmClosedError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { reportRecovery } from './diagnostics';
import { claimCreation } from './creation-claim';
import { ShmStateCorruptError, ShmStateError } from './errors';
import { waitCheckingOwners, waitSyncCheckingOwners } from './liveness-wait';
import { Notifier, type SyncWaitOptions, type WaitOptions } from './notifier';
import { ownerId, type LockOwner } from './task-id';
import { mappingOf, type ClosedProbe } from './mapping-probe';
import { checkHeaderStart, checkRegion, fourcc, int32At, type Memory } from './memory-region';

const MAGIC = fourcc('MUTX');
const VERSION = 1;
/** Longest wait for another process to finish initialising (openOrCreate). */
const W_MAGIC = 0;
const W_VERSION = 1;
/** 0 when free, else the pid of the holder: the lock word records its owner atomically. */
const W_OWNER = 2;
/** 1 after a takeover from a dead holder until someone calls markConsistent(). */
const W_INCONSISTENT = 3;
const W_RECOVERIES = 4;
const W_CREATOR = 5; // pid initialising a fresh mutex (openOrCreate)
const NOTIFIER = 64;
const BYTES = NOTIFIER + Notifier.byteLength; // 320

/** How often a waiter checks whether the holder is still alive. */

/** What a successful lock returns; release it with `unlock()` or `Symbol.dispose`. */
export interface LockGuard extends Disposable {
  /**
   * True when the previous holder died while holding the lock (like
   * EOWNERDEAD): the data it protects may be half-updated. Repair it, then
   * call `markConsistent()`; otherwise the next holder is told too.
   */
  readonly ownerDead: boolean;
  /** The pid (or thread id) of the dead holder this acquisition took over from; absent otherwise. */
  readonly deadOwner?: number | undefined;
  markConsistent(): void;
  unlock(): void;
}

/**
 * A mutual-exclusion lock in shared memory (320 bytes at any 8-aligned offset
 * of any shared Buffer), for processes and threads.
 *
 * The lock word holds the holder's pid, written by the same
 * compare-and-swap that takes the lock, so a holder killed at any point
 * leaves its pid behind. A waiter that finds the holder's pid dead takes the
 * lock over and is told `ownerDead`. Waiters check liveness every 20 ms;
 * a recycled pid delays recovery until that process exits.
 *
 * The owner is a process: two threads or async tasks of one process still
 * exclude each other, but a worker thread that dies without unlocking is only
 * recovered when its whole process exits. With `{ owner: 'thread' }` the
 * lock word holds the thread id instead (the pid on the main thread), so a
 * worker that exits holding the lock is taken over like a dead process.
 * Handles of both kinds can share one mutex.
 */
export interface LockOptions {
  offset?: number;
  /** Record the holding process (default) or the holding thread; see the class comment. */
  owner?: LockOwner;
}

export class Mutex {
  static readonly byteLength = BYTES;
  #h: Int32Array | undefined;
  readonly #mapping: ClosedProbe | undefined;
  readonly #notifier: Notifier;
  /** What this handle writes into the owner word: its pid, or its thread id with owner 'thread'. */
  readonly #pid: number;

  private constructor(memory: Memory, offset: number, owner: LockOwner | undefined) {
    this.#pid = ownerId(owner);
    this.#h = int32At(memory, offset, 64, 'Mutex');
    this.#mapping = mappingOf(memory);
    this.#notifier = new Notifier(memory, offset + NOTIFIER);
  }

  /** Initialises an unlocked mutex at `offset`, discarding whatever was there. */
  static create(memory: Memory, options: LockOptions = {}): Mutex {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, BYTES, 8, 'Mutex');
    const h = int32At(memory, offset, 64, 'Mutex');
    Atomics.store(h, W_MAGIC, 0);
    for (let i = 1; i < h.length; i++) Atomics.store(h, i, 0);
    Atomics.store(h, W_VERSION, VERSION);
    Notifier.init(memory, offset + NOTIFIER);
    Atomics.store(h, W_MAGIC, MAGIC);
    return new Mutex(memory, offset, options.owner);
  }

  static open(memory: Memory, options: LockOptions = {}): Mutex {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, BYTES, 8, 'Mutex');
    const h = int32At(memory, offset, 64, 'Mutex');
    const where = `Mutex at offset ${offset}`;
    checkHeaderStart(h, where, 'mutex', MAGIC, VERSION);
    const owner = Atomics.load(h, W_OWNER);
    if (owner < 0) throw new ShmStateCorruptError(where, `impossible owner pid ${owner}`);
    return new Mutex(memory, offset, options.owner);
  }

  /** Opens the mutex at `offset`, creating it when that memory holds none (all zeros). */
  static openOrCreate(memory: Memory, options: LockOptions = {}): Mutex {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, BYTES, 8, 'Mutex');
    const h = int32At(memory, offset, 64, 'Mutex');
    if (Atomics.load(h, W_MAGIC) === 0) {
      const claim = claimCreation(h, { creator: W_CREATOR, ready: W_MAGIC, readyValue: MAGIC }, `initialising the mutex at offset ${offset}`, sys.schedYield);
      if (claim === 'exists') return Mutex.open(memory, options);
      Atomics.store(h, W_VERSION, VERSION);
      Atomics.store(h, W_OWNER, 0);
      Atomics.store(h, W_INCONSISTENT, 0);
      Notifier.init(memory, offset + NOTIFIER);
      Atomics.store(h, W_MAGIC, MAGIC);
    }
    return Mutex.open(memory, options);
  }

  /** pid of the holder, or 0. */
  get holder(): number {
    return Atomics.load(this.#header(), W_OWNER);
  }

  /** True when the holder is this handle's owner (this process, or this thread with owner 'thread'). */
  get heldByMe(): boolean {
    return Atomics.load(this.#header(), W_OWNER) === this.#pid;
  }

  /** Times a dead holder's lock was taken over. */
  get recoveries(): number {
    return Atomics.load(this.#header(), W_RECOVERIES);
  }

  /** Takes the lock if free (or held by a dead process); null otherwise. */
  tryLock(): LockGuard | null {
    return this.#acquire(true) ?? null;
  }

  /**
   * Takes a free lock without making a guard object (a hot path's
   * pthread_mutex_trylock): true when taken; false when busy, or when a
   * previous holder died and the state awaits repair (then take the guarded
   * path — tryLock/lockSync — whose guard says `ownerDead`). Release with exit().
   */
  tryEnter(): boolean {
    const h = this.#header();
    if (Atomics.compareExchange(h, W_OWNER, 0, this.#pid) !== 0) return false;
    if (Atomics.load(h, W_INCONSISTENT) === 1) {
      Atomics.store(h, W_OWNER, 0);
      return false;
    }
    return true;
  }

  /** Releases a lock taken with tryEnter(); ERR_SHM_STATE_NOT_OWNER when another process took it over. */
  exit(): void {
    const h = this.#header();
    if (Atomics.compareExchange(h, W_OWNER, this.#pid, 0) !== this.#pid) {
      throw new ShmStateError('ERR_SHM_STATE_NOT_OWNER', `the mutex is held by pid ${Atomics.load(h, W_OWNER)}, not by this process; it was taken over`);
    }
    this.#notifier.notify();
  }

  /** Blocks the thread until locked; null on timeout. */
  lockSync(options: SyncWaitOptions = {}): LockGuard | null {
    return waitSyncCheckingOwners(this.#notifier, (check) => this.#acquire(check), options);
  }

  /** Resolves once locked, or with null on timeout; never blocks the event loop. */
  async lock(options: WaitOptions = {}): Promise<LockGuard | null> {
    return waitCheckingOwners(this.#notifier, (check) => this.#acquire(check), options);
  }

  /** Runs `fn` under the lock (blocking), unlocking afterwards even if it throws. */
  withLockSync<T>(fn: (guard: LockGuard) => T, options: SyncWaitOptions = {}): T {
    const g = this.lockSync(options);
    if (g === null) throw new ShmStateError('ETIMEDOUT', `could not take the mutex within ${options.timeoutMs} ms (held by pid ${this.holder})`);
    try {
      return fn(g);
    } finally {
      g.unlock();
    }
  }

  /** Runs `fn` under the lock (async), unlocking afterwards even if it throws. */
  async withLock<T>(fn: (guard: LockGuard) => T | Promise<T>, options: WaitOptions = {}): Promise<T> {
    const g = await this.lock(options);
    if (g === null) throw new ShmStateError('ETIMEDOUT', `could not take the mutex within ${options.timeoutMs} ms (held by pid ${this.holder})`);
    try {
      return await fn(g);
    } finally {
      g.unlock();
    }
  }

  /** Detaches this handle; pending async locks reject with ERR_SHM_CLOSED. */
  close(): void {
    if (this.#h === undefined) return;
    this.#h = undefined;
    this.#notifier.cancelAll(new ShmClosedError('the Mutex'));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #header(): Int32Array {
    if (this.#h === undefined) throw new ShmClosedError('the Mutex');
    if (this.#mapping?.closed === true) {
      this.close();
      throw new ShmClosedError('the mapping under this Mutex');
    }
    return this.#h;
  }

  #acquire(checkOwner: boolean): LockGuard | undefined {
    const h = this.#header();
    const owner = Atomics.compareExchange(h, W_OWNER, 0, this.#pid);
    if (owner === 0) return this.#guard(h, Atomics.load(h, W_INCONSISTENT) === 1);
    if (checkOwner && owner !== this.#pid && !sys.processAlive(owner)) {
      if (Atomics.compareExchange(h, W_OWNER, owner, this.#pid) === owner) {
        Atomics.store(h, W_INCONSISTENT, 1);
        Atomics.add(h, W_RECOVERIES, 1);
        reportRecovery({ structure: 'Mutex', what: 'took over a lock whose holder died', deadPid: owner });
        return this.#guard(h, true, owner);
      }
    }
    return undefined;
  }

  #guard(h: Int32Array, ownerDead: boolean, deadOwner?: number): LockGuard {
    let held = true;
    const unlock = () => {
      if (!held) return;
      held = false;
      if (Atomics.compareExchange(h, W_OWNER, this.#pid, 0) !== this.#pid) {
        throw new ShmStateError('ERR_SHM_STATE_NOT_OWNER', `the mutex is held by pid ${Atomics.load(h, W_OWNER)}, not by this process; it was taken over`);
      }
      this.#notifier.notify();
    };
    return {
      ownerDead,
      deadOwner, // always present (undefined when no takeover): one object shape for every guard
      markConsistent: () => {
        if (!held) throw new ShmStateError('ERR_SHM_STATE_NOT_OWNER', 'markConsistent() needs the lock held');
        Atomics.store(h, W_INCONSISTENT, 0);
      },
      unlock,
      [Symbol.dispose]: unlock,
    };
  }
}
