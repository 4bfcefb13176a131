import * as sys from '@shmkit/shm-fd/sys';

import { type IPCBuffer } from '../buffer';
import { LockStateError, LockTimeoutError, argType, outOfRange } from '../errors';
import { openPosix, unlinkPosix } from '../posix';
import { AsyncQueue } from './async-queue';
import { recoveredChannel, type OpenLockOptions } from './mutex';
import { currentTid, threadAlive } from './thread-id';
import { checkTimeout, ensureInitialized, MAGIC_SEMAPHORE, SLICE_MS, wordsAt, type AcquireOptions } from './words';

// Layout (int32 words): [0] magic, [1] count of free permits, [2] max
// permits, [3] sleepers (threads asleep on [1]), then SLOTS holder slots of
// two words: (tid, permits held). Slots let waiters give back the permits
// of holders that died.
const COUNT = 1;
const MAX = 2;
const SLEEPERS = 3;
const SLOTS = 120;
const SLOT0 = 4;
const RECLAIMING = -1;

/** Bytes a Semaphore occupies inside a shared buffer (Semaphore.at). */
export const SEMAPHORE_BYTES = (SLOT0 + 2 * SLOTS) * 4;

export interface SemaphoreOptions extends OpenLockOptions {
  /** Permits of a newly created semaphore (default 1); ignored when it exists. */
  initial?: number;
}

function checkPermits(n: unknown, what: string, min: number): number {
  if (typeof n !== 'number') throw argType(what, 'a number', n);
  if (!Number.isInteger(n) || n < min || n > 0x3fffffff) throw outOfRange(`${what} must be an integer in [${min}, 2^30), got ${n}`);
  return n;
}

/**
 * A counting semaphore shared by processes, in shared memory: named (a POSIX
 * shm object) or at an offset of an IPCBuffer. Permits taken by a thread are
 * recorded in a holder slot, so when a holder dies its permits go back to
 * the pool (within about 100 ms, done by whoever waits). At most 120 threads
 * are tracked at once; permits of further threads are not recovered.
 *
 * acquireSync() blocks the thread; acquire() waits in a helper thread.
 */
export class Semaphore implements Disposable {
  readonly #w: Int32Array;
  readonly #owned: IPCBuffer | undefined;
  readonly #what: string;
  #closed = false;

  private constructor(words: Int32Array, owned: IPCBuffer | undefined, what: string, initial: number) {
    this.#w = words;
    this.#owned = owned;
    this.#what = what;
    ensureInitialized(words, MAGIC_SEMAPHORE, what, () => {
      Atomics.store(words, COUNT, initial);
      Atomics.store(words, MAX, initial);
      Atomics.store(words, SLEEPERS, 0);
    });
  }

  /** The semaphore named `name` (POSIX shm "/name"); created with `initial` permits (default 1) if missing. */
  static open(name: string, options: SemaphoreOptions = {}): Semaphore {
    const initial = checkPermits(options.initial ?? 1, 'initial', 1);
    const buf = openPosix(name, 4096, { create: options.create ?? true, ...(options.mode === undefined ? {} : { mode: options.mode }) });
    try {
      return new Semaphore(wordsAt(buf, 0, SEMAPHORE_BYTES), buf, `semaphore ${buf.name as string}`, initial);
    } catch (err) {
      buf.close();
      throw err;
    }
  }

  /** A semaphore in SEMAPHORE_BYTES at `offset` of a shared IPCBuffer, initialised with `initial` permits by the first user. */
  static at(buffer: IPCBuffer, offset = 0, options: { initial?: number } = {}): Semaphore {
    const initial = checkPermits(options.initial ?? 1, 'initial', 1);
    return new Semaphore(wordsAt(buffer, offset, SEMAPHORE_BYTES), undefined, `semaphore at offset ${offset} of ${buffer.name ?? buffer.path ?? buffer.key ?? buffer.kind}`, initial);
  }

  static unlink(name: string): void {
    unlinkPosix(name);
  }

  #check(): void {
    if (this.#closed) throw new LockStateError('ERR_IPCBUFFER_LOCK_CLOSED', `${this.#what} is closed; open it again`);
  }

  /** Free permits right now. */
  get value(): number {
    this.#check();
    return Atomics.load(this.#w, COUNT);
  }

  /** Permits the semaphore was created with. */
  get max(): number {
    this.#check();
    return Atomics.load(this.#w, MAX);
  }

  /** Checks a request size against the maximum: asking for more could never succeed. */
  #permits(n: unknown): number {
    const k = checkPermits(n, 'permits', 1);
    const max = Atomics.load(this.#w, MAX);
    if (k > max) throw outOfRange(`${this.#what} has ${max} permits in all; asking for ${k} could never succeed`);
    return k;
  }

  /** This thread's slot index (claiming a free one), or -1 when all are taken. */
  #slot(claim: boolean): number {
    const me = currentTid();
    const w = this.#w;
    let free = -1;
    for (let i = 0; i < SLOTS; i++) {
      const t = Atomics.load(w, SLOT0 + 2 * i);
      if (t === me) return i;
      if (t === 0 && free < 0) free = i;
    }
    if (!claim) return -1;
    for (let i = free < 0 ? 0 : free; i < SLOTS; i++) {
      if (Atomics.load(w, SLOT0 + 2 * i) === 0 && Atomics.compareExchange(w, SLOT0 + 2 * i, 0, me) === 0) return i;
    }
    return -1;
  }

  // Invariant: count + the permits in all slots (+ untracked holders) = max.
  // A permit is moved from count to the slot by decrementing count first, so
  // a holder dying between the two steps loses that permit rather than
  // creating one: the semaphore never admits more than max holders.
  #take(n: number): boolean {
    const w = this.#w;
    for (let c = Atomics.load(w, COUNT); c >= n; c = Atomics.load(w, COUNT)) {
      if (Atomics.compareExchange(w, COUNT, c, c - n) !== c) continue;
      const s = this.#slot(true);
      if (s >= 0) Atomics.add(w, SLOT0 + 2 * s + 1, n);
      return true;
    }
    return false;
  }

  /** Gives back the permits of holders that are gone. */
  #reclaim(): void {
    const w = this.#w;
    for (let i = 0; i < SLOTS; i++) {
      const t = Atomics.load(w, SLOT0 + 2 * i);
      if (t <= 0 || threadAlive(t)) continue;
      // The CAS makes exactly one reclaimer responsible for this slot.
      if (Atomics.compareExchange(w, SLOT0 + 2 * i, t, RECLAIMING) !== t) continue;
      const permits = Atomics.exchange(w, SLOT0 + 2 * i + 1, 0);
      Atomics.store(w, SLOT0 + 2 * i, 0);
      if (permits > 0) {
        if (recoveredChannel.hasSubscribers) recoveredChannel.publish({ what: this.#what, deadHolder: t, by: currentTid(), permits });
        Atomics.add(w, COUNT, permits);
        sys.futexWake(w, COUNT, permits);
      }
    }
  }

  /** Takes `n` permits (default 1) if available now. */
  tryAcquire(n = 1): boolean {
    this.#check();
    return this.#take(this.#permits(n));
  }

  /** Blocks this thread until `n` permits are taken; ERR_IPCBUFFER_LOCK_TIMEOUT after `timeoutMs`. */
  acquireSync(options: { permits?: number; timeoutMs?: number } = {}): void {
    this.#check();
    const n = this.#permits(options.permits ?? 1);
    const limit = checkTimeout(options.timeoutMs);
    const deadline = Date.now() + limit;
    const w = this.#w;
    for (;;) {
      if (this.#take(n)) return;
      this.#reclaim();
      if (this.#take(n)) return;
      const left = deadline - Date.now();
      if (left <= 0) throw new LockTimeoutError(this.#what, limit);
      const c = Atomics.load(w, COUNT);
      if (c >= n) continue;
      // Announce first, then sleep on the count we saw: a release after our
      // announcement either changed the count (the wait returns at once) or wakes us.
      Atomics.add(w, SLEEPERS, 1);
      try {
        sys.futexWait(w, COUNT, c, Math.min(left, SLICE_MS));
      } finally {
        Atomics.sub(w, SLEEPERS, 1);
      }
    }
  }

  /** Resolves once `n` permits are taken, waiting in a helper thread. */
  acquire(options: AcquireOptions & { permits?: number } = {}): Promise<void> {
    try {
      this.#check();
      const n = this.#permits(options.permits ?? 1);
      const limit = checkTimeout(options.timeoutMs);
      if ((this.#queues.get(n)?.pending ?? 0) === 0 && this.#take(n)) return Promise.resolve();
      // One queue (and helper thread) per request size, reused: FIFO within a size.
      let queue = this.#queues.get(n);
      if (queue === undefined) {
        const w = this.#w;
        queue = new AsyncQueue(w, {
          tryTake: () => this.#take(n),
          recover: () => this.#reclaim(),
          prepare: () => {
            const c = Atomics.load(w, COUNT);
            if (c >= n) return null;
            Atomics.add(w, SLEEPERS, 1);
            return { index: COUNT, expected: c };
          },
          finish: () => void Atomics.sub(w, SLEEPERS, 1),
        }, this.#what);
        this.#queues.set(n, queue);
      }
      return queue.enqueue(limit, options.signal);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  readonly #queues = new Map<number, AsyncQueue>();

  /**
   * Returns `n` permits (default 1) and wakes waiters. Throws
   * ERR_IPCBUFFER_LOCK_STATE if that would exceed the semaphore's maximum.
   */
  release(n = 1): void {
    this.#check();
    checkPermits(n, 'permits', 1);
    const w = this.#w;
    const max = Atomics.load(w, MAX);
    // Out of our slot first, then into the pool: a death in between loses
    // permits instead of letting a reclaimer count them twice.
    const s = this.#slot(false);
    const dropped = s < 0 ? 0 : Math.min(Atomics.load(w, SLOT0 + 2 * s + 1), n);
    if (dropped > 0) Atomics.sub(w, SLOT0 + 2 * s + 1, dropped);
    for (;;) {
      const c = Atomics.load(w, COUNT);
      if (c + n > max) {
        if (dropped > 0) Atomics.add(w, SLOT0 + 2 * s + 1, dropped);
        throw new LockStateError('ERR_IPCBUFFER_LOCK_STATE', `${this.#what}: releasing ${n} would make ${c + n} permits, more than its ${max}; release only what was acquired`);
      }
      if (Atomics.compareExchange(w, COUNT, c, c + n) === c) break;
    }
    if (s >= 0 && Atomics.load(w, SLOT0 + 2 * s + 1) === 0) Atomics.compareExchange(w, SLOT0 + 2 * s, currentTid(), 0);
    if (Atomics.load(w, SLEEPERS) > 0) sys.futexWake(w, COUNT, n);
  }

  /** Runs `fn` holding `permits` permits; releases them however `fn` ends. */
  async withPermit<T>(fn: () => T | Promise<T>, options: AcquireOptions & { permits?: number } = {}): Promise<T> {
    await this.acquire(options);
    try {
      return await fn();
    } finally {
      this.release(options.permits ?? 1);
    }
  }

  /** Stops async waiting and releases the named object's mapping. Does not release permits. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const q of this.#queues.values()) q.close();
    this.#owned?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
