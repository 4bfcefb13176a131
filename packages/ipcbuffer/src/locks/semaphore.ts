import { Semaphore as SharedSemaphore, type LockGuard } from '@shmkit/shm-state';

import { closeWith, type IPCBuffer } from '../buffer';
import { LockStateError, LockTimeoutError, argType, outOfRange } from '../errors';
import { openPosix, unlinkPosix } from '../posix';
import { NAMED_BYTES, reportTakeover, type OpenLockOptions } from './mutex';
import { attach, checkOpen, checkPlacement, checkTimeout, translate, waitOptions, type AcquireOptions } from './placement';

/** Most permits of a semaphore placed with IPCSemaphore.at (each permit is a 4-byte owner word). */
const MAX_PERMITS = 4096;
/** Most permits of a named semaphore: its owner words fit the one-page object (944). */
const MAX_NAMED_PERMITS = largestFitting(NAMED_BYTES);

function largestFitting(bytes: number): number {
  let n = MAX_PERMITS;
  while (n > 1 && SharedSemaphore.byteLengthFor(n) > bytes) n--;
  return n;
}

/** Bytes a one-permit Semaphore occupies inside a shared buffer; see IPCSemaphore.byteLengthFor. */
export const SEMAPHORE_BYTES = SharedSemaphore.byteLengthFor(1);

export interface SemaphoreOptions extends OpenLockOptions {
  /** Permits of a newly created semaphore (default 1); ignored when it exists. */
  initial?: number;
}

function checkPermits(n: unknown, what: string, max: number, hint = ''): number {
  if (typeof n !== 'number') throw argType(what, 'a number', n);
  if (!Number.isInteger(n) || n < 1 || n > max) throw outOfRange(`${what} must be an integer in [1, ${max}], got ${n}${hint}`);
  return n;
}

/**
 * A counting semaphore shared by processes: shm-state's Semaphore with
 * thread ownership, named (a POSIX shm object) or at an offset of an
 * IPCBuffer. Every permit is a word holding its holder's thread id, taken
 * by one compare-and-swap, so when a holder dies (at any instruction) its
 * permits are taken over by waiters within about 20 ms. Permits are released
 * through the Semaphore object that acquired them.
 *
 * acquireSync() blocks the thread; acquire() waits on the event loop.
 */
export class IPCSemaphore implements Disposable {
  readonly #s: SharedSemaphore;
  readonly #owned: IPCBuffer | undefined;
  /** The caller's buffer for locks placed with .at (named locks own theirs). */
  readonly #placedIn: IPCBuffer | undefined;
  readonly #what: string;
  readonly #forget: (() => void) | undefined;
  /** Permits this object holds, one guard each; release() gives back the newest first. */
  readonly #held: LockGuard[] = [];
  #closed = false;

  private constructor(buffer: IPCBuffer, offset: number, owned: IPCBuffer | undefined, what: string, initial: number) {
    this.#owned = owned;
    this.#placedIn = owned === undefined ? buffer : undefined;
    this.#what = what;
    this.#s = attach(() => SharedSemaphore.openOrCreate(buffer, { offset, permits: initial, owner: 'thread' }), what);
    this.#forget = owned === undefined ? closeWith(buffer, this) : undefined;
  }

  /** Bytes a semaphore of `permits` permits occupies (IPCSemaphore.at). */
  static byteLengthFor(permits: number): number {
    return SharedSemaphore.byteLengthFor(checkPermits(permits, 'permits', MAX_PERMITS));
  }

  /** The semaphore named `name` (POSIX shm "/name"); created with `initial` permits (default 1, at most 944) if missing. */
  static open(name: string, options: SemaphoreOptions = {}): IPCSemaphore {
    const initial = checkPermits(options.initial ?? 1, 'initial', MAX_NAMED_PERMITS, ' for a named semaphore (one page); place larger ones with IPCSemaphore.at');
    const buf = openPosix(name, NAMED_BYTES, { create: options.create ?? true, ...(options.mode === undefined ? {} : { mode: options.mode }) });
    try {
      return new IPCSemaphore(buf, 0, buf, `semaphore ${buf.name as string}`, initial);
    } catch (err) {
      buf.close();
      throw err;
    }
  }

  /** A semaphore at `offset` (8-aligned) of a shared IPCBuffer, initialised with `initial` permits by the first user. */
  static at(buffer: IPCBuffer, offset = 0, options: { initial?: number } = {}): IPCSemaphore {
    const initial = checkPermits(options.initial ?? 1, 'initial', MAX_PERMITS);
    const b = checkPlacement(buffer, offset, SharedSemaphore.byteLengthFor(initial));
    return new IPCSemaphore(b, offset, undefined, `semaphore at offset ${offset} of ${b.name ?? b.path ?? b.key ?? b.kind}`, initial);
  }

  static unlink(name: string): void {
    unlinkPosix(name);
  }

  #check(): void {
    checkOpen(this.#closed, this.#placedIn, this.#what);
  }

  /** Free permits right now. */
  get value(): number {
    this.#check();
    return this.#s.available;
  }

  /** Permits the semaphore was created with. */
  get max(): number {
    this.#check();
    return this.#s.permits;
  }

  /** How many permits any process took over from dead holders. */
  get recoveries(): number {
    this.#check();
    return this.#s.recoveries;
  }

  /** Checks a request size against the maximum: asking for more could never succeed. */
  #permits(n: unknown): number {
    const k = checkPermits(n, 'permits', MAX_PERMITS);
    const max = this.#s.permits;
    if (k > max) throw outOfRange(`${this.#what} has ${max} permits in all; asking for ${k} could never succeed`);
    return k;
  }

  #took(guards: LockGuard[]): void {
    for (const g of guards) {
      reportTakeover(g, this.#what, 1);
      if (g.ownerDead) g.markConsistent();
      this.#held.push(g);
    }
  }

  /** Takes `n` permits (default 1) together if available now. */
  tryAcquire(n = 1): boolean {
    this.#check();
    const k = this.#permits(n);
    const got = k === 1 ? [this.#s.tryAcquire()] : this.#s.tryAcquireMany(k);
    if (got === null || got[0] === null) return false;
    this.#took(got as LockGuard[]);
    return true;
  }

  /** Blocks this thread until `n` permits are taken together; ERR_IPCBUFFER_LOCK_TIMEOUT after `timeoutMs`. */
  acquireSync(options: { permits?: number; timeoutMs?: number } = {}): void {
    this.#check();
    const k = this.#permits(options.permits ?? 1);
    const limit = checkTimeout(options.timeoutMs);
    const got = k === 1 ? [this.#s.acquireSync(waitOptions(limit))] : this.#s.acquireManySync(k, waitOptions(limit));
    if (got === null || got[0] === null) throw new LockTimeoutError(this.#what, limit);
    this.#took(got as LockGuard[]);
  }

  /** Resolves once `n` permits are taken together, waiting on the event loop. */
  async acquire(options: AcquireOptions & { permits?: number } = {}): Promise<void> {
    this.#check();
    const k = this.#permits(options.permits ?? 1);
    const limit = checkTimeout(options.timeoutMs);
    const wait = waitOptions(limit, options.signal);
    let got: (LockGuard | null)[] | null;
    try {
      got = k === 1 ? [await this.#s.acquire(wait)] : await this.#s.acquireMany(k, wait);
    } catch (err) {
      throw translate(err, this.#what, options.signal);
    }
    if (got === null || got[0] === null) throw new LockTimeoutError(this.#what, limit);
    this.#took(got as LockGuard[]);
  }

  /**
   * Returns `n` permits (default 1) that this object acquired and wakes
   * waiters. Throws ERR_IPCBUFFER_LOCK_STATE when it holds fewer.
   */
  release(n = 1): void {
    this.#check();
    checkPermits(n, 'permits', MAX_PERMITS);
    if (n > this.#held.length) {
      throw new LockStateError('ERR_IPCBUFFER_LOCK_STATE', `${this.#what}: releasing ${n} permits, but this Semaphore object holds ${this.#held.length}; release only what was acquired through it`);
    }
    for (const g of this.#held.splice(this.#held.length - n, n)) {
      try {
        g.unlock();
      } catch (err) {
        throw translate(err, this.#what);
      }
    }
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

  /** Stops async waiting (pending acquire() calls reject) and releases the named object's mapping. Does not release permits. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#forget?.();
    this.#s.close();
    this.#owned?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
