import { ShmClosedError } from '@shmkit/shm-fd';
import * as sys from '@shmkit/shm-fd/sys';

import { batchSize, isClosedError, type BatchOptions } from './batch-options';
import { reportRecovery } from './diagnostics';
import { ShmStateCorruptError, ShmStateCorruptWordError, ShmStateError } from './errors';
import { mappingOf, type ClosedProbe } from './mapping-probe';
import type { AllowPeer } from './doorbell';
import { Notifier, type SyncWaitOptions, type WaitOptions } from './notifier';
import { alignUp, checkHeaderStart, checkRegion, fourcc, int32At, isPowerOfTwo, type Memory } from './memory-region';

const MAGIC = fourcc('MPMQ');
const VERSION = 1;
// Header words (int32 index).
const W_MAGIC = 0;
const W_VERSION = 1;
const W_CAPACITY = 2;
const W_SLOT_SIZE = 3;
const W_REPAIRS = 4;
const W_DROPPED = 5;
const W_ENQ = 16; // byte 64: next position a producer claims (wraps at 2^32)
const W_DEQ = 32; // byte 128: next position a consumer claims
const NOT_EMPTY = 192;
const NOT_FULL = NOT_EMPTY + Notifier.byteLength;
const HEADER = NOT_FULL + Notifier.byteLength; // 704
// Slot words: the sequence number, the pid of the process working on the
// slot (0 when none), the payload length, then the payload.
const S_SEQ = 0;
const S_OWNER = 1;
const S_LEN = 2;
const SLOT_HEADER = 16;
/** Length of a slot abandoned by a producer killed inside push(). */
const TOMBSTONE = -1;

const MAX_SLOTS = 1 << 24;
/** How long a slot may stay owned by the same pid before the owner's liveness is checked. */
const STUCK_MS = 5;
/** Tries a try… call makes on a slot claimed by another process before it answers "not now". */
const MAX_BLOCKED = 64;

export interface MpmcCreateOptions {
  /** Byte offset in `memory` (multiple of 8; 64 recommended). Default 0. */
  offset?: number;
  /** Number of slots, a power of two ≥ 2. */
  capacity: number;
  /** Largest message in bytes (each slot reserves this much). */
  slotSize: number;
  /** Which other processes this handle's wakeups may ring (see `NotifierOptions.allowPeer`). */
  allowPeer?: AllowPeer;
}

export interface MpmcStats {
  /** Slots repaired after their owner died. */
  repairs: number;
  /** Messages discarded by repairs (a push or pop killed mid-way). */
  dropped: number;
}

/**
 * A bounded multi-producer multi-consumer queue of byte messages up to
 * `slotSize` bytes, in shared memory, after Dmitry Vyukov's bounded MPMC
 * queue (sequence-numbered slots).
 *
 * Each slot carries a sequence number `seq`: `seq == pos` means free for
 * the push at position `pos`, `seq == pos + 1` means holding the message of
 * position `pos`, and a pop sets `seq = pos + capacity` for the next round.
 * Unlike the classic algorithm, a process first claims the slot by writing
 * its pid into the slot's owner word (compare-and-swap 0 → pid), and only
 * then moves the shared position. So a slot left half-done by a killed
 * process always names its owner, and anyone it blocks can repair it.
 *
 * After a SIGKILL (`stats()` counts repairs and drops):
 * - producer killed inside push(): its message is discarded (the slot
 *   becomes a tombstone consumers skip); nothing else is lost or reordered.
 * - consumer killed inside pop(): if it had not yet taken the position, the
 *   message stays queued; if it had, that one message is discarded
 *   (at-most-once for the pop in flight).
 * Repairs happen when another process is blocked by the slot for more than
 * a few milliseconds and finds the owner's pid dead. A recycled pid delays
 * the repair until that process exits.
 *
 * Per-producer order holds for what each consumer sees.
 */
export class MpmcQueue {
  readonly capacity: number;
  readonly slotSize: number;
  readonly byteLength: number;
  readonly #mask: number;
  readonly #strideWords: number;
  #h: Int32Array | undefined;
  readonly #slots: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #notEmpty: Notifier;
  readonly #notFull: Notifier;
  readonly #pid = process.pid;
  /** Loop bound of one try… call: a full lap of tombstones plus the blocked tries. */
  readonly #steps: number;
  readonly #mapping: ClosedProbe | undefined;
  // Last stuck observation: slot index, owner, since when.
  /** Closed because the mapping went away, not by close(): iteration then throws. */
  #mappingLost = false;
  #stuckSlot = -1;
  #stuckOwner = 0;
  #stuckSince = 0;

  private constructor(memory: Memory, offset: number, capacity: number, slotSize: number, allowPeer?: AllowPeer) {
    this.capacity = capacity;
    this.slotSize = slotSize;
    const stride = strideFor(slotSize);
    this.#strideWords = stride >>> 2;
    this.byteLength = HEADER + capacity * stride;
    this.#mask = capacity - 1;
    this.#steps = capacity + 2 * MAX_BLOCKED;
    this.#h = int32At(memory, offset, HEADER, 'MpmcQueue');
    this.#mapping = mappingOf(memory);
    this.#bytes = memory.subarray(offset + HEADER, offset + this.byteLength);
    this.#slots = new Int32Array(this.#bytes.buffer, this.#bytes.byteOffset, (capacity * stride) >>> 2);
    this.#notEmpty = new Notifier(memory, offset + NOT_EMPTY, { allowPeer });
    this.#notFull = new Notifier(memory, offset + NOT_FULL, { allowPeer });
  }

  static byteLengthFor(capacity: number, slotSize: number): number {
    checkGeometry(capacity, slotSize);
    return HEADER + capacity * strideFor(slotSize);
  }

  /** Initialises an empty queue at `offset`, discarding whatever was there. */
  static create(memory: Memory, options: MpmcCreateOptions): MpmcQueue {
    const offset = options.offset ?? 0;
    const { capacity, slotSize } = options;
    checkGeometry(capacity, slotSize);
    const total = HEADER + capacity * strideFor(slotSize);
    checkRegion(memory, offset, total, 8, 'MpmcQueue');
    const h = int32At(memory, offset, HEADER, 'MpmcQueue');
    Atomics.store(h, W_MAGIC, 0);
    for (let i = 1; i < h.length; i++) Atomics.store(h, i, 0);
    Atomics.store(h, W_VERSION, VERSION);
    Atomics.store(h, W_CAPACITY, capacity);
    Atomics.store(h, W_SLOT_SIZE, slotSize);
    Notifier.init(memory, offset + NOT_EMPTY);
    Notifier.init(memory, offset + NOT_FULL);
    const q = new MpmcQueue(memory, offset, capacity, slotSize, options.allowPeer);
    for (let i = 0; i < capacity; i++) {
      const b = i * q.#strideWords;
      Atomics.store(q.#slots, b + S_SEQ, i);
      Atomics.store(q.#slots, b + S_OWNER, 0);
      Atomics.store(q.#slots, b + S_LEN, 0);
    }
    // Magic last: a queue half-initialised by a killed creator never opens.
    Atomics.store(h, W_MAGIC, MAGIC);
    return q;
  }

  /** Attaches to an existing queue; validates the header. */
  static open(memory: Memory, options: { offset?: number; allowPeer?: AllowPeer } = {}): MpmcQueue {
    const offset = options.offset ?? 0;
    checkRegion(memory, offset, HEADER, 8, 'MpmcQueue');
    const h = int32At(memory, offset, HEADER, 'MpmcQueue');
    const where = `MpmcQueue at offset ${offset}`;
    checkHeaderStart(h, where, 'queue', MAGIC, VERSION);
    const capacity = Atomics.load(h, W_CAPACITY);
    const slotSize = Atomics.load(h, W_SLOT_SIZE);
    try {
      checkGeometry(capacity, slotSize);
    } catch (err) {
      throw new ShmStateCorruptError(where, (err as Error).message);
    }
    if (offset + HEADER + capacity * strideFor(slotSize) > memory.byteLength) {
      throw new ShmStateCorruptError(where, `${capacity} slots of ${slotSize} bytes run past the end of the ${memory.byteLength}-byte buffer`);
    }
    const pending = (Atomics.load(h, W_ENQ) - Atomics.load(h, W_DEQ)) | 0;
    if (pending < 0 || pending > capacity) throw new ShmStateCorruptError(where, `enqueue and dequeue positions are ${pending} apart with ${capacity} slots`);
    return new MpmcQueue(memory, offset, capacity, slotSize, options.allowPeer);
  }

  /** Messages queued (approximate while others push and pop). */
  get length(): number {
    const h = this.#header();
    const n = (Atomics.load(h, W_ENQ) - Atomics.load(h, W_DEQ)) | 0;
    return Math.max(0, Math.min(this.capacity, n));
  }

  stats(): MpmcStats {
    const h = this.#header();
    return { repairs: Atomics.load(h, W_REPAIRS), dropped: Atomics.load(h, W_DROPPED) };
  }

  /**
   * Appends a copy of `message`; false when full — or when the slot it needs
   * stays claimed by another live process for a few dozen tries (the
   * blocking forms then wait for it). Never waits itself: every loop below is
   * bounded, so a peer writing positions or slot words cannot hang it.
   */
  tryPush(message: Uint8Array): boolean {
    const h = this.#header();
    const len = message.byteLength;
    if (len > this.slotSize) {
      throw new ShmStateError('ERR_SHM_STATE_MESSAGE_TOO_LARGE', `a ${len}-byte message does not fit slots of ${this.slotSize} bytes`);
    }
    const slots = this.#slots;
    let blocked = 0;
    for (let step = this.#steps; step > 0; step--) {
      const pos = Atomics.load(h, W_ENQ);
      const b = (pos & this.#mask) * this.#strideWords;
      const dif = (Atomics.load(slots, b + S_SEQ) - pos) | 0;
      if (dif === 0) {
        const owner = Atomics.compareExchange(slots, b + S_OWNER, 0, this.#pid);
        if (owner === 0) {
          // Owning the slot while seq still equals pos means nobody claimed
          // this position: every claimant advances seq before releasing.
          if (Atomics.load(slots, b + S_SEQ) !== pos) {
            Atomics.store(slots, b + S_OWNER, 0);
            continue;
          }
          Atomics.store(h, W_ENQ, (pos + 1) | 0);
          const at = (b + SLOT_HEADER / 4) * 4;
          this.#bytes.set(message, at);
          Atomics.store(slots, b + S_LEN, len);
          Atomics.store(slots, b + S_SEQ, (pos + 1) | 0);
          Atomics.store(slots, b + S_OWNER, 0);
          this.#notEmpty.notify();
          return true;
        }
        if (++blocked > MAX_BLOCKED) return false;
        this.#blocked(b, owner, blocked);
      } else if (dif < 0) {
        // Still holds the message of the previous round: full, unless a
        // consumer took that position and is (or died) mid-copy.
        const owner = Atomics.load(slots, b + S_OWNER);
        if (owner !== 0) {
          this.#blocked(b, owner, ++blocked);
          if (Atomics.load(slots, b + S_OWNER) === 0) continue;
        }
        return false;
      } else if (Atomics.load(h, W_ENQ) === pos) {
        // A slot is only pushed after its position was claimed, which moves
        // the enqueue position first: a sequence ahead of an unmoved position
        // was written by someone outside the protocol.
        throw this.#corrupt(`the sequence word of slot ${pos & this.#mask}`, `is ${dif} ahead of the enqueue position ${pos >>> 0} that nobody has claimed`);
      }
      // dif > 0 and the position moved: another producer took pos; reload.
    }
    return false;
  }

  /**
   * Removes the oldest message and returns a copy; null when empty — or when
   * the next message stays claimed by a live producer still writing it for a
   * few dozen tries. Bounded like tryPush().
   */
  tryPop(): Buffer | null {
    const h = this.#header();
    const slots = this.#slots;
    let blocked = 0;
    for (let step = this.#steps; step > 0; step--) {
      const pos = Atomics.load(h, W_DEQ);
      const b = (pos & this.#mask) * this.#strideWords;
      const dif = (Atomics.load(slots, b + S_SEQ) - ((pos + 1) | 0)) | 0;
      if (dif === 0) {
        const owner = Atomics.compareExchange(slots, b + S_OWNER, 0, this.#pid);
        if (owner === 0) {
          if (Atomics.load(slots, b + S_SEQ) !== ((pos + 1) | 0)) {
            Atomics.store(slots, b + S_OWNER, 0);
            continue;
          }
          Atomics.store(h, W_DEQ, (pos + 1) | 0);
          const len = Atomics.load(slots, b + S_LEN);
          let out: Buffer | null = null;
          let bad = false;
          if (len !== TOMBSTONE) {
            if (len < 0 || len > this.slotSize) {
              bad = true;
            } else {
              const at = (b + SLOT_HEADER / 4) * 4;
              out = Buffer.allocUnsafe(len);
              out.set(this.#bytes.subarray(at, at + len));
            }
          }
          Atomics.store(slots, b + S_SEQ, (pos + this.capacity) | 0);
          Atomics.store(slots, b + S_OWNER, 0);
          this.#notFull.notify();
          if (bad) throw this.#corrupt(`the length word of slot ${pos & this.#mask}`, `claims ${len} bytes in ${this.slotSize}-byte slots; the message was skipped`);
          if (out !== null) return out;
          continue; // a tombstone: skip it (at most capacity of them per call)
        }
        if (++blocked > MAX_BLOCKED) return null;
        this.#blocked(b, owner, blocked);
      } else if (dif < 0) {
        // Not yet published for this round: empty, unless a producer claimed
        // the position and is (or died) mid-write.
        const enq = Atomics.load(h, W_ENQ);
        if (enq !== pos) {
          const pending = (enq - pos) | 0;
          // `pos` may be stale (this process was descheduled while others
          // moved on), so the distance only proves corruption while the
          // dequeue position still reads `pos`.
          if ((pending < 0 || pending > this.capacity) && Atomics.load(h, W_DEQ) === pos) {
            throw this.#corrupt('the enqueue/dequeue positions', `are ${pending} apart (enqueue ${enq >>> 0}, dequeue ${pos >>> 0}) with ${this.capacity} slots`);
          }
          const owner = Atomics.load(slots, b + S_OWNER);
          if (owner === 0) {
            // A claimant holds the owner word until it has published, so
            // with the owner gone the sequence must show the message now —
            // unless another consumer took the position meanwhile.
            if (((Atomics.load(slots, b + S_SEQ) - ((pos + 1) | 0)) | 0) < 0 && Atomics.load(h, W_DEQ) === pos) {
              throw this.#corrupt('the enqueue position', `${enq >>> 0} is ahead of position ${pos >>> 0}, but nobody is writing slot ${pos & this.#mask}`);
            }
            continue;
          }
          this.#blocked(b, owner, ++blocked);
          if (Atomics.load(slots, b + S_OWNER) === 0) continue;
        }
        return null;
      } else if (Atomics.load(h, W_DEQ) === pos) {
        throw this.#corrupt(`the sequence word of slot ${pos & this.#mask}`, `is ${dif} ahead of the dequeue position ${pos >>> 0} that nobody has taken`);
      }
    }
    return null;
  }

  pushSync(message: Uint8Array, options: SyncWaitOptions = {}): boolean {
    if (this.tryPush(message)) return true;
    return this.#notFull.waitSync(() => (this.tryPush(message) ? true : undefined), { ...options, pollMs: 50 }) === true;
  }

  popSync(options: SyncWaitOptions = {}): Buffer | null {
    const first = this.tryPop();
    if (first !== null) return first;
    return this.#notEmpty.waitSync(() => this.tryPop() ?? undefined, { ...options, pollMs: 50 }) ?? null;
  }

  async push(message: Uint8Array, options: WaitOptions = {}): Promise<boolean> {
    return (await this.#notFull.wait(() => (this.tryPush(message) ? true : undefined), { ...options, pollMs: 50 })) === true;
  }

  async pop(options: WaitOptions = {}): Promise<Buffer | null> {
    return (await this.#notEmpty.wait(() => this.tryPop() ?? undefined, { ...options, pollMs: 50 })) ?? null;
  }

  /**
   * Async iteration in batches: `for await (const batch of q.batches())`
   * yields arrays of the messages waiting (up to `maxMessages`), each a copy
   * taken as by `tryPop()` — so they may be kept, and other consumers share
   * the stream as usual — waiting (`await`) only when the queue is empty.
   * The loop ends when this handle is closed; `signal` makes it throw an
   * AbortError; a mapping closed under it throws ERR_SHM_CLOSED.
   */
  async *batches(options: BatchOptions = {}): AsyncGenerator<Buffer[], void, undefined> {
    const max = batchSize(options);
    const waitOptions = { signal: options.signal, spinUs: options.spinUs, pollMs: 50 };
    for (;;) {
      if (this.#h === undefined) return;
      let first: Buffer | undefined;
      try {
        first = await this.#notEmpty.wait(() => this.tryPop() ?? undefined, waitOptions);
      } catch (err) {
        // Closing the handle is how a consumer loop is told to stop.
        if (this.#h === undefined && !this.#mappingLost && isClosedError(err)) return;
        throw err;
      }
      if (first === undefined) continue;
      const batch = [first];
      while (batch.length < max) {
        const m = this.tryPop();
        if (m === null) break;
        batch.push(m);
      }
      yield batch;
    }
  }

  /** `for await (const batch of q)`: `batches()` with its defaults. */
  [Symbol.asyncIterator](): AsyncGenerator<Buffer[], void, undefined> {
    return this.batches();
  }

  close(): void {
    if (this.#h === undefined) return;
    this.#h = undefined;
    const err = new ShmClosedError('the MpmcQueue');
    this.#notEmpty.cancelAll(err);
    this.#notFull.cancelAll(err);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #header(): Int32Array {
    if (this.#h === undefined) throw new ShmClosedError('the MpmcQueue');
    if (this.#mapping?.closed === true) {
      this.#mappingLost = true;
      this.close();
      throw new ShmClosedError('the mapping under this MpmcQueue');
    }
    return this.#h;
  }

  #corrupt(word: string, detail: string): ShmStateCorruptWordError {
    return new ShmStateCorruptWordError('MpmcQueue', word, detail);
  }

  /**
   * Called when slot `b` is held by `owner`. Yields the CPU after a few
   * spins, and once the same owner has held the same slot for STUCK_MS,
   * checks whether it is alive and repairs the slot if not.
   */
  #blocked(b: number, owner: number, spins: number): void {
    const now = performance.now();
    if (this.#stuckSlot !== b || this.#stuckOwner !== owner) {
      this.#stuckSlot = b;
      this.#stuckOwner = owner;
      this.#stuckSince = now;
    } else if (now - this.#stuckSince >= STUCK_MS && owner !== this.#pid && !sys.processAlive(owner)) {
      this.#repair(b, owner);
      this.#stuckSlot = -1;
      return;
    }
    if (spins >= 32) sys.schedYield();
  }

  #repair(b: number, dead: number): void {
    const h = this.#header();
    const slots = this.#slots;
    // Taking ownership from the dead pid makes this repair exclusive; a
    // repairer killed here leaves its own pid, and the next one repairs.
    if (Atomics.compareExchange(slots, b + S_OWNER, dead, this.#pid) !== dead) return;
    const index = b / this.#strideWords;
    const seq = Atomics.load(slots, b + S_SEQ);
    if ((seq & this.#mask) === index) {
      // Producer phase: the owner claimed position `seq` to push into.
      if (((Atomics.load(h, W_ENQ) - seq) | 0) > 0) {
        // It had moved the enqueue position: consumers will wait here, so
        // publish an empty tombstone for them to skip.
        Atomics.store(slots, b + S_LEN, TOMBSTONE);
        Atomics.store(slots, b + S_SEQ, (seq + 1) | 0);
        Atomics.add(h, W_DROPPED, 1);
      }
    } else {
      // Consumer phase: the slot holds the message of position `seq - 1`.
      const pos = (seq - 1) | 0;
      if (((Atomics.load(h, W_DEQ) - pos) | 0) > 0) {
        // The owner had taken the position and died before releasing the
        // slot: that message is gone; free the slot for the next round.
        Atomics.store(slots, b + S_SEQ, (pos + this.capacity) | 0);
        Atomics.add(h, W_DROPPED, 1);
      }
    }
    Atomics.add(h, W_REPAIRS, 1);
    Atomics.store(slots, b + S_OWNER, 0);
    reportRecovery({ structure: 'MpmcQueue', what: `repaired slot ${index}`, deadPid: dead });
    this.#notEmpty.notify();
    this.#notFull.notify();
  }
}

function strideFor(slotSize: number): number {
  return SLOT_HEADER + alignUp(slotSize, 8);
}

function checkGeometry(capacity: number, slotSize: number): void {
  if (!isPowerOfTwo(capacity) || capacity < 2 || capacity > MAX_SLOTS) {
    throw new ShmStateError('ERR_OUT_OF_RANGE', `MpmcQueue capacity must be a power of two between 2 and ${MAX_SLOTS} slots, got ${capacity}`);
  }
  if (!Number.isSafeInteger(slotSize) || slotSize < 1 || slotSize > 1 << 26) {
    throw new ShmStateError('ERR_OUT_OF_RANGE', `MpmcQueue slotSize must be between 1 and ${1 << 26} bytes, got ${slotSize}`);
  }
}
