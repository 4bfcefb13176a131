import { ShmClosedError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { reportRecovery } from './diagnostics';
import { claimCreation } from './creation-claim';
import { ShmStateCorruptError, ShmStateError } from './errors';
import type { LockGuard, LockOptions } from './mutex';
import { waitCheckingOwners, waitSyncCheckingOwners } from './liveness-wait';
import { Notifier, type SyncWaitOptions, type WaitOptions } from './notifier';
import { ownerId, type LockOwner } from './task-id';
import { mappingOf, type ClosedProbe } from './mapping-probe';
import { alignUp, checkHeaderStart, checkRegion, fourcc, int32At, type Memory } from './memory-region';

const MAGIC = fourcc('SEMA');
const VERSION = 1;
/** Longest wait for another process to finish initialising (openOrCreate). */
const W_MAGIC = 0;
const W_VERSION = 1;
const W_PERMITS = 2;
const W_INCONSISTENT = 3;
const W_RECOVERIES = 4;
const W_CREATOR = 5; // pid initialising a fresh semaphore (openOrCreate)
const NOTIFIER = 64;
const HOLDERS = NOTIFIER + Notifier.byteLength; // 320
const MAX_PERMITS = 4096;

/**
 * A counting semaphore in shared memory whose permits are owned: each permit
 * is a word that is 0 when free or the pid of its holder, taken by one
 * compare-and-swap. So, like `Mutex`, a holder killed at any point leaves
 * its pid on the permit, and a waiter that finds that pid dead takes the
 * permit over with `ownerDead`.
 *
 * Size: 320 + 4 × permits bytes (see `byteLengthFor`). Acquiring scans the
 * permits starting at a per-process index, so it costs O(permits) when
 * nearly all are taken; keep permits small (≤ 4096).
 *
 * Permits are released by their holder (the guard); for signalling between
 * processes use a queue or a `Notifier` instead. `{ owner: 'thread' }`
 * records thread ids instead of pids, as for `Mutex`.
 */
export class Semaphore {
  readonly permits: number;
  readonly byteLength: number;
  #h: Int32Array | undefined;
  readonly #mapping: ClosedProbe | undefined;
  readonly #holders: Int32Array;
  readonly #notifier: Notifier;
  /** What this handle writes into permit words: its pid, or its thread id with owner 'thread'. */
  readonly #pid: number;

  private constructor(memory: Memory, offset: number, permits: number, owner: LockOwner | undefined) {
    this.#pid = ownerId(owner);
    this.permits = permits;
    this.byteLength = Semaphore.byteLengthFor(permits);
    this.#h = int32At(memory, offset, 64, 'Semaphore');
    this.#mapping = mappingOf(memory);
    this.#holders = int32At(memory, offset + HOLDERS, permits * 4, 'Semaphore');
    this.#notifier = new Notifier(memory, offset + NOTIFIER);
  }

  static byteLengthFor(permits: number): number {
    checkPermits(permits);
    return alignUp(HOLDERS + permits * 4, 64);
  }

  static create(memory: Memory, options: LockOptions & { permits: number }): Semaphore {
    const offset = options.offset ?? 0;
    const { permits } = options;
    checkPermits(permits);
    checkRegion(memory, offset, HOLDERS + permits * 4, 8, 'Semaphore');
    const h = int32At(memory, offset, 64, 'Semaphore');
    Atomics.store(h, W_MAGIC, 0);
    for (let i = 1; i < h.length; i++) Atomics.store(h, i, 0);
    Atomics.store(h, W_VERSION, VERSION);
    Atomics.store(h, W_PERMITS, permits);
    Notifier.init(memory, offset + NOTIFIER);
    const holders = int32At(memory, offset + HOLDERS, permits * 4, 'Semaphore');
    for (let i = 0; i < permits; i++) Atomics.store(holders, i, 0);
    Atomics.store(h, W_MAGIC, MAGIC);
    return new Semaphore(memory, offset, permits, options.owner);
  }

  static open(memory: Memory, options: LockOptions = {}): Semaphore {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, HOLDERS, 8, 'Semaphore');
    const h = int32At(memory, offset, 64, 'Semaphore');
    const where = `Semaphore at offset ${offset}`;
    checkHeaderStart(h, where, 'semaphore', MAGIC, VERSION);
    const permits = Atomics.load(h, W_PERMITS);
    if (!Number.isInteger(permits) || permits < 1 || permits > MAX_PERMITS) throw new ShmStateCorruptError(where, `impossible permit count ${permits}`);
    if (offset + HOLDERS + permits * 4 > memory.byteLength) throw new ShmStateCorruptError(where, `${permits} permits run past the end of the buffer`);
    return new Semaphore(memory, offset, permits, options.owner);
  }

  /**
   * Opens the semaphore at `offset`, creating it with `permits` when that
   * memory holds none (all zeros); an existing one keeps its own count.
   */
  static openOrCreate(memory: Memory, options: LockOptions & { permits: number }): Semaphore {
    const offset = options.offset ?? 0;
    const { permits } = options;
    checkPermits(permits);
    checkRegion(memory, offset, HOLDERS + permits * 4, 8, 'Semaphore');
    const h = int32At(memory, offset, 64, 'Semaphore');
    if (Atomics.load(h, W_MAGIC) === 0) {
      const claim = claimCreation(h, { creator: W_CREATOR, ready: W_MAGIC, readyValue: MAGIC }, `initialising the semaphore at offset ${offset}`, sys.schedYield);
      if (claim === 'exists') return Semaphore.open(memory, options);
      Atomics.store(h, W_VERSION, VERSION);
      Atomics.store(h, W_PERMITS, permits);
      Atomics.store(h, W_INCONSISTENT, 0);
      Notifier.init(memory, offset + NOTIFIER);
      const holders = int32At(memory, offset + HOLDERS, permits * 4, 'Semaphore');
      for (let i = 0; i < permits; i++) Atomics.store(holders, i, 0);
      Atomics.store(h, W_MAGIC, MAGIC);
    }
    return Semaphore.open(memory, options);
  }

  /** Free permits right now. */
  get available(): number {
    this.#header();
    let n = 0;
    for (let i = 0; i < this.permits; i++) if (Atomics.load(this.#holders, i) === 0) n++;
    return n;
  }

  get recoveries(): number {
    return Atomics.load(this.#header(), W_RECOVERIES);
  }

  tryAcquire(): LockGuard | null {
    return this.#acquire(true) ?? null;
  }

  acquireSync(options: SyncWaitOptions = {}): LockGuard | null {
    return waitSyncCheckingOwners(this.#notifier, (check) => this.#acquire(check), options);
  }

  async acquire(options: WaitOptions = {}): Promise<LockGuard | null> {
    return waitCheckingOwners(this.#notifier, (check) => this.#acquire(check), options);
  }

  /**
   * Takes `count` permits at once or none (one guard each), so two callers
   * each wanting several never deadlock holding some; null when not enough
   * are free (or held by dead processes).
   */
  tryAcquireMany(count: number): LockGuard[] | null {
    this.#checkCount(count);
    return this.#acquireMany(count, true) ?? null;
  }

  /** Blocks the thread until `count` permits are taken together; null on timeout. */
  acquireManySync(count: number, options: SyncWaitOptions = {}): LockGuard[] | null {
    this.#checkCount(count);
    return waitSyncCheckingOwners(this.#notifier, (check) => this.#acquireMany(count, check), options);
  }

  /** Resolves once `count` permits are taken together, or with null on timeout; never blocks the event loop. */
  async acquireMany(count: number, options: WaitOptions = {}): Promise<LockGuard[] | null> {
    this.#checkCount(count);
    return waitCheckingOwners(this.#notifier, (check) => this.#acquireMany(count, check), options);
  }

  close(): void {
    if (this.#h === undefined) return;
    this.#h = undefined;
    this.#notifier.cancelAll(new ShmClosedError('the Semaphore'));
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #header(): Int32Array {
    if (this.#h === undefined) throw new ShmClosedError('the Semaphore');
    if (this.#mapping?.closed === true) {
      this.close();
      throw new ShmClosedError('the mapping under this Semaphore');
    }
    return this.#h;
  }

  #checkCount(count: number): void {
    if (!Number.isInteger(count) || count < 1 || count > this.permits) {
      throw new ShmStateError('ERR_OUT_OF_RANGE', `count must be an integer between 1 and the semaphore's ${this.permits} permits, got ${count}`);
    }
  }

  #acquireMany(count: number, checkOwners: boolean): LockGuard[] | undefined {
    this.#header();
    // Count first, take only when enough look takeable: a failed attempt puts
    // its permits back and notifies, and two callers doing that to each other
    // on every wake-up would keep both busy while a third party holds them.
    const holders = this.#holders;
    let takeable = 0;
    for (let i = 0; i < this.permits && takeable < count; i++) {
      const owner = Atomics.load(holders, i);
      if (owner === 0 || (checkOwners && owner !== this.#pid && !sys.processAlive(owner))) takeable++;
    }
    if (takeable < count) return undefined;
    const got: LockGuard[] = [];
    for (let k = 0; k < count; k++) {
      const g = this.#acquire(checkOwners);
      if (g === undefined) break;
      got.push(g);
    }
    if (got.length === count) return got;
    // Lost a race for some: give back what we took (waking anyone who missed them).
    for (const g of got) g.unlock();
    return undefined;
  }

  #acquire(checkOwners: boolean): LockGuard | undefined {
    const h = this.#header();
    const holders = this.#holders;
    const n = this.permits;
    const start = this.#pid % n;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (Atomics.load(holders, i) === 0 && Atomics.compareExchange(holders, i, 0, this.#pid) === 0) {
        return this.#guard(h, i, Atomics.load(h, W_INCONSISTENT) === 1);
      }
    }
    if (!checkOwners) return undefined;
    for (let i = 0; i < n; i++) {
      const owner = Atomics.load(holders, i);
      if (owner === 0 || owner === this.#pid || sys.processAlive(owner)) continue;
      if (Atomics.compareExchange(holders, i, owner, this.#pid) === owner) {
        Atomics.store(h, W_INCONSISTENT, 1);
        Atomics.add(h, W_RECOVERIES, 1);
        reportRecovery({ structure: 'Semaphore', what: `took over permit ${i} whose holder died`, deadPid: owner });
        return this.#guard(h, i, true, owner);
      }
    }
    return undefined;
  }

  #guard(h: Int32Array, i: number, ownerDead: boolean, deadOwner?: number): LockGuard {
    let held = true;
    const holders = this.#holders;
    const release = () => {
      if (!held) return;
      held = false;
      if (Atomics.compareExchange(holders, i, this.#pid, 0) !== this.#pid) {
        throw new ShmStateError('ERR_SHM_STATE_NOT_OWNER', `permit ${i} is held by pid ${Atomics.load(holders, i)}, not by this process; it was taken over`);
      }
      this.#notifier.notify();
    };
    return {
      ownerDead,
      deadOwner, // always present (undefined when no takeover): one object shape for every guard
      markConsistent: () => {
        if (!held) throw new ShmStateError('ERR_SHM_STATE_NOT_OWNER', 'markConsistent() needs the permit held');
        Atomics.store(h, W_INCONSISTENT, 0);
      },
      unlock: release,
      [Symbol.dispose]: release,
    };
  }
}

function checkPermits(permits: number): void {
  if (!Number.isInteger(permits) || permits < 1 || permits > MAX_PERMITS) {
    throw new ShmStateError('ERR_OUT_OF_RANGE', `Semaphore permits must be an integer between 1 and ${MAX_PERMITS}, got ${permits}`);
  }
}
