import { ShmClosedError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { AdaptiveSpin } from './adaptive-spin';
import { Doorbell, ring, type AllowPeer } from './doorbell';
import { SyncBell } from './sync-bell';
import { AbortError } from './errors';
import { futexWord, type FutexWord } from './futex-word';
import { PendingWait, type Waiter } from './pending-wait';
import { Linger } from './linger';
import { checkMapped, mappingOf, type ClosedProbe } from './mapping-probe';
import { int32At, type Memory } from './memory-region';

// Layout of a Notifier block (int32 words). Word 0 is the futex word of
// blocking waiters; async waiters each hold a doorbell slot.
const SEQ = 0;
const NEED_WAKE = 1; // set by blocking sleepers; the first waker to clear it wakes them all
const ARMED = 2;
const SLOT0 = 4;
const SLOT_WORDS = 4;
const NSLOTS = 15;
// Slot words.
const ASLEEP = 0;
const PID = 1;
const FD = 2;
const INO = 3;

const BYTES = (SLOT0 + NSLOTS * SLOT_WORDS) * 4;

export interface WaitOptions {
  /** Give up after this many milliseconds; the wait then yields `undefined`. Default: forever. */
  timeoutMs?: number;
  /** Abort the wait; it rejects with an AbortError (code `ABORT_ERR`). */
  signal?: AbortSignal;
  /**
   * Microseconds to re-check the condition synchronously (holding the event
   * loop) before sleeping on the doorbell; 0 sleeps at once. Default:
   * adaptive: up to 20 µs while spins pay off, with an occasional 200 µs
   * probe while they do not (see AdaptiveSpin).
   */
  spinUs?: number;
}

export interface SyncWaitOptions {
  /** Give up after this many milliseconds. Default: forever. */
  timeoutMs?: number;
  /**
   * Microseconds to busy-wait (re-checking the condition) before sleeping in
   * the kernel; 0 sleeps at once. Default: adaptive, as for async waits.
   */
  spinUs?: number;
}

export interface NotifierOptions {
  /**
   * Called with the pid of every other process this handle's notify() is
   * about to wake; false leaves that sleeper to its 500 ms backstop. The pids
   * come from shared memory, so use this to restrict wakeups to the processes
   * you expect (e.g. the peer of a Unix socket, from SO_PEERCRED). Processes
   * of another uid are never rung, whatever this says.
   */
  allowPeer?: AllowPeer;
}

interface InternalSyncOptions extends SyncWaitOptions {
  /** Longest single sleep, so `check` can notice things nobody signals (a dead owner). */
  pollMs?: number;
}

/** Longest steady spin of a wait before it sleeps (see AdaptiveSpin). */
const MAX_SPIN_US = 20;
/** The occasional long spin that finds a peer spinning on another core (see AdaptiveSpin). */
const PROBE_SPIN_US = 200;
/**
 * Every wait re-checks at least this often even without a wakeup: a waker
 * SIGKILLed between publishing and waking must not leave a sleeper asleep
 * forever.
 */
const BACKSTOP_MS = 500;
/** How long an idle handle keeps its doorbell slot at least before giving it back (at most twice this). */
const SLOT_LINGER_MS = 1000;

/**
 * A wait/notify point in shared memory (256 bytes), usable by blocking and by
 * async waiters in any number of processes.
 *
 * Protocol (all words through Atomics, which are sequentially consistent):
 * a sleeper announces itself (futex-sleeper count, or its doorbell slot's
 * `asleep` flag), then re-checks its condition, then sleeps. A waker first
 * publishes its change, then reads the announcements. Whichever order the two
 * interleave in, either the sleeper's re-check sees the change or the waker
 * sees the sleeper — so no wakeup is lost, and a waker makes a system call
 * only when someone actually sleeps.
 *
 * Blocking waiters set a need-wake flag and sleep on word 0 with futex(2);
 * the first waker to clear the flag bumps word 0 and wakes them all, so a
 * burst of notifies costs one system call. Async waiters claim one of
 * 15 slots and publish their realm's Doorbell there; a waker that clears a
 * slot's `asleep` flag writes one byte to that doorbell. When all slots are
 * taken, async waiters fall back to polling every 2 ms.
 */
export class Notifier {
  static readonly byteLength = BYTES;

  readonly #h: Int32Array;
  readonly #mapping: ClosedProbe | undefined;
  readonly #futex: FutexWord;
  readonly #allowPeer: AllowPeer | undefined;
  readonly #waiters = new Set<Waiter>();
  #slot = -1;
  #poll: NodeJS.Timeout | undefined;
  #backstop: NodeJS.Timeout | undefined;
  readonly #slotLinger = new Linger(SLOT_LINGER_MS, () => this.#releaseSlot(), () => this.#waiters.size > 0);
  #syncSlot = -1;
  readonly #syncSlotLinger = new Linger(SLOT_LINGER_MS, () => this.#releaseSyncSlot());
  readonly #syncSpin = new AdaptiveSpin(MAX_SPIN_US, PROBE_SPIN_US);
  readonly #asyncSpin = new AdaptiveSpin(MAX_SPIN_US, PROBE_SPIN_US);
  readonly #service = () => this.#serviceAll();

  /** Views the block at `offset`; does not initialise it. */
  constructor(memory: Memory, offset: number, options: NotifierOptions = {}) {
    this.#h = int32At(memory, offset, BYTES, 'Notifier');
    this.#allowPeer = options.allowPeer;
    this.#mapping = mappingOf(memory);
    this.#futex = futexWord(this.#h, SEQ);
  }

  /** Zeroes a block at `offset` (no waiters, no slots). */
  static init(memory: Memory, offset: number): void {
    const h = int32At(memory, offset, BYTES, 'Notifier');
    for (let i = 0; i < h.length; i++) Atomics.store(h, i, 0);
  }

  /** Waiters currently announced (blocking + armed async), for diagnostics. */
  get sleepers(): number {
    return Atomics.load(this.#h, NEED_WAKE) + Atomics.load(this.#h, ARMED);
  }

  /**
   * Wakes every sleeper. Costs two shared loads when nobody sleeps; call it
   * after publishing the change the sleepers wait for.
   */
  notify(): void {
    checkMapped(this.#mapping, 'Notifier');
    const h = this.#h;
    // One futex wake per sleep, not per notify: while a woken sleeper is
    // still being scheduled, later notifies find the flag already cleared.
    if (Atomics.load(h, NEED_WAKE) !== 0 && Atomics.exchange(h, NEED_WAKE, 0) !== 0) {
      Atomics.add(h, SEQ, 1);
      this.#futex.wake(0x7fffffff);
    }
    if (Atomics.load(h, ARMED) !== 0) this.#ringArmed();
  }

  #ringArmed(): void {
    const h = this.#h;
    for (let i = 0; i < NSLOTS; i++) {
      const s = SLOT0 + i * SLOT_WORDS;
      // Winning the 1→0 exchange makes us the one waker of this sleep.
      if (Atomics.load(h, s + ASLEEP) !== 1 || Atomics.compareExchange(h, s + ASLEEP, 1, 0) !== 1) continue;
      Atomics.sub(h, ARMED, 1);
      const pid = Atomics.load(h, s + PID);
      if (pid === 0) continue;
      const r = ring(pid, Atomics.load(h, s + FD), Atomics.load(h, s + INO), this.#allowPeer);
      // A slot left by a dead process is freed; a live one that cannot be
      // reached, or may not be, keeps it (its waiter has the backstop).
      if (r === 'gone' && !sys.processAlive(pid)) Atomics.compareExchange(h, s + PID, pid, 0);
    }
  }

  /**
   * Blocks the thread until `check()` returns something other than
   * `undefined`, or the timeout passes (then returns `undefined`).
   * Spins first, then sleeps with futex(2).
   */
  waitSync<T>(check: () => T | undefined, options: InternalSyncOptions = {}): T | undefined {
    checkMapped(this.#mapping, 'Notifier');
    const spun = this.#syncSpin.spin(check, options.spinUs);
    if (spun !== undefined) return spun;
    const timeout = options.timeoutMs ?? Infinity;
    const deadline = performance.now() + timeout;
    const poll = options.pollMs ?? BACKSTOP_MS;
    if (this.#futex.kind === 'mapped') {
      const bell = SyncBell.shared();
      if (bell.ready) return this.#waitOnBell(bell, check, deadline, poll);
    }
    const h = this.#h;
    for (;;) {
      // Snapshot, announce, re-check, sleep: a notify after the snapshot
      // either is seen by the re-check or bumps SEQ so the wait returns.
      const seq = Atomics.load(h, SEQ);
      Atomics.store(h, NEED_WAKE, 1);
      let v = check();
      if (v !== undefined) return v;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      this.#futex.wait(seq, Math.min(left, poll));
      v = check();
      if (v !== undefined) return v;
      if (performance.now() >= deadline) return undefined;
    }
  }

  /**
   * Blocking wait across processes without ffi: the same slot protocol as
   * async waits, with this thread's SyncBell (a pipe it reads) as the
   * address, so a waker's notify() is one write().
   */
  #waitOnBell<T>(bell: SyncBell, check: () => T | undefined, deadline: number, poll: number): T | undefined {
    if (this.#syncSlot < 0) this.#syncSlot = this.#claim(bell.fd, bell.ino);
    if (this.#syncSlot < 0) return this.#pollSync(check, deadline, poll);
    const slot = this.#syncSlot;
    try {
      for (;;) {
        this.#armSlot(slot);
        let v = check();
        if (v !== undefined) return v;
        const left = deadline - performance.now();
        if (left <= 0) return undefined;
        bell.sleep(Math.min(left, poll));
        this.#disarmSlot(slot);
        v = check();
        if (v !== undefined) return v;
        if (performance.now() >= deadline) return undefined;
      }
    } finally {
      this.#disarmSlot(slot);
      // Given back after a second or two without blocking waits.
      this.#syncSlotLinger.touch();
    }
  }

  #releaseSyncSlot(): void {
    this.#syncSlotLinger.cancel();
    if (this.#syncSlot < 0) return;
    const h = this.#h;
    const s = SLOT0 + this.#syncSlot * SLOT_WORDS;
    this.#disarmSlot(this.#syncSlot);
    Atomics.store(h, s + FD, 0);
    Atomics.store(h, s + INO, 0);
    Atomics.compareExchange(h, s + PID, process.pid, 0);
    this.#syncSlot = -1;
  }

  /** All slots taken: re-check every millisecond (sleeping without a wakeup source). */
  #pollSync<T>(check: () => T | undefined, deadline: number, poll: number): T | undefined {
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const v = check();
      if (v !== undefined) return v;
      const left = deadline - performance.now();
      if (left <= 0) return undefined;
      Atomics.wait(nap, 0, 0, Math.min(left, poll, 1));
    }
  }

  /**
   * Resolves with the first value of `check()` other than `undefined`, or with
   * `undefined` when the timeout passes. Never blocks the event loop.
   * `pollMs` re-runs `check` periodically even without a wakeup.
   */
  wait<T>(check: () => T | undefined, options?: WaitOptions & { pollMs?: number }): Promise<T | undefined>;
  /** As above, resolving with `timedOut` instead of `undefined` when the timeout passes. */
  wait<T, D>(check: () => T | undefined, options: WaitOptions & { pollMs?: number }, timedOut: D): Promise<T | D>;
  wait<T, D>(check: () => T | undefined, options: WaitOptions & { pollMs?: number } = {}, timedOut?: D): Promise<T | D | undefined> {
    // Never throws: callers return this promise without an async wrapper.
    try {
      return this.#wait(check, options, timedOut);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #wait<T, D>(check: () => T | undefined, options: WaitOptions & { pollMs?: number }, timedOut: D): Promise<T | D> {
    if (this.#mapping?.closed === true) return Promise.reject(new ShmClosedError('the mapping under this Notifier'));
    const first = check();
    if (first !== undefined) return Promise.resolve(first);
    const { signal } = options;
    if (signal?.aborted === true) return Promise.reject(new AbortError('the wait', signal.reason));
    // A reply from a peer running on another core usually comes within
    // microseconds, far sooner than a doorbell wakeup could deliver it.
    const spun = this.#asyncSpin.spin(check, options.spinUs);
    if (spun !== undefined) return Promise.resolve(spun);
    return new Promise<T | D>((resolve, reject) => {
      const wait = new PendingWait(check, resolve, reject, this.#waitDone, options, timedOut);
      this.#waiters.add(wait);
      this.#activate();
      // Announced (armed) before this re-check: see the protocol above.
      wait.run();
    });
  }

  readonly #waitDone = (wait: Waiter): void => {
    this.#waiters.delete(wait);
    if (this.#waiters.size === 0) this.#idle();
  };

  /** Rejects every pending async wait of this handle and gives up its slot (used by close()). */
  cancelAll(err: Error): void {
    for (const w of [...this.#waiters]) w.cancel(err);
    this.#releaseSlot();
    this.#releaseSyncSlot();
  }

  #activate(): void {
    // Unref'd: the doorbell's socket keeps the loop alive while anyone waits.
    // It lives as long as the slot, so a consumer loop does not create and
    // clear a timer per message.
    if (this.#backstop === undefined) this.#backstop = setInterval(this.#service, BACKSTOP_MS).unref();
    if (this.#slot < 0 && this.#poll === undefined) {
      const bell = Doorbell.shared();
      this.#slot = this.#claim(bell.fd, bell.ino);
      if (this.#slot < 0) this.#poll = setInterval(this.#service, 2);
    }
    if (this.#slot >= 0) Doorbell.shared().add(this.#service);
    this.#arm();
  }

  #serviceAll(): void {
    if (this.#mapping?.closed === true) {
      this.cancelAll(new ShmClosedError('the mapping under this Notifier'));
      return;
    }
    // Most rings satisfy every waiter: try first, and re-arm (then re-check,
    // per the protocol) only for those still waiting.
    // (A Set visits each entry once even as settled ones delete themselves.)
    for (const w of this.#waiters) w.run();
    if (this.#waiters.size === 0) return;
    this.#arm();
    for (const w of this.#waiters) w.run();
  }

  #arm(): void {
    if (this.#slot >= 0) this.#armSlot(this.#slot);
  }

  #armSlot(slot: number): void {
    const h = this.#h;
    const s = SLOT0 + slot * SLOT_WORDS;
    // Only the slot's owner sets asleep to 1, and it counts itself in ARMED
    // first, so wakers (who clear the flag, then decrement) never drive the
    // count below the number of set flags.
    if (Atomics.load(h, s + ASLEEP) === 0) {
      Atomics.add(h, ARMED, 1);
      Atomics.store(h, s + ASLEEP, 1);
    }
  }

  #disarmSlot(slot: number): void {
    const h = this.#h;
    if (Atomics.compareExchange(h, SLOT0 + slot * SLOT_WORDS + ASLEEP, 1, 0) === 1) Atomics.sub(h, ARMED, 1);
  }

  #idle(): void {
    if (this.#poll !== undefined) {
      clearInterval(this.#poll);
      this.#poll = undefined;
    }
    if (this.#slot < 0) {
      this.#stopBackstop();
      return;
    }
    const h = this.#h;
    const s = SLOT0 + this.#slot * SLOT_WORDS;
    // Disarm now (nobody should ring us), but keep the slot a while: a
    // handle that waits again soon (a consumer loop) then skips claiming it.
    if (Atomics.compareExchange(h, s + ASLEEP, 1, 0) === 1) Atomics.sub(h, ARMED, 1);
    Doorbell.shared().delete(this.#service);
    this.#slotLinger.touch();
  }

  #stopBackstop(): void {
    if (this.#backstop !== undefined) {
      clearInterval(this.#backstop);
      this.#backstop = undefined;
    }
  }

  #releaseSlot(): void {
    this.#stopBackstop();
    this.#slotLinger.cancel();
    if (this.#slot < 0) return;
    const h = this.#h;
    const s = SLOT0 + this.#slot * SLOT_WORDS;
    if (Atomics.compareExchange(h, s + ASLEEP, 1, 0) === 1) Atomics.sub(h, ARMED, 1);
    Atomics.store(h, s + FD, 0);
    Atomics.store(h, s + INO, 0);
    Atomics.compareExchange(h, s + PID, process.pid, 0);
    this.#slot = -1;
    Doorbell.shared().delete(this.#service);
  }

  #claim(fd: number, ino: number): number {
    const h = this.#h;
    const me = process.pid;
    const take = (i: number): number => {
      const s = SLOT0 + i * SLOT_WORDS;
      // Address first; the slot is only rung once ASLEEP is set, after this.
      Atomics.store(h, s + FD, fd);
      Atomics.store(h, s + INO, ino);
      return i;
    };
    for (let i = 0; i < NSLOTS; i++) {
      if (Atomics.compareExchange(h, SLOT0 + i * SLOT_WORDS + PID, 0, me) === 0) return take(i);
    }
    // Full: take over slots whose owner died without releasing them.
    for (let i = 0; i < NSLOTS; i++) {
      const s = SLOT0 + i * SLOT_WORDS;
      const pid = Atomics.load(h, s + PID);
      if (pid === me || pid === 0 || sys.processAlive(pid)) continue;
      if (Atomics.compareExchange(h, s + PID, pid, me) !== pid) continue;
      if (Atomics.compareExchange(h, s + ASLEEP, 1, 0) === 1) Atomics.sub(h, ARMED, 1);
      return take(i);
    }
    return -1;
  }
}
